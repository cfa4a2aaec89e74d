// The reconcile ladder against in-memory fakes of the ports: every rung, and the promises that matter
// (one Batch job per resource whatever crashes, no Batch call for an invalid spec, no hot loop, one status
// patch per transition and none without a change).
import { beforeEach, describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { Job } from '../../../src/api/batch.js';
import {
  FINALIZER,
  LABEL_NAME,
  LABEL_NAMESPACE,
  LABEL_SESSION,
  LABEL_UID,
} from '../../../src/api/drmaa2job.js';
import type { Drmaa2Job } from '../../../src/api/drmaa2job.js';
import type { JobCache } from '../../../src/controller/poller.js';
import { createReconciler, type ReconcilerDeps } from '../../../src/controller/reconcile.js';
import { TerminalError, type Reconcile } from '../../../src/controller/reconcileContract.js';
import type { Buckets } from '../../../src/ports/buckets.js';
import { BatchError, KubeError } from '../../../src/ports/errors.js';
import { translateSpec } from '../../../src/translate/index.js';
import { SILENT_SCHEDULED_MS, type SyncProblem } from '../../../src/translate/status.js';
import { FakeBatchJobs, batchError } from '../../support/fakes/fakeBatchJobs.js';
import { FakeClock } from '../../support/fakes/fakeClock.js';
import { FakeKubeStore, RecordingEvents } from '../../support/fakes/fakeKube.js';

const KEY = 'team/hello';
const POLL_MS = 10_000;
const UID = '0d3c7a52-9a3e-4c1b-8d7e-5b1f3f2a9c10';
const CONFIG = { project: 'p', location: 'l', session: 'test', pollIntervalMs: POLL_MS };

function resource(spec: Partial<Drmaa2Job['spec']> = {}, template: Record<string, unknown> = {}): Drmaa2Job {
  return {
    apiVersion: 'drmaa2.io/v1alpha1',
    kind: 'Drmaa2Job',
    metadata: {
      name: 'hello',
      namespace: 'team',
      uid: UID,
      generation: 1,
      creationTimestamp: '2025-01-01T00:00:00Z',
    },
    spec: {
      jobTemplate: {
        remoteCommand: '/bin/echo',
        args: ['hello'],
        jobCategory: '$script$',
        candidateMachines: ['e2-standard-2'],
        ...template,
      },
      ...spec,
    },
  };
}

/** The Batch job names the spec derives, as the controller will create them. */
function expectedJobs(job: Drmaa2Job): string[] {
  const result = translateSpec(job.spec, {
    ...CONFIG,
    owner: { namespace: job.metadata.namespace, name: job.metadata.name, uid: job.metadata.uid },
  });
  assert.ok(result.ok, 'the test spec translates');
  return result.submission.requests.map((r) => `${r.parent}/jobs/${r.jobId}`);
}

let store: FakeKubeStore;
let batch: FakeBatchJobs;
let events: RecordingEvents;
let clock: FakeClock;
let ensured: string[];
let timeline: string[];
let bucketFailure: BatchError | undefined;
let reconcile: Reconcile;

const buckets: Buckets = {
  async bucketExists() {
    return true;
  },
  async ensureBucket(name) {
    timeline.push(`ensureBucket ${name}`);
    if (bucketFailure) throw bucketFailure;
    ensured.push(name);
    return 'created';
  },
};

function build(jobCache?: JobCache, more: Partial<ReconcilerDeps> = {}): Reconcile {
  return createReconciler({
    store,
    batch,
    buckets,
    events,
    clock,
    config: { ...CONFIG, requeueJitter: 0 },
    logger: pino({ level: 'silent' }),
    ...(jobCache ? { jobCache } : {}),
    ...more,
  });
}

beforeEach(() => {
  store = new FakeKubeStore();
  clock = new FakeClock({ start: '2025-01-01T00:00:10Z' });
  batch = new FakeBatchJobs({ now: () => clock.now() });
  events = new RecordingEvents();
  ensured = [];
  timeline = [];
  bucketFailure = undefined;
  const setFinalizers = store.setFinalizers.bind(store);
  store.setFinalizers = async (job, finalizers) => {
    timeline.push(`setFinalizers ${finalizers.join(',')}`);
    return setFinalizers(job, finalizers);
  };
  const createJob = batch.createJob.bind(batch);
  batch.createJob = async (request) => {
    timeline.push(`createJob ${request.jobId}`);
    return createJob(request);
  };
  reconcile = build();
});

const status = () => store.current(KEY)?.status;
const condition = (type: string) => status()?.conditions?.find((c) => c.type === type);
const summary = (type: string) => `${condition(type)?.status}/${condition(type)?.reason}`;

async function submitted(job = resource()): Promise<string> {
  store.put(job);
  await reconcile(KEY);
  const name = status()?.batchJob?.name;
  assert.ok(name, 'submitted');
  return name;
}

/** Runs `passes` reconciles and returns how many Batch calls and status patches they made. */
async function quietPasses(passes = 5): Promise<{ calls: number; patches: number }> {
  const calls = batch.calls.length;
  const patches = store.statusPatches;
  for (let i = 0; i < passes; i++) await reconcile(KEY);
  return { calls: batch.calls.length - calls, patches: store.statusPatches - patches };
}

describe('1) gone', () => {
  it('a resource that is gone needs nothing', async () => {
    assert.deepEqual(await reconcile('team/nothing'), {});
    assert.equal(batch.calls.length, 0);
  });

  it('a malformed key is a terminal error', async () => {
    await assert.rejects(reconcile('no-namespace'), TerminalError);
  });
});

describe('3) finalizer and 7) create', () => {
  it('puts the finalizer on before any Batch call, then creates one labelled Batch job', async () => {
    const name = await submitted();
    assert.deepEqual(store.current(KEY)?.metadata.finalizers, [FINALIZER]);
    assert.match(timeline[0]!, /^setFinalizers/);
    assert.match(timeline[1]!, /^createJob/);
    assert.deepEqual([name], expectedJobs(resource()));
    const labels = batch.job(name)?.labels ?? {};
    assert.equal(labels[LABEL_UID], UID);
    assert.equal(labels[LABEL_NAMESPACE], 'team');
    assert.equal(labels[LABEL_NAME], 'hello');
    assert.equal(labels[LABEL_SESSION], 'test');
    const request = batch.callsOf('createJob')[0]!.arg as { requestId?: string };
    assert.ok(request.requestId, 'the create carries a request ID');
    assert.equal(status()?.state, 'Queued');
    assert.equal(status()?.subState, 'QUEUED');
    assert.equal(status()?.observedGeneration, 1);
    assert.equal(summary('Submitted'), 'True/BatchJobCreated');
    assert.equal(summary('Synced'), 'True/Reconciled');
    assert.deepEqual(events.reasons(), ['Submitted']);
  });

  it('keeps a finalizer someone else put on', async () => {
    store.put({ ...resource(), metadata: { ...resource().metadata, finalizers: ['example.com/other'] } });
    await reconcile(KEY);
    assert.deepEqual(store.current(KEY)?.metadata.finalizers, ['example.com/other', FINALIZER]);
  });

  it('a crash between create and status write adopts the job instead of creating a second one', async () => {
    store.put(resource());
    const patchStatus = store.patchStatus.bind(store);
    let crash = true;
    store.patchStatus = async (job, s) => {
      if (crash) {
        crash = false;
        throw new KubeError('Transient', 'connection reset');
      }
      return patchStatus(job, s);
    };
    await assert.rejects(reconcile(KEY));
    assert.equal(batch.names().length, 1);
    assert.equal(status()?.batchJob, undefined, 'the status write was lost');
    reconcile = build(); // the process restarted: nothing in memory
    await reconcile(KEY);
    assert.equal(batch.names().length, 1, 'still one Batch job');
    assert.equal(batch.callsOf('createJob').length, 2);
    assert.equal(status()?.batchJob?.name, batch.names()[0]);
    assert.equal(summary('Submitted'), 'True/BatchJobCreated');
    const requests = batch.callsOf('createJob').map((c) => c.arg as { jobId: string; requestId?: string });
    assert.equal(requests[0]!.jobId, requests[1]!.jobId, 'deterministic job ID');
    assert.equal(requests[0]!.requestId, requests[1]!.requestId, 'deterministic request ID');
  });

  it('a pass that reads a stale cached copy observes the job it just created instead of creating again', async () => {
    store.put(resource());
    const stale = store.current(KEY)!;
    await reconcile(KEY);
    const name = status()!.batchJob!.name;
    const get = store.get.bind(store);
    // A version this process did not write from (another writer's, in between): only the expectations
    // of what it created stand between this pass and a second create.
    store.get = async () =>
      structuredClone({
        ...stale,
        metadata: { ...stale.metadata, finalizers: [FINALIZER], resourceVersion: 'from-another-writer' },
      });
    await reconcile(KEY);
    store.get = get;
    assert.equal(batch.callsOf('createJob').length, 1, 'no second create');
    assert.equal(batch.callsOf('getJob').length, 1, 'the job was observed');
    assert.equal(status()?.batchJob?.name, name);
  });

  it('a cached copy older than its own last write is left alone until the watch catches up', async () => {
    store.put(resource());
    const stale = store.current(KEY)!;
    await reconcile(KEY);
    const calls = batch.calls.length;
    const patches = store.statusPatches;
    const get = store.get.bind(store);
    store.get = async () => structuredClone(stale);
    assert.deepEqual(await reconcile(KEY), { requeueAfterMs: 1000 });
    store.get = get;
    assert.equal(batch.calls.length, calls, 'no Batch call');
    assert.equal(store.statusPatches, patches, 'no write that could only conflict');
    assert.deepEqual(await reconcile(KEY), { requeueAfterMs: POLL_MS }, 'caught up: an ordinary pass');
    assert.equal(batch.callsOf('getJob').length, 1, 'which observes the job');
  });

  it('adopts a job that already ended and reports its end at once', async () => {
    const [name] = expectedJobs(resource());
    batch.put({
      name: name!,
      labels: { [LABEL_UID]: UID, [LABEL_NAMESPACE]: 'team' },
      status: { state: 'SUCCEEDED' },
    });
    store.put(resource());
    await reconcile(KEY);
    assert.equal(status()?.state, 'Done');
    assert.equal(batch.callsOf('listTasks').length, 1, 'tasks of the ended job were read');
  });

  it('a job ID taken by another resource ends in JobNameConflict, without retry', async () => {
    const job = resource({}, { jobName: 'taken' });
    const [name] = expectedJobs(job);
    batch.put({ name: name!, labels: { [LABEL_UID]: 'someone-else' }, status: { state: 'RUNNING' } });
    store.put(job);
    assert.deepEqual(await reconcile(KEY), {});
    assert.equal(status()?.state, 'Failed');
    assert.equal(summary('Failed'), 'True/JobNameConflict');
    assert.equal(summary('Finished'), 'True/Failed');
    assert.equal(status()?.batchJob, undefined, 'the other job is not ours');
    assert.deepEqual(await quietPasses(), { calls: 0, patches: 0 });
    assert.equal(batch.callsOf('cancelJob').length + batch.callsOf('deleteJob').length, 0);
    assert.deepEqual(events.reasons(), ['JobNameConflict']);
  });
});

describe('4) validation', () => {
  const invalid = () => resource({}, { extension: { extensionList: { accelerators: '0*x' } } });

  it('an invalid spec fails with the field path, calls no Batch API and does not loop', async () => {
    store.put(invalid());
    assert.deepEqual(await reconcile(KEY), {});
    assert.equal(status()?.state, 'Failed');
    assert.equal(status()?.subState, 'INVALID_SPEC');
    assert.equal(summary('Failed'), 'True/InvalidSpec');
    assert.match(condition('Failed')!.message, /spec\.jobTemplate\.extension\.extensionList\.accelerators/);
    assert.deepEqual(await quietPasses(), { calls: 0, patches: 0 });
    assert.equal(batch.calls.length, 0);
    assert.deepEqual(events.reasons(), ['InvalidSpec']);
  });

  it('a new generation is evaluated again', async () => {
    store.put(invalid());
    await reconcile(KEY);
    store.editSpec(KEY, (j) => (j.spec.jobTemplate.extension = undefined));
    await reconcile(KEY);
    assert.equal(batch.callsOf('createJob').length, 1);
    assert.equal(status()?.state, 'Queued');
    assert.equal(status()?.finishedAt, undefined, 'no longer ended');
  });
});

describe('5) hold and start time', () => {
  it('hold keeps the job QueuedHeld, without Batch calls, until released', async () => {
    store.put(resource({ hold: true }));
    assert.deepEqual(await reconcile(KEY), {});
    assert.equal(status()?.state, 'QueuedHeld');
    assert.equal(summary('Submitted'), 'False/Held');
    assert.deepEqual(await quietPasses(), { calls: 0, patches: 0 });
    store.editSpec(KEY, (j) => (j.spec.hold = false));
    await reconcile(KEY);
    assert.equal(batch.callsOf('createJob').length, 1);
    assert.equal(status()?.state, 'Queued');
    assert.deepEqual(events.reasons(), ['Held', 'Submitted']);
  });

  it('a hold set after submission is said to be ignored, once, and changes nothing in Batch', async () => {
    await submitted(resource());
    const calls = batch.calls.length;
    store.editSpec(KEY, (j) => (j.spec.hold = true));
    await reconcile(KEY);
    await reconcile(KEY);
    assert.equal(events.reasons().filter((r) => r === 'HoldIgnored').length, 1, 'one Event per generation');
    assert.equal(status()?.observedGeneration, 2);
    assert.equal(status()?.state, 'Queued', 'still submitted, not QueuedHeld');
    assert.deepEqual(
      batch.calls.slice(calls).filter((c) => c.method !== 'getJob' && c.method !== 'listTasks'),
      [],
      'no Batch mutation',
    );
  });

  it('waits for a future start time, then submits', async () => {
    store.put(resource({}, { startTime: '2025-01-01T00:01:10Z' }));
    assert.deepEqual(await reconcile(KEY), { requeueAfterMs: 60_000 });
    assert.equal(status()?.state, 'Queued');
    assert.equal(status()?.subState, 'PENDING_SUBMISSION');
    assert.equal(summary('Submitted'), 'False/WaitingForStartTime');
    assert.equal(batch.calls.length, 0);
    clock.advance(30_000);
    assert.deepEqual(await reconcile(KEY), { requeueAfterMs: 30_000 });
    clock.advance(30_000);
    await reconcile(KEY);
    assert.equal(batch.callsOf('createJob').length, 1);
  });

  it('a start time in the past submits at once', async () => {
    await submitted(resource({}, { startTime: '2024-12-31T00:00:00Z' }));
  });
});

describe('6) stage-out buckets', () => {
  it('are ensured before the Batch job is created', async () => {
    await submitted(resource({}, { stageOutFiles: { '/results': 'gs://out-bucket' } }));
    assert.deepEqual(ensured, ['out-bucket']);
    const bucketAt = timeline.findIndex((t) => t.startsWith('ensureBucket'));
    const createAt = timeline.findIndex((t) => t.startsWith('createJob'));
    assert.ok(bucketAt >= 0 && bucketAt < createAt);
  });

  it('a bucket failure creates nothing, says StorageError and retries', async () => {
    bucketFailure = batchError('PermissionDenied', 'storage.buckets.create denied');
    store.put(resource({}, { stageOutFiles: { '/results': 'gs://out-bucket' } }));
    await assert.rejects(reconcile(KEY));
    assert.equal(batch.callsOf('createJob').length, 0);
    assert.equal(summary('Synced'), 'False/StorageError');
    assert.match(condition('Synced')!.message, /out-bucket/);
    bucketFailure = undefined;
    await reconcile(KEY);
    assert.equal(batch.callsOf('createJob').length, 1);
    assert.equal(summary('Synced'), 'True/Reconciled');
  });
});

describe('9) observe', () => {
  it('follows the Batch job to Done: one patch per transition, none without change', async () => {
    const name = await submitted();
    batch.setState(name, 'RUNNING');
    assert.deepEqual(await reconcile(KEY), { requeueAfterMs: POLL_MS });
    assert.equal(status()?.state, 'Running');
    assert.equal(summary('Running'), 'True/TasksRunning');
    assert.deepEqual(await quietPasses(3), { calls: 3, patches: 0 });
    batch.setState(name, 'SUCCEEDED');
    const patches = store.statusPatches;
    assert.deepEqual(await reconcile(KEY), {});
    assert.equal(store.statusPatches, patches + 1);
    assert.equal(status()?.state, 'Done');
    assert.equal(summary('Complete'), 'True/Succeeded');
    assert.equal(summary('Finished'), 'True/Succeeded');
    assert.equal(status()?.finishedAt, '2025-01-01T00:00:10Z');
    assert.deepEqual(events.reasons(), ['Submitted', 'Running', 'Completed']);
    assert.deepEqual(await quietPasses(), { calls: 0, patches: 0 }, 'an ended job needs no Batch call');
  });

  it('while a backlog exists, Queued to Running waits; the end is written at once', async () => {
    let backlogged = true;
    reconcile = build(undefined, { backlogged: () => backlogged });
    const name = await submitted();
    assert.equal(status()?.state, 'Queued', 'the submission is written, backlog or not');
    batch.setState(name, 'RUNNING');
    const patches = store.statusPatches;
    assert.deepEqual(await reconcile(KEY), { requeueAfterMs: POLL_MS });
    assert.equal(store.statusPatches, patches, 'no write for the move between active states');
    assert.equal(status()?.state, 'Queued');
    backlogged = false;
    await reconcile(KEY);
    assert.equal(status()?.state, 'Running', 'written by the first pass after the backlog');
    backlogged = true;
    batch.setState(name, 'SUCCEEDED');
    await reconcile(KEY);
    assert.equal(status()?.state, 'Done', 'the end is written during a backlog too');
  });

  it('lists tasks only once the job ended', async () => {
    const name = await submitted();
    batch.setState(name, 'RUNNING');
    await reconcile(KEY);
    assert.equal(batch.callsOf('listTasks').length, 0);
    batch.setState(name, 'FAILED');
    await reconcile(KEY);
    assert.equal(batch.callsOf('listTasks').length, 1);
  });

  it('a failed job reports the failed task exit code', async () => {
    const name = await submitted();
    batch.update(name, (job) => {
      job.status!.state = 'FAILED';
      job.status!.statusEvents = [
        {
          type: 'STATUS_CHANGED',
          description: 'Job state is set from RUNNING to FAILED for job ... Task 0 failed with exit code 3.',
          taskState: 'FAILED',
          taskExecution: { exitCode: 3 },
        },
      ];
    });
    batch.setTasks(name, [
      {
        name: `${name}/taskGroups/group0/tasks/0`,
        status: {
          state: 'FAILED',
          statusEvents: [{ type: 'STATUS_CHANGED', taskState: 'FAILED', taskExecution: { exitCode: 3 } }],
        },
      },
    ]);
    await reconcile(KEY);
    assert.equal(status()?.state, 'Failed');
    assert.equal(status()?.jobInfo?.exitStatus, 3);
    assert.equal(summary('Failed'), 'True/TasksFailed');
    assert.equal(events.events.at(-1)?.type, 'Warning');
  });

  it('a Batch job that vanished before it ended is reported lost', async () => {
    const name = await submitted();
    batch.remove(name);
    await reconcile(KEY);
    assert.equal(status()?.state, 'Failed');
    assert.equal(summary('Failed'), 'True/BatchJobLost');
    assert.deepEqual(await quietPasses(), { calls: 0, patches: 0 });
  });

  it('uses the poller memory instead of GetJob, and tells it what it read itself', async () => {
    const cache = new Map<string, Job>();
    const remembered: string[] = [];
    const jobCache: JobCache = {
      get: (name) => cache.get(name),
      remember: (job) => remembered.push(`${job.name} ${job.status?.state}`),
    };
    reconcile = build(jobCache);
    const name = await submitted();
    assert.deepEqual(remembered, [`${name} QUEUED`], 'the created job');
    batch.setState(name, 'RUNNING');
    cache.set(name, batch.job(name)!);
    await reconcile(KEY);
    assert.equal(status()?.state, 'Running');
    assert.equal(batch.callsOf('getJob').length, 0);
    cache.delete(name);
    batch.setState(name, 'SUCCEEDED');
    await reconcile(KEY);
    assert.equal(batch.callsOf('getJob').length, 1, 'GetJob once the poller no longer lists it');
    assert.equal(status()?.state, 'Done');
  });

  it('a job the poll follows is looked at again after the resync interval, else after the poll interval', async () => {
    const RESYNC_MS = 300_000;
    let follows = true;
    const jobCache: JobCache = { get: () => undefined, remember: () => undefined, follows: () => follows };
    reconcile = build(jobCache, { config: { ...CONFIG, requeueJitter: 0, resyncIntervalMs: RESYNC_MS } });
    store.put(resource());
    assert.deepEqual(await reconcile(KEY), { requeueAfterMs: RESYNC_MS }, 'the created job is followed');
    const name = status()!.batchJob!.name;
    batch.setState(name, 'RUNNING');
    assert.deepEqual(await reconcile(KEY), { requeueAfterMs: RESYNC_MS });
    follows = false;
    assert.deepEqual(await reconcile(KEY), { requeueAfterMs: POLL_MS }, 'not followed: the poll interval');
    follows = true;
    // SCHEDULED with nothing said for a while: the pass comes when the status would say so.
    batch.update(name, (job) => {
      job.status!.state = 'SCHEDULED';
      job.status!.statusEvents = [
        {
          type: 'STATUS_CHANGED',
          description: 'Job state is set from QUEUED to SCHEDULED for job x.',
          eventTime: new Date(clock.now().getTime() - SILENT_SCHEDULED_MS + 60_000).toISOString(),
        },
      ];
    });
    assert.deepEqual(await reconcile(KEY), { requeueAfterMs: 60_000 });
    clock.advance(60_000);
    assert.deepEqual(await reconcile(KEY), { requeueAfterMs: RESYNC_MS });
    assert.match(status()?.message ?? '', /No VM has reported/);
  });

  it('while the poll keeps failing, an active job says so in Synced, and stops saying so after', async () => {
    let problem: SyncProblem | undefined = {
      reason: 'BatchPollFailing',
      message: "Listing the session's Batch jobs has failed 3 times in a row",
    };
    const jobCache: JobCache = { get: () => undefined, remember: () => undefined, problem: () => problem };
    reconcile = build(jobCache);
    const name = await submitted();
    assert.equal(summary('Synced'), 'False/BatchPollFailing');
    batch.setState(name, 'RUNNING');
    await reconcile(KEY);
    assert.equal(status()?.state, 'Running', 'read with GetJob: the state is current');
    assert.equal(summary('Synced'), 'False/BatchPollFailing');
    problem = undefined;
    await reconcile(KEY);
    assert.equal(summary('Synced'), 'True/Reconciled');
    problem = { reason: 'BatchPollFailing', message: 'again' };
    batch.setState(name, 'SUCCEEDED');
    await reconcile(KEY);
    assert.equal(status()?.state, 'Done');
    assert.equal(summary('Synced'), 'True/Reconciled', 'an ended job needs no poll');
  });

  it('a spec change of an ended job only moves observedGeneration, without Batch calls', async () => {
    const name = await submitted();
    batch.setState(name, 'SUCCEEDED');
    await reconcile(KEY);
    const calls = batch.calls.length;
    store.editSpec(KEY, (j) => (j.spec.deletionPolicy = 'Orphan'));
    await reconcile(KEY);
    assert.equal(status()?.observedGeneration, 2);
    assert.equal(status()?.state, 'Done');
    assert.equal(batch.calls.length, calls);
    assert.deepEqual(await quietPasses(), { calls: 0, patches: 0 });
  });
});

describe('8) terminate', () => {
  it('cancels the Batch job once and keeps the record, ending Failed/Terminated', async () => {
    const name = await submitted();
    batch.setState(name, 'RUNNING');
    await reconcile(KEY);
    store.editSpec(KEY, (j) => (j.spec.terminate = true));
    await reconcile(KEY);
    assert.equal(batch.callsOf('cancelJob').length, 1);
    assert.equal(status()?.subState, 'CANCELLATION_IN_PROGRESS');
    assert.equal(status()?.state, 'Running');
    await reconcile(KEY);
    await reconcile(KEY);
    assert.equal(batch.callsOf('cancelJob').length, 1, 'cancelled once');
    batch.settle();
    await reconcile(KEY);
    assert.equal(status()?.state, 'Failed');
    assert.equal(status()?.subState, 'CANCELLED');
    assert.equal(summary('Failed'), 'True/Terminated');
    assert.equal(summary('Finished'), 'True/Failed');
    assert.ok(batch.has(name), 'the Batch job is kept');
    assert.equal(batch.callsOf('deleteJob').length, 0);
    assert.deepEqual(events.reasons(), ['Submitted', 'Running', 'Cancelled']);
  });

  it('before submission: Failed/Terminated, nothing created', async () => {
    store.put(resource({ hold: true, terminate: true }));
    assert.deepEqual(await reconcile(KEY), {});
    assert.equal(status()?.state, 'Failed');
    assert.equal(summary('Failed'), 'True/Terminated');
    assert.equal(batch.calls.length, 0);
    assert.deepEqual(await quietPasses(), { calls: 0, patches: 0 });
  });

  it('a job that already ended stays as it ended', async () => {
    const name = await submitted();
    batch.setState(name, 'SUCCEEDED');
    await reconcile(KEY);
    store.editSpec(KEY, (j) => (j.spec.terminate = true));
    await reconcile(KEY);
    assert.equal(batch.callsOf('cancelJob').length, 0);
    assert.equal(status()?.state, 'Done');
  });
});

describe('2) deletion', () => {
  it('Delete: cancels, deletes, waits until gone, then removes the finalizer', async () => {
    const name = await submitted();
    batch.setState(name, 'RUNNING');
    store.markDeleted(KEY);
    assert.ok((await reconcile(KEY)).requeueAfterMs);
    assert.equal(batch.callsOf('cancelJob').length, 1);
    assert.ok((await reconcile(KEY)).requeueAfterMs, 'waits while the cancellation runs');
    assert.equal(batch.callsOf('deleteJob').length, 0);
    batch.settle();
    assert.ok((await reconcile(KEY)).requeueAfterMs);
    assert.equal(batch.callsOf('deleteJob').length, 1);
    assert.ok((await reconcile(KEY)).requeueAfterMs, 'waits while the deletion runs');
    assert.equal(batch.callsOf('deleteJob').length, 1, 'deletion requested once');
    assert.ok(store.current(KEY), 'kept until the Batch job is gone');
    batch.settle();
    assert.deepEqual(await reconcile(KEY), {});
    assert.equal(store.current(KEY), undefined);
    assert.equal(batch.has(name), false);
  });

  it('Delete finds a job the status never recorded (crash before the status write)', async () => {
    const name = await submitted();
    store.put({ ...store.current(KEY)!, status: {} });
    batch.setState(name, 'SUCCEEDED');
    store.markDeleted(KEY);
    await reconcile(KEY);
    assert.equal(batch.callsOf('deleteJob').length, 1);
  });

  it('Orphan leaves the Batch job and releases the resource at once', async () => {
    const name = await submitted(resource({ deletionPolicy: 'Orphan' }));
    batch.setState(name, 'RUNNING');
    store.markDeleted(KEY);
    assert.deepEqual(await reconcile(KEY), {});
    assert.equal(store.current(KEY), undefined);
    assert.ok(batch.has(name));
    assert.equal(batch.callsOf('cancelJob').length + batch.callsOf('deleteJob').length, 0);
  });

  it('a held resource goes without creating anything', async () => {
    store.put(resource({ hold: true }));
    await reconcile(KEY);
    store.markDeleted(KEY);
    assert.deepEqual(await reconcile(KEY), {});
    assert.equal(store.current(KEY), undefined);
    assert.equal(batch.callsOf('createJob').length, 0);
  });

  it('a resource without our finalizer is left alone', async () => {
    store.put(resource());
    store.markDeleted(KEY);
    assert.deepEqual(await reconcile(KEY), {});
    assert.equal(batch.calls.length, 0);
  });
});

describe('10) ttlSecondsAfterFinished', () => {
  it('deletes the Batch job after the TTL and keeps the resource and its status', async () => {
    const name = await submitted(resource({ ttlSecondsAfterFinished: 60 }));
    batch.setState(name, 'SUCCEEDED');
    assert.deepEqual(await reconcile(KEY), { requeueAfterMs: 60_000 });
    clock.advance(20_000);
    assert.deepEqual(await reconcile(KEY), { requeueAfterMs: 40_000 });
    assert.equal(batch.callsOf('deleteJob').length, 0);
    clock.advance(40_000);
    assert.deepEqual(await reconcile(KEY), {});
    assert.equal(batch.callsOf('deleteJob').length, 1);
    assert.equal(status()?.batchJob?.deleted, true);
    assert.equal(status()?.batchJob?.name, name);
    assert.equal(status()?.state, 'Done');
    assert.ok(store.current(KEY));
    assert.deepEqual(await quietPasses(), { calls: 0, patches: 0 });
    assert.equal(events.reasons().at(-1), 'BatchJobDeleted');
  });

  it('ttlSecondsAfterFinished: 0 deletes at once', async () => {
    const name = await submitted(resource({ ttlSecondsAfterFinished: 0 }));
    batch.setState(name, 'FAILED');
    assert.deepEqual(await reconcile(KEY), {});
    assert.equal(batch.callsOf('deleteJob').length, 1);
  });
});

describe('Batch errors', () => {
  for (const [kind, reason] of [
    ['Unavailable', 'BatchUnavailable'],
    ['DeadlineExceeded', 'BatchUnavailable'],
    ['ResourceExhausted', 'BatchQuotaExceeded'],
    ['Internal', 'BatchError'],
  ] as const) {
    it(`${kind} marks Synced=False/${reason}, rethrows for back-off, then recovers`, async () => {
      store.put(resource());
      batch.failNext('createJob', batchError(kind));
      await assert.rejects(reconcile(KEY), (err: unknown) => err instanceof BatchError && err.kind === kind);
      assert.equal(summary('Synced'), `False/${reason}`);
      assert.equal(status()?.state, 'Queued');
      assert.equal(status()?.subState, 'PENDING_SUBMISSION');
      assert.deepEqual(events.reasons(), ['BatchError']);
      await reconcile(KEY);
      assert.equal(summary('Synced'), 'True/Reconciled');
      assert.equal(batch.names().length, 1);
    });
  }

  it('the problem is written against the version the pass last wrote, even from a lagging cache', async () => {
    store.put(resource());
    const snapshot = store.current(KEY)!;
    store.get = async () => structuredClone(snapshot);
    batch.failNext('createJob', batchError('Unavailable'));
    await assert.rejects(reconcile(KEY));
    assert.equal(summary('Synced'), 'False/BatchUnavailable');
  });

  it('a repeated failure emits its event once', async () => {
    store.put(resource());
    batch.failNext('createJob', batchError('Unavailable'), 3);
    for (let i = 0; i < 3; i++) await assert.rejects(reconcile(KEY));
    assert.deepEqual(events.reasons(), ['BatchError']);
  });

  it('a failed GetJob of a running job keeps the status and says why', async () => {
    const name = await submitted();
    batch.setState(name, 'RUNNING');
    await reconcile(KEY);
    batch.failNext('getJob', batchError('ResourceExhausted'));
    await assert.rejects(reconcile(KEY));
    assert.equal(status()?.state, 'Running');
    assert.equal(summary('Synced'), 'False/BatchQuotaExceeded');
  });

  for (const kind of ['InvalidArgument', 'FailedPrecondition'] as const) {
    it(`${kind} from create ends Failed/BatchRejected, not retried until the spec changes`, async () => {
      store.put(resource());
      batch.failNext('createJob', batchError(kind, 'machine type e2-nothing does not exist'));
      assert.deepEqual(await reconcile(KEY), {});
      assert.equal(status()?.state, 'Failed');
      assert.equal(summary('Failed'), 'True/BatchRejected');
      assert.match(condition('Failed')!.message, /e2-nothing/);
      assert.deepEqual(await quietPasses(), { calls: 0, patches: 0 });
      store.editSpec(KEY, (j) => (j.spec.ttlSecondsAfterFinished = 60));
      await reconcile(KEY);
      assert.equal(batch.names().length, 1, 'retried for the new generation');
      assert.equal(status()?.state, 'Queued');
    });
  }
});

describe('Kubernetes errors', () => {
  it('a status write conflict requeues soon instead of failing', async () => {
    const name = await submitted();
    batch.setState(name, 'RUNNING');
    const stale = store.current(KEY)!;
    store.touch(KEY);
    const get = store.get.bind(store);
    store.get = async () => stale;
    const result = await reconcile(KEY);
    store.get = get;
    assert.ok(result.requeueAfterMs !== undefined && result.requeueAfterMs < 1000);
    assert.equal(events.reasons().includes('BatchError'), false);
    await reconcile(KEY);
    assert.equal(status()?.state, 'Running');
  });

  it('a forbidden finalizer write says KubeError and retries', async () => {
    store.put(resource());
    store.setFinalizers = async () => {
      throw new KubeError('Forbidden', 'cannot patch drmaa2jobs', 403);
    };
    await assert.rejects(reconcile(KEY));
    assert.equal(summary('Synced'), 'False/KubeError');
    assert.equal(batch.calls.length, 0);
  });

  it('a write the API server refuses as invalid is not retried', async () => {
    store.put(resource());
    store.setFinalizers = async () => {
      throw new KubeError('Invalid', 'spec: Invalid value: "object": invalid data', 422);
    };
    await assert.rejects(reconcile(KEY), TerminalError);
    assert.equal(summary('Synced'), 'False/KubeError');
    assert.equal(batch.calls.length, 0);
  });
});

describe('arrays', () => {
  it('native: per-index results as ranges; tasks listed only when the counts moved', async () => {
    const job = resource({ array: { begin: 1, end: 7, step: 1, maxParallel: 3 } });
    const names = expectedJobs(job);
    assert.equal(names.length, 1, 'one Batch job for a native array');
    const name = await submitted(job);
    const counts = (running: number, succeeded: number, failed: number) =>
      batch.update(name, (j) => {
        j.status!.taskGroups = {
          group0: { counts: { RUNNING: running, SUCCEEDED: succeeded, FAILED: failed } },
        };
      });
    batch.setState(name, 'RUNNING');
    counts(3, 0, 0);
    await reconcile(KEY);
    const listed = batch.callsOf('listTasks').length;
    await reconcile(KEY);
    assert.equal(batch.callsOf('listTasks').length, listed, 'same counts, no ListTasks');
    batch.setState(name, 'FAILED');
    counts(0, 6, 1);
    batch.setTasks(
      name,
      Array.from({ length: 7 }, (_, i) => ({
        name: `${name}/taskGroups/group0/tasks/${i}`,
        status: { state: i === 3 ? 'FAILED' : 'SUCCEEDED' },
      })),
    );
    await reconcile(KEY);
    assert.equal(status()?.array?.completedIndexes, '1-3,5-7');
    assert.equal(status()?.array?.failedIndexes, '4');
    assert.equal(status()?.state, 'Failed');
  });

  it('tasks Batch does not list yet are "not yet": no Synced problem, no Warning, results kept', async () => {
    const job = resource({ array: { begin: 1, end: 4, step: 1 } });
    const name = await submitted(job);
    batch.setState(name, 'RUNNING');
    batch.update(name, (j) => {
      j.status!.taskGroups = { group0: { counts: { RUNNING: 2, SUCCEEDED: 2 } } };
    });
    batch.setTasks(
      name,
      Array.from({ length: 4 }, (_, i) => ({
        name: `${name}/taskGroups/group0/tasks/${i}`,
        status: { state: i < 2 ? 'SUCCEEDED' : 'RUNNING' },
      })),
    );
    await reconcile(KEY);
    assert.equal(status()?.array?.completedIndexes, '1-2');
    // Counts move while the task listing answers NOT_FOUND, then with no tasks at all.
    batch.update(name, (j) => {
      j.status!.taskGroups = { group0: { counts: { RUNNING: 1, SUCCEEDED: 3 } } };
    });
    batch.failNext('listTasks', batchError('NotFound', 'Task group not found'));
    const warnings = events.events.filter((e) => e.type === 'Warning').length;
    const result = await reconcile(KEY);
    assert.ok(result.requeueAfterMs, 'looks again after the poll interval, no back-off');
    assert.equal(summary('Synced'), 'True/Reconciled');
    assert.equal(status()?.array?.completedIndexes, '1-2', 'the last results stand');
    batch.setTasks(name, []);
    batch.update(name, (j) => {
      j.status!.taskGroups = { group0: { counts: { RUNNING: 0, SUCCEEDED: 4 } } };
    });
    await reconcile(KEY);
    assert.equal(status()?.array?.completedIndexes, '1-2', 'an empty listing of a running job is not news');
    assert.equal(events.events.filter((e) => e.type === 'Warning').length, warnings);
  });

  it('an ended job whose tasks Batch does not list yet waits for them, for a bounded time', async () => {
    const job = resource({ array: { begin: 1, end: 4, step: 1 } });
    const name = await submitted(job);
    batch.setState(name, 'RUNNING');
    await reconcile(KEY);
    batch.setState(name, 'SUCCEEDED');
    batch.update(name, (j) => {
      j.status!.taskGroups = { group0: { counts: { SUCCEEDED: 4 } } };
    });
    batch.setTasks(name, []);
    const result = await reconcile(KEY);
    assert.equal(status()?.state, 'Running', 'no end written without its results');
    assert.ok(result.requeueAfterMs! <= 2000, 'looks again soon');
    const tasks = Array.from({ length: 4 }, (_, i) => ({
      name: `${name}/taskGroups/group0/tasks/${i}`,
      status: { state: 'SUCCEEDED' as const },
    }));
    batch.setTasks(name, tasks);
    await reconcile(KEY);
    assert.equal(status()?.state, 'Done');
    assert.equal(status()?.array?.completedIndexes, '1-4');
  });

  it('after five minutes without a task listing, the end is written with what is known', async () => {
    const name = await submitted(resource({ array: { begin: 1, end: 2, step: 1 } }));
    batch.setState(name, 'FAILED');
    batch.update(name, (j) => {
      j.status!.taskGroups = { group0: { counts: { FAILED: 2 } } };
    });
    batch.setTasks(name, []);
    await reconcile(KEY);
    assert.notEqual(status()?.state, 'Failed');
    clock.advance(5 * 60_000);
    await reconcile(KEY);
    assert.equal(status()?.state, 'Failed');
    assert.equal(status()?.jobInfo?.exitStatus, undefined, 'no exit code seen: none made up');
  });

  it('per element: one Batch job per index, created idempotently across a failure', async () => {
    const job = resource({ array: { begin: 1, end: 3, step: 1 } }, { minSlots: 2, maxSlots: 2 });
    const names = expectedJobs(job);
    assert.equal(names.length, 3, 'one Batch job per element');
    store.put(job);
    const createJob = batch.createJob.bind(batch);
    let creates = 0;
    batch.createJob = async (request) => {
      if (++creates === 2) throw batchError('Unavailable');
      return createJob(request);
    };
    await assert.rejects(reconcile(KEY));
    assert.equal(batch.names().length, 1);
    await reconcile(KEY);
    assert.deepEqual(batch.names().sort(), [...names].sort());
    assert.deepEqual(
      status()?.array?.jobs?.map((j) => j.name),
      names,
    );
    batch.setState(names[0]!, 'SUCCEEDED');
    batch.setState(names[1]!, 'RUNNING');
    await reconcile(KEY);
    assert.equal(status()?.state, 'Running');
    assert.equal(status()?.array?.completedIndexes, '1');
    assert.equal(batch.callsOf('listTasks').length, 0, 'element states suffice while the array runs');
    const reads = (name: string) => batch.callsOf('getJob').filter((c) => (c.arg as string) === name).length;
    const readsOfEnded = reads(names[0]!);
    await reconcile(KEY);
    await reconcile(KEY);
    assert.equal(reads(names[0]!), readsOfEnded, 'an ended element is read once, not on every pass');
    assert.ok(reads(names[1]!) >= 3, 'running elements are read on every pass');
    batch.setState(names[1]!, 'FAILED');
    batch.setState(names[2]!, 'SUCCEEDED');
    await reconcile(KEY);
    assert.equal(status()?.state, 'Failed');
    assert.equal(status()?.array?.completedIndexes, '1,3');
    assert.equal(status()?.array?.failedIndexes, '2');
    assert.deepEqual(
      batch.callsOf('listTasks').map((c) => (c.arg as { jobName: string }).jobName),
      [names[1]],
      'the tasks of the failed element, for jobInfo',
    );
  });

  it('per element: an element being cancelled is read again until it has ended', async () => {
    const job = resource({ array: { begin: 1, end: 2, step: 1 } }, { minSlots: 2, maxSlots: 2 });
    const names = expectedJobs(job);
    await submitted(job);
    batch.setState(names[0]!, 'CANCELLATION_IN_PROGRESS');
    batch.setState(names[1]!, 'RUNNING');
    await reconcile(KEY);
    batch.setState(names[0]!, 'CANCELLED');
    batch.setState(names[1]!, 'SUCCEEDED');
    await reconcile(KEY);
    assert.equal(status()?.state, 'Failed', 'the cancellation was seen to its end');
    assert.equal(status()?.array?.failedIndexes, '1');
  });

  it('per element deletion removes every element job', async () => {
    const job = resource({ array: { begin: 1, end: 2, step: 1 } }, { minSlots: 2, maxSlots: 2 });
    await submitted(job);
    for (const name of batch.names()) batch.setState(name, 'SUCCEEDED');
    store.markDeleted(KEY);
    await reconcile(KEY);
    assert.equal(batch.callsOf('deleteJob').length, 2);
    batch.settle();
    await reconcile(KEY);
    assert.equal(store.current(KEY), undefined);
  });
});
