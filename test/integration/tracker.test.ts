// The JobTracker over the real Batch client and the project's Batch emulator, which runs `$script$` jobs as
// local processes.
import { afterAll, beforeAll, describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { createBatchJobs, type ClosableBatchJobs } from '../../src/adapters/batch/index.js';
import type { Buckets } from '../../src/ports/buckets.js';
import type { Clock } from '../../src/ports/clock.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js';
import { JobTracker } from '../../src/tracker/index.js';

const realClock: Clock = {
  now: () => new Date(),
  sleep: (ms, signal) => delay(ms, undefined, signal ? { signal } : {}),
};

const noBuckets: Buckets = {
  bucketExists: async () => {
    throw new Error('no stage-out buckets in these tests');
  },
  ensureBucket: async () => {
    throw new Error('no stage-out buckets in these tests');
  },
};

let emulator: RunningEmulator;
let batch: ClosableBatchJobs;
let tracker: JobTracker;

beforeAll(async () => {
  emulator = await startEmulator({});
  batch = createBatchJobs({ emulatorHost: emulator.host, projectId: 'it-project', timeoutMs: 10_000 });
  tracker = new JobTracker({
    batch,
    buckets: noBuckets,
    clock: realClock,
    project: 'it-project',
    location: 'us-central1',
    session: 'tracker-it',
    backoff: { initialMs: 100, maxMs: 500 },
  });
});

afterAll(async () => {
  await batch?.close();
  await emulator?.stop();
});

const script = (text: string) => ({
  remoteCommand: text,
  jobCategory: '$script$',
  candidateMachines: ['e2-standard-2'],
});

describe('JobTracker against the Batch emulator', () => {
  it('runs a $script$ job to Done', async () => {
    const id = await tracker.addJob({ ...script('echo hello'), jobName: 'tr-hello' });
    assert.deepEqual(await tracker.wait(id, 60_000), { state: 'Done', subState: 'SUCCEEDED' });
    const info = await tracker.jobInfo(id);
    assert.equal(info.state, 'Done');
    assert.equal(info.exitStatus, 0);
    assert.equal((await tracker.jobTemplate(id)).remoteCommand, 'echo hello');
    assert.ok((await tracker.listJobs()).includes(id));
    await tracker.deleteJob(id);
  });

  it('reports a failing script as Failed with its exit status', async () => {
    const id = await tracker.addJob({ ...script('exit 3'), jobName: 'tr-fail' });
    assert.equal((await tracker.wait(id, 60_000)).state, 'Failed');
    const info = await tracker.jobInfo(id);
    assert.equal(info.subState, 'FAILED');
    assert.equal(info.exitStatus, 3);
  });

  it('terminates a running job: Batch cancel, Failed/CANCELLED, record kept', async () => {
    const id = await tracker.addJob({ ...script('sleep 60'), jobName: 'tr-terminate' });
    await tracker.wait(id, 60_000, ['Running']);
    await tracker.jobControl(id, 'terminate');
    assert.deepEqual(await tracker.wait(id, 60_000), { state: 'Failed', subState: 'CANCELLED' });
    assert.equal((await tracker.jobInfo(id)).state, 'Failed');
  });

  it('runs an array job with a task per index', async () => {
    const id = await tracker.addArrayJob(
      { ...script('test -n "$TASK_ID"'), jobName: 'tr-array' },
      1,
      5,
      2,
      2,
    );
    const elements = tracker.listArrayJobs(id);
    assert.equal(elements.length, 3);
    assert.equal((await tracker.wait(id, 60_000)).state, 'Done');
    for (const element of elements) assert.equal((await tracker.jobState(element)).state, 'Done');
  });
});
