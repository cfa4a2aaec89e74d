// Rung 5c against an in-memory Workloads port: no Batch call before Kueue's admission, one after it, the
// Workload inactive while held, Finished at the end and gone with the resource.
import { beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { BatchProfile } from '../../../src/api/batchProfile.js';
import type { Drmaa2Job } from '../../../src/api/drmaa2job.js';
import { profilesFrom } from '../../../src/controller/profiles.js';
import { createReconciler } from '../../../src/controller/reconcile.js';
import type { Reconcile } from '../../../src/controller/reconcileContract.js';
import type { Job } from '../../../src/api/batch.js';
import type { Buckets } from '../../../src/ports/buckets.js';
import type { ProfileSource } from '../../../src/ports/profileSource.js';
import type { Workloads, WorkloadState } from '../../../src/ports/workloads.js';
import { KUEUE_QUEUE_LABEL, workloadName, type WorkloadObject } from '../../../src/translate/workload.js';
import { FakeBatchJobs } from '../../support/fakes/fakeBatchJobs.js';
import { FakeClock } from '../../support/fakes/fakeClock.js';
import { FakeKubeStore, RecordingEvents } from '../../support/fakes/fakeKube.js';

class FakeWorkloads implements Workloads {
  readonly objects = new Map<string, { object: WorkloadObject; state: WorkloadState }>();
  readonly calls: string[] = [];

  async get(namespace: string, name: string) {
    return this.objects.get(`${namespace}/${name}`)?.state;
  }
  async create(workload: WorkloadObject) {
    this.calls.push(`create ${workload.metadata.name}`);
    const state: WorkloadState = {
      name: workload.metadata.name,
      queueName: workload.spec.queueName,
      active: workload.spec.active,
      admitted: false,
      finished: false,
      pendingMessage: "couldn't assign flavors to pod set tasks: insufficient unused quota for cpu",
      flavors: {},
      ownerUid: workload.metadata.ownerReferences[0]!.uid,
    };
    this.objects.set(`${workload.metadata.namespace}/${workload.metadata.name}`, { object: workload, state });
    return state;
  }
  async setActive(namespace: string, name: string, active: boolean) {
    this.calls.push(`setActive ${active}`);
    this.objects.get(`${namespace}/${name}`)!.state.active = active;
  }
  async finish(namespace: string, name: string, succeeded: boolean) {
    this.calls.push(`finish ${succeeded}`);
    this.objects.get(`${namespace}/${name}`)!.state.finished = true;
  }
  async requeue(namespace: string, name: string) {
    this.calls.push('requeue');
    const state = this.objects.get(`${namespace}/${name}`)!.state;
    state.admitted = false;
    delete state.evicted;
  }
  async flavorNodeLabels() {
    return {};
  }
  async priorityClassValue() {
    return undefined;
  }
  async delete(namespace: string, name: string) {
    this.calls.push('delete');
    this.objects.delete(`${namespace}/${name}`);
  }
  admit(namespace: string, name: string) {
    const state = this.objects.get(`${namespace}/${name}`)!.state;
    state.admitted = true;
    delete state.pendingMessage;
  }
}

const KEY = 'team/queued';
const buckets: Buckets = { bucketExists: async () => true, ensureBucket: async () => 'exists' };

function resource(spec: Partial<Drmaa2Job['spec']> = {}): Drmaa2Job {
  return {
    apiVersion: 'drmaa2.io/v1alpha1',
    kind: 'Drmaa2Job',
    metadata: {
      name: 'queued',
      namespace: 'team',
      uid: 'uid-q',
      generation: 1,
      labels: { [KUEUE_QUEUE_LABEL]: 'lq' },
    },
    spec: {
      jobTemplate: { remoteCommand: 'echo', jobCategory: '$script$', candidateMachines: ['e2-standard-2'] },
      ...spec,
    },
  };
}

let store: FakeKubeStore;
let batch: FakeBatchJobs;
let workloads: FakeWorkloads;
let reconcile: Reconcile;

beforeEach(() => {
  store = new FakeKubeStore();
  const clock = new FakeClock({ start: '2025-01-01T00:00:10Z' });
  batch = new FakeBatchJobs({ now: () => clock.now() });
  workloads = new FakeWorkloads();
  reconcile = createReconciler({
    store,
    batch,
    buckets,
    events: new RecordingEvents(),
    clock,
    config: { project: 'p', location: 'l', session: 's', pollIntervalMs: 1_000, requeueJitter: 0 },
    logger: pino({ level: 'silent' }),
    workloads,
  });
});

const status = () => store.current(KEY)?.status;
const wlName = workloadName(resource());

/** Kueue admits the waiting job, it runs, and Kueue evicts it; the pass cancels its Batch job, and once
 * that has ended the next records the attempt. Returns the first attempt's Batch job. */
async function admitRunEvict(): Promise<string> {
  workloads.admit('team', wlName);
  await reconcile(KEY);
  const first = status()!.batchJob!.name;
  batch.setState(first, 'RUNNING');
  await reconcile(KEY);
  workloads.objects.get(`team/${wlName}`)!.state.evicted = { reason: 'Preempted', message: 'preempted' };
  await reconcile(KEY);
  batch.settle();
  await reconcile(KEY);
  return first;
}

describe("Kueue's admission before Batch", () => {
  it('no Batch call until the Workload is admitted; then one create', async () => {
    store.put(resource());
    const first = await reconcile(KEY);
    expect(workloads.calls).toEqual([`create ${wlName}`]);
    expect(batch.callsOf('createJob')).toHaveLength(0);
    expect(status()).toMatchObject({ state: 'Queued', subState: 'PENDING_ADMISSION' });
    expect(status()?.conditions?.find((c) => c.type === 'Submitted')).toMatchObject({
      reason: 'PendingAdmission',
      message:
        "Waiting for Kueue to admit its Workload in LocalQueue lq: couldn't assign flavors to pod set tasks: insufficient unused quota for cpu",
    });
    expect(first.requeueAfterMs).toBe(1_000);
    await reconcile(KEY);
    expect(batch.callsOf('createJob')).toHaveLength(0);
    expect(workloads.calls).toEqual([`create ${wlName}`]);
    workloads.admit('team', wlName);
    await reconcile(KEY);
    expect(batch.callsOf('createJob')).toHaveLength(1);
    expect(status()?.batchJob?.name).toBeDefined();
  });

  it('the end finishes the Workload once; deletion deletes it after the Batch job', async () => {
    store.put(resource());
    await reconcile(KEY);
    workloads.admit('team', wlName);
    await reconcile(KEY);
    batch.setState(status()!.batchJob!.name, 'SUCCEEDED');
    await reconcile(KEY);
    expect(status()?.state).toBe('Done');
    await reconcile(KEY);
    expect(workloads.calls.filter((c) => c.startsWith('finish'))).toEqual(['finish true']);
    store.markDeleted(KEY);
    for (let i = 0; i < 5 && store.current(KEY); i++) {
      await reconcile(KEY);
      batch.settle();
    }
    expect(store.current(KEY)).toBeUndefined();
    expect(workloads.calls.at(-1)).toBe('delete');
  });

  it('held: the Workload is inactive, and active again on release', async () => {
    store.put(resource());
    await reconcile(KEY);
    store.put({ ...resource({ hold: true }), metadata: { ...resource().metadata, generation: 2 } });
    await reconcile(KEY);
    expect(workloads.calls).toEqual([`create ${wlName}`, 'setActive false']);
    expect(status()).toMatchObject({ state: 'QueuedHeld', subState: 'HELD' });
    store.put({ ...resource({ hold: false }), metadata: { ...resource().metadata, generation: 3 } });
    await reconcile(KEY);
    expect(workloads.calls.at(-1)).toBe('setActive true');
    expect(batch.callsOf('createJob')).toHaveLength(0);
  });

  it('evicted: the Batch job is cancelled, the attempt recorded, and the next admission submits a new job', async () => {
    store.put(resource());
    await reconcile(KEY);
    workloads.admit('team', wlName);
    await reconcile(KEY);
    const first = status()!.batchJob!.name;
    batch.setState(first, 'RUNNING');
    await reconcile(KEY);
    expect(status()?.state).toBe('Running');
    workloads.objects.get(`team/${wlName}`)!.state.evicted = {
      reason: 'Preempted',
      message: 'Preempted to accommodate a workload of higher priority',
    };
    await reconcile(KEY);
    expect(JSON.stringify(batch.callsOf('cancelJob').map((c) => c.arg))).toContain(first);
    expect(batch.callsOf('cancelJob')).toHaveLength(1);
    expect(batch.callsOf('createJob')).toHaveLength(1);
    batch.settle();
    await reconcile(KEY);
    expect(status()).toMatchObject({ state: 'Requeued', subState: 'PENDING_ADMISSION', attempt: 1 });
    expect(status()?.batchJob).toBeUndefined();
    expect(status()?.attempts).toEqual([
      expect.objectContaining({ attempt: 0, batchJob: first, reason: 'Preempted' }),
    ]);
    expect(workloads.calls.at(-1)).toBe('requeue');
    // Not admitted again yet: nothing is created.
    await reconcile(KEY);
    expect(batch.callsOf('createJob')).toHaveLength(1);
    expect(status()?.state).toBe('Requeued');
    workloads.admit('team', wlName);
    await reconcile(KEY);
    const creates = batch.callsOf('createJob');
    expect(creates).toHaveLength(2);
    const second = status()!.batchJob!.name;
    expect(second).not.toBe(first);
    expect(second).toMatch(/-r1$/);
    // The record stays while the new attempt runs and ends.
    batch.setState(second, 'SUCCEEDED');
    await reconcile(KEY);
    expect(status()).toMatchObject({ state: 'Done', attempt: 1 });
    expect(status()?.attempts).toHaveLength(1);
  });

  it('with a watch of the Workloads: a waiting job is looked at again only after the resync, a running one as the poll follows it', async () => {
    const watched = new FakeWorkloads();
    Object.assign(watched, { watched: true });
    const clock = new FakeClock({ start: '2025-01-01T00:00:10Z' });
    const followedBatch = new FakeBatchJobs({ now: () => clock.now() });
    const known = new Map<string, Job>();
    const watching = createReconciler({
      store,
      batch: followedBatch,
      buckets,
      events: new RecordingEvents(),
      clock,
      config: {
        project: 'p',
        location: 'l',
        session: 's',
        pollIntervalMs: 1_000,
        resyncIntervalMs: 60_000,
        requeueJitter: 0,
      },
      logger: pino({ level: 'silent' }),
      workloads: watched,
      jobCache: {
        get: (name) => known.get(name),
        remember: (job) => void known.set(job.name!, job),
        follows: () => true,
      },
    });
    store.put(resource());
    expect((await watching(KEY)).requeueAfterMs).toBe(60_000);
    expect(status()?.subState).toBe('PENDING_ADMISSION');
    watched.admit('team', wlName);
    await watching(KEY);
    const name = status()!.batchJob!.name;
    followedBatch.setState(name, 'RUNNING');
    // Followed by the session poll, and an eviction comes by the watch: the resync, not every poll interval.
    expect((await watching(KEY)).requeueAfterMs).toBe(60_000);
    // Without the watch (the reconciler of beforeEach), the same running job is looked at every poll interval.
    store.put(resource());
    await reconcile(KEY);
    workloads.admit('team', wlName);
    await reconcile(KEY);
    batch.setState(status()!.batchJob!.name, 'RUNNING');
    expect((await reconcile(KEY)).requeueAfterMs).toBe(1_000);
  });

  it('the TTL deletes every attempt’s Batch job, the cancelled earlier ones with the last', async () => {
    store.put(resource({ ttlSecondsAfterFinished: 0 }));
    await reconcile(KEY);
    const first = await admitRunEvict();
    expect(status()?.state).toBe('Requeued');
    workloads.admit('team', wlName);
    await reconcile(KEY);
    const second = status()!.batchJob!.name;
    expect(batch.callsOf('deleteJob')).toHaveLength(0);
    batch.setState(second, 'SUCCEEDED');
    await reconcile(KEY);
    expect(status()).toMatchObject({ state: 'Done', batchJob: { name: second, deleted: true } });
    const deleted = batch.callsOf('deleteJob').map((c) => JSON.stringify(c.arg));
    expect(deleted.filter((arg) => arg.includes(`"${first}"`))).toHaveLength(1);
    expect(deleted.filter((arg) => arg.includes(`"${second}"`))).toHaveLength(1);
    expect(batch.callsOf('deleteJob')).toHaveLength(2);
  });

  it('a profile with kueue.required: a job without the label waits for it, with or without --kueue, and goes to its LocalQueue once labelled', async () => {
    const required: BatchProfile = {
      apiVersion: 'drmaa2.io/v1alpha1',
      kind: 'BatchProfile',
      metadata: { name: 'queued-only', generation: 1 },
      spec: {
        project: 'tenant-project',
        location: 'europe-west4',
        namespaceSelector: {},
        default: true,
        securityLevel: 'baseline',
        kueue: { required: true },
      },
    };
    const source: ProfileSource = {
      start: async () => undefined,
      stop: () => undefined,
      hasSynced: () => true,
      profiles: () => [required],
      namespaceLabels: () => ({}),
      onChange: () => undefined,
      patchStatus: async () => undefined,
    };
    const under = (withKueue: boolean) =>
      createReconciler({
        store,
        batch,
        buckets,
        events: new RecordingEvents(),
        clock: new FakeClock({ start: '2025-01-01T00:00:10Z' }),
        config: { project: 'p', location: 'l', session: 's', pollIntervalMs: 1_000, requeueJitter: 0 },
        logger: pino({ level: 'silent' }),
        profiles: profilesFrom(source, { requireProfile: false }),
        ...(withKueue ? { workloads } : {}),
      });
    const unlabelled = resource();
    unlabelled.metadata.labels = {};
    store.put(unlabelled);
    // Without --kueue even a labelled job could not be queued: it waits for the controller to be.
    expect(await under(false)(KEY)).toEqual({});
    expect(status()?.conditions?.find((c) => c.type === 'Submitted')).toMatchObject({
      reason: 'QueueRequired',
      message: expect.stringContaining('does not run with --kueue'),
    });
    const withKueue = under(true);
    expect(await withKueue(KEY)).toEqual({});
    expect(status()).toMatchObject({ state: 'Queued', subState: 'PENDING_SUBMISSION' });
    expect(status()?.conditions?.find((c) => c.type === 'Submitted')).toMatchObject({
      reason: 'QueueRequired',
      message:
        'BatchProfile queued-only sends every job through Kueue: label it kueue.x-k8s.io/queue-name: <LocalQueue> to be queued.',
    });
    expect(batch.callsOf('createJob')).toHaveLength(0);
    expect(workloads.calls).toEqual([]);
    // Labelled (a metadata change, no new generation), it waits in its LocalQueue instead.
    const labelled = store.current(KEY)!;
    store.put({ ...labelled, metadata: { ...labelled.metadata, labels: { [KUEUE_QUEUE_LABEL]: 'lq' } } });
    await withKueue(KEY);
    expect(workloads.calls).toEqual([`create ${wlName}`]);
    expect(status()?.subState).toBe('PENDING_ADMISSION');
    expect(batch.callsOf('createJob')).toHaveLength(0);
  });

  it('a label taken off after the Workload was made changes nothing: the Workload still decides, and is Finished at the end', async () => {
    const unlabel = () => {
      const current = store.current(KEY)!;
      store.put({ ...current, metadata: { ...current.metadata, labels: {} } });
    };
    store.put(resource());
    await reconcile(KEY);
    // Off while it waits: it goes on waiting in the Workload's LocalQueue instead of going to Batch.
    unlabel();
    await reconcile(KEY);
    expect(batch.callsOf('createJob')).toHaveLength(0);
    expect(status()?.subState).toBe('PENDING_ADMISSION');
    // Evicted without the label: cancelled and requeued, and not submitted again until admitted again.
    await admitRunEvict();
    expect(status()).toMatchObject({ state: 'Requeued', subState: 'PENDING_ADMISSION' });
    expect(status()?.conditions?.find((c) => c.type === 'Submitted')?.message).toContain('LocalQueue lq');
    await reconcile(KEY);
    expect(batch.callsOf('createJob')).toHaveLength(1);
    workloads.admit('team', wlName);
    await reconcile(KEY);
    const second = status()!.batchJob!.name;
    batch.setState(second, 'SUCCEEDED');
    await reconcile(KEY);
    expect(status()?.state).toBe('Done');
    // Its quota goes back to Kueue, and the Workload goes with the resource.
    expect(workloads.objects.get(`team/${wlName}`)?.state.finished).toBe(true);
    store.markDeleted(KEY);
    for (let i = 0; i < 5 && store.current(KEY); i++) {
      await reconcile(KEY);
      batch.settle();
    }
    expect(store.current(KEY)).toBeUndefined();
    expect(workloads.objects.has(`team/${wlName}`)).toBe(false);
  });

  it('a job without the label never touches Workloads', async () => {
    const plain = resource();
    plain.metadata.labels = {};
    store.put(plain);
    await reconcile(KEY);
    expect(workloads.calls).toEqual([]);
    expect(batch.callsOf('createJob')).toHaveLength(1);
  });
});
