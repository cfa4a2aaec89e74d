// The owner guard, against in-memory fakes of the ports: two tenants share one Batch project, and no
// spec, status or memory of one can make the controller read, cancel or delete the other's Batch job.
import { beforeEach, describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { FINALIZER, type Drmaa2Job } from '../../../src/api/drmaa2job.js';
import { createReconciler } from '../../../src/controller/reconcile.js';
import type { Reconcile } from '../../../src/controller/reconcileContract.js';
import { MAX_ARRAY_ELEMENT_JOBS, elidedTemplate } from '../../../src/translate/limits.js';
import { FakeBatchJobs } from '../../support/fakes/fakeBatchJobs.js';
import { FakeClock } from '../../support/fakes/fakeClock.js';
import { FakeKubeStore, RecordingEvents } from '../../support/fakes/fakeKube.js';

const CONFIG = { project: 'p', location: 'l', session: 'test', pollIntervalMs: 10_000, requeueJitter: 0 };
const SECRET = 'team-b-secret-value';

function resource(namespace: string, uid: string, template: Record<string, unknown> = {}): Drmaa2Job {
  return {
    apiVersion: 'drmaa2.io/v1alpha1',
    kind: 'Drmaa2Job',
    metadata: { name: 'job', namespace, uid, generation: 1, creationTimestamp: '2025-01-01T00:00:00Z' },
    spec: {
      jobTemplate: {
        remoteCommand: 'echo hi',
        jobCategory: '$script$',
        candidateMachines: ['e2-standard-2'],
        ...template,
      },
    },
  };
}

let store: FakeKubeStore;
let batch: FakeBatchJobs;
let events: RecordingEvents;
let reconcile: Reconcile;

beforeEach(() => {
  store = new FakeKubeStore();
  const clock = new FakeClock({ start: '2025-01-01T00:00:10Z' });
  batch = new FakeBatchJobs({ now: () => clock.now() });
  events = new RecordingEvents();
  reconcile = createReconciler({
    store,
    batch,
    buckets: { ensureBucket: async () => 'exists', bucketExists: async () => true },
    events,
    clock,
    config: CONFIG,
    logger: pino({ level: 'silent' }),
  });
});

/** team-b's running Batch job, submitted through the controller; returns its full name. */
async function teamB(template: Record<string, unknown> = {}): Promise<string> {
  store.put(resource('team-b', 'uid-b', { jobEnvironment: { TOKEN: SECRET }, ...template }));
  await reconcile('team-b/job');
  const name = store.current('team-b/job')?.status?.batchJob?.name;
  assert.ok(name, 'team-b submitted');
  batch.setState(name, 'RUNNING');
  return name;
}

const idOf = (name: string) => name.split('/').at(-1)!;
const status = (key: string) => store.current(key)?.status;
const mutations = (name: string) =>
  [...batch.callsOf('cancelJob'), ...batch.callsOf('deleteJob')].filter((c) =>
    JSON.stringify(c.arg).includes(name),
  );

async function deleteAndDrain(key: string): Promise<void> {
  store.markDeleted(key);
  for (let i = 0; i < 10 && store.current(key); i++) {
    await reconcile(key);
    batch.settle();
  }
  assert.equal(store.current(key), undefined, `${key} went`);
}

describe("owner guard: one namespace cannot reach another namespace's Batch job", () => {
  it("a held resource whose jobName is another team's Batch job ID, deleted, leaves that job alone", async () => {
    const b = await teamB();
    store.put({
      ...resource('team-a', 'uid-a', { jobName: idOf(b) }),
      spec: { ...resource('team-a', 'uid-a', { jobName: idOf(b) }).spec, hold: true },
    });
    await reconcile('team-a/job');
    assert.equal(status('team-a/job')?.state, 'QueuedHeld');
    await deleteAndDrain('team-a/job');
    assert.deepEqual(mutations(b), [], 'team-b job neither cancelled nor deleted');
    assert.equal(batch.job(b)?.status?.state, 'RUNNING');
  });

  it('two teams that pick the same jobName get one Batch job each; deleting one leaves the other', async () => {
    const b = await teamB({ jobName: 'nightly' });
    store.put(resource('team-a', 'uid-a', { jobName: 'nightly' }));
    await reconcile('team-a/job');
    const a = status('team-a/job')?.batchJob?.name;
    assert.ok(a, 'team-a submitted, no JobNameConflict');
    assert.notEqual(a, b);
    assert.equal(status('team-a/job')?.jobInfo?.extension?.extensionList?.job_name, 'nightly');
    await deleteAndDrain('team-a/job');
    assert.equal(batch.has(a), false, 'team-a job deleted');
    assert.deepEqual(mutations(b), []);
    assert.equal(batch.job(b)?.status?.state, 'RUNNING');
  });

  it("a forged status.batchJob: terminate cancels the resource's own job, never the named one; one Warning", async () => {
    const b = await teamB();
    store.put(resource('team-a', 'uid-a'));
    await reconcile('team-a/job');
    const own = status('team-a/job')!.batchJob!.name;
    batch.setState(own, 'RUNNING');
    const forged = store.current('team-a/job')!;
    forged.status = { ...forged.status, batchJob: { name: b } };
    forged.spec.terminate = true;
    forged.metadata.generation = 2;
    store.put(forged);
    for (let i = 0; i < 3; i++) {
      await reconcile('team-a/job');
      batch.settle();
    }
    assert.deepEqual(mutations(b), [], 'team-b job not cancelled');
    assert.equal(mutations(own).length, 1, 'its own job cancelled');
    const after = status('team-a/job')!;
    assert.equal(after.state, 'Failed');
    assert.equal(after.conditions?.find((c) => c.type === 'Failed')?.reason, 'Terminated');
    assert.equal(after.batchJob?.name, own, 'the record names its own job again');
    assert.doesNotMatch(JSON.stringify(after), new RegExp(SECRET), 'nothing of team-b in team-a status');
    assert.doesNotMatch(JSON.stringify(after), /uid-b/);
    assert.equal(events.events.filter((e) => e.reason === 'BatchJobNotOwned').length, 1);
  });

  it('a forged status and no own job to follow: Failed/BatchJobNotOwned, nothing of the other copied', async () => {
    const b = await teamB();
    store.put(resource('team-a', 'uid-a'));
    await reconcile('team-a/job');
    batch.remove(status('team-a/job')!.batchJob!.name);
    const forged = store.current('team-a/job')!;
    forged.status = { ...forged.status, batchJob: { name: b } };
    store.put(forged);
    for (let i = 0; i < 3; i++) await reconcile('team-a/job');
    const after = status('team-a/job')!;
    assert.equal(after.subState, 'BATCH_JOB_NOT_OWNED');
    assert.equal(after.conditions?.find((c) => c.type === 'Failed')?.reason, 'BatchJobNotOwned');
    assert.equal(after.batchJob, undefined, 'the forged name is dropped from the record');
    assert.doesNotMatch(JSON.stringify(after), new RegExp(SECRET));
    assert.deepEqual(mutations(b), []);
    assert.equal(events.events.filter((e) => e.reason === 'BatchJobNotOwned').length, 1);
  });

  it("a forged status on a finished job with a TTL deletes its own job, not the other team's", async () => {
    const b = await teamB();
    store.put(resource('team-a', 'uid-a'));
    await reconcile('team-a/job');
    const own = status('team-a/job')!.batchJob!.name;
    batch.setState(own, 'SUCCEEDED');
    await reconcile('team-a/job');
    assert.equal(status('team-a/job')?.state, 'Done');
    const forged = store.current('team-a/job')!;
    forged.status = { ...forged.status, batchJob: { name: b } };
    forged.spec.ttlSecondsAfterFinished = 0;
    forged.metadata.generation = 2;
    store.put(forged);
    for (let i = 0; i < 3; i++) await reconcile('team-a/job');
    assert.deepEqual(mutations(b), [], 'team-b job not deleted by the TTL');
    assert.equal(mutations(own).length, 1, 'its own job deleted by the TTL');
    assert.deepEqual(status('team-a/job')?.batchJob, { name: own, deleted: true });
    assert.equal(events.events.filter((e) => e.reason === 'BatchJobNotOwned').length, 1);
  });

  it('a forged status on a resource being deleted: the foreign job stays, the resource goes, a Warning says so', async () => {
    const b = await teamB();
    store.put(resource('team-a', 'uid-a'));
    await reconcile('team-a/job');
    const forged = store.current('team-a/job')!;
    forged.status = { ...forged.status, batchJob: { name: b } };
    store.put(forged);
    await deleteAndDrain('team-a/job');
    assert.deepEqual(mutations(b), []);
    assert.equal(batch.job(b)?.status?.state, 'RUNNING');
    assert.equal(events.events.filter((e) => e.reason === 'BatchJobNotOwned').length, 1);
  });

  it('a forged array status naming many jobs costs no more reads than the spec allows', async () => {
    await teamB();
    store.put(resource('team-a', 'uid-a'));
    await reconcile('team-a/job');
    const forged = store.current('team-a/job')!;
    const labels = batch.job(status('team-a/job')!.batchJob!.name)!.labels!;
    const names = Array.from({ length: 50 }, (_, i) => ({ name: `projects/p/locations/l/jobs/x${i}` }));
    for (const { name } of names) batch.put({ name, labels, status: { state: 'RUNNING' } });
    forged.status = { ...forged.status, array: { jobs: names } };
    store.put(forged);
    const before = batch.callsOf('getJob').length;
    await reconcile('team-a/job');
    assert.ok(batch.callsOf('getJob').length - before <= 1, 'one job for a non-array spec');
  });
});

describe('bounded work per object', () => {
  it('a per-element array beyond the element limit fails InvalidSpec at spec.array without a Batch call', async () => {
    const job = resource('team-a', 'uid-a', { maxSlots: 2, remoteCommand: 'x'.repeat(60_000) });
    job.spec.array = { begin: 1, end: MAX_ARRAY_ELEMENT_JOBS + 1 };
    store.put(job);
    await reconcile('team-a/job');
    assert.equal(status('team-a/job')?.subState, 'INVALID_SPEC');
    assert.match(status('team-a/job')!.conditions!.find((c) => c.type === 'Failed')!.message, /spec\.array/);
    assert.equal(batch.calls.length, 0);
  });

  it('deleting a per-element array looks for each element by name without building requests', async () => {
    const job = resource('team-a', 'uid-a', { maxSlots: 2 });
    job.spec.array = { begin: 1, end: 5 };
    job.metadata.finalizers = [FINALIZER];
    job.spec.hold = true;
    store.put(job);
    await reconcile('team-a/job');
    await deleteAndDrain('team-a/job');
    assert.equal(batch.callsOf('getJob').length, 5, 'one read per element the spec derives');
  });

  it('a cache without the large template text: the submitting pass reads the whole resource, later passes do not', async () => {
    store.elide = (job) => {
      const template = elidedTemplate(job.spec.jobTemplate);
      return template ? { ...job, spec: { ...job.spec, jobTemplate: template }, templateElided: true } : job;
    };
    const script = `echo ${'x'.repeat(10_000)}`;
    const job = resource('team-a', 'uid-a', { remoteCommand: script });
    job.metadata.finalizers = [FINALIZER]; // put on at admission, so the first pass writes nothing before
    store.put(job);
    await reconcile('team-a/job');
    const name = status('team-a/job')?.batchJob?.name;
    assert.ok(name, 'submitted');
    const sent = batch.callsOf('createJob')[0]!.arg as { job: { taskGroups: { taskSpec: unknown }[] } };
    assert.ok(JSON.stringify(sent.job.taskGroups[0]!.taskSpec).includes(script), 'the whole script was sent');
    assert.equal(store.wholeReads, 1);
    batch.setState(name, 'RUNNING');
    await reconcile('team-a/job');
    assert.equal(status('team-a/job')?.state, 'Running');
    assert.equal(store.wholeReads, 1, 'observing needs no whole read');
    await deleteAndDrain('team-a/job');
    assert.equal(store.wholeReads, 1, 'deleting needs no whole read');
  });
});
