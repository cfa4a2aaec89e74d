// The Batch adapter through the real client against the project's Batch emulator.
import { afterAll, beforeAll, describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createBatchJobs, type ClosableBatchJobs } from '../../src/adapters/batch/index.js';
import type { BatchJobState, CreateJobRequest, Job } from '../../src/api/batch.js';
import { isBatchError } from '../../src/ports/errors.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js';

const parent = 'projects/it-project/locations/us-central1';
let emulator: RunningEmulator;
let batch: ClosableBatchJobs;

beforeAll(async () => {
  emulator = await startEmulator({});
  batch = createBatchJobs({ emulatorHost: emulator.host, projectId: 'it-project', timeoutMs: 10_000 });
});

afterAll(async () => {
  await batch?.close();
  await emulator?.stop();
});

function scriptJob(
  jobId: string,
  text: string,
  labels: Record<string, string> = {},
  taskCount = 1,
): CreateJobRequest {
  return {
    parent,
    jobId,
    job: {
      labels: { drmaa2session: 'adapter-it', ...labels },
      taskGroups: [{ taskCount, taskSpec: { runnables: [{ script: { text } }], maxRunDuration: '120s' } }],
      logsPolicy: { destination: 'CLOUD_LOGGING' },
    },
  };
}

async function until(name: string, check: (job: Job | undefined) => boolean): Promise<Job | undefined> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    let job: Job | undefined;
    try {
      job = await batch.getJob(name);
    } catch (err) {
      if (!isBatchError(err, 'NotFound')) throw err;
    }
    if (check(job)) return job;
    if (Date.now() > deadline) throw new Error(`${name}: condition not reached, last ${job?.status?.state}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const stateIs =
  (...states: BatchJobState[]) =>
  (job: Job | undefined) =>
    states.includes(job?.status?.state ?? 'STATE_UNSPECIFIED');

describe('Batch adapter against the emulator', () => {
  it('creates a job and reads it back in the core form', async () => {
    const created = await batch.createJob({ ...scriptJob('it-create', 'exit 0'), requestId: randomUUID() });
    assert.equal(created.name, `${parent}/jobs/it-create`);
    assert.ok(created.uid);
    const job = await batch.getJob(created.name!);
    assert.equal(job.taskGroups?.[0]?.taskCount, 1);
    assert.equal(job.taskGroups?.[0]?.taskSpec?.maxRunDuration, '120s');
    assert.deepEqual(job.taskGroups?.[0]?.taskSpec?.runnables, [{ script: { text: 'exit 0' } }]);
    assert.equal(job.labels?.drmaa2session, 'adapter-it');
    assert.ok(job.createTime && !Number.isNaN(Date.parse(job.createTime)));
    const done = await until(created.name!, stateIs('SUCCEEDED', 'FAILED'));
    assert.equal(done?.status?.state, 'SUCCEEDED');
  });

  it('maps ALREADY_EXISTS, NOT_FOUND and INVALID_ARGUMENT', async () => {
    await batch.createJob(scriptJob('it-dup', 'exit 0'));
    await assert.rejects(batch.createJob(scriptJob('it-dup', 'exit 0')), (err) =>
      isBatchError(err, 'AlreadyExists'),
    );
    await assert.rejects(batch.getJob(`${parent}/jobs/it-missing`), (err) => isBatchError(err, 'NotFound'));
    await assert.rejects(batch.cancelJob(`${parent}/jobs/it-missing`), (err) =>
      isBatchError(err, 'NotFound'),
    );
    await assert.rejects(batch.createJob(scriptJob('Not_Valid', 'exit 0')), (err) =>
      isBatchError(err, 'InvalidArgument'),
    );
  });

  it('lists one page at a time with a label filter', async () => {
    const label = { run: `paging-${Date.now()}` };
    for (let i = 0; i < 5; i++) await batch.createJob(scriptJob(`it-page-${i}`, 'exit 0', label));
    const filter = `labels.run="${label.run}"`;
    const seen: string[] = [];
    let pageToken: string | undefined;
    let pages = 0;
    do {
      const page = await batch.listJobs({ parent, filter, pageSize: 2, ...(pageToken ? { pageToken } : {}) });
      assert.ok(page.jobs.length <= 2);
      seen.push(...page.jobs.map((j) => j.name!));
      pageToken = page.nextPageToken;
      pages++;
    } while (pageToken);
    assert.equal(pages, 3);
    assert.deepEqual(seen.sort(), [0, 1, 2, 3, 4].map((i) => `${parent}/jobs/it-page-${i}`).sort());
  });

  it('lists the tasks of a job', async () => {
    const job = await batch.createJob(scriptJob('it-tasks', 'exit 0', {}, 3));
    await until(job.name!, stateIs('SUCCEEDED', 'FAILED'));
    const tasks = await batch.listTasks(job.name!);
    assert.equal(tasks.length, 3);
    assert.ok(tasks.every((t) => t.status?.state === 'SUCCEEDED'));
    assert.ok(tasks.every((t) => t.name?.startsWith(`${job.name}/taskGroups/group0/tasks/`)));
  });

  it('cancels a running job, which ends CANCELLED and stays readable', async () => {
    const job = await batch.createJob(scriptJob('it-cancel', 'sleep 60'));
    await until(job.name!, stateIs('RUNNING'));
    await batch.cancelJob(job.name!);
    const cancelled = await until(job.name!, stateIs('CANCELLED'));
    assert.equal(cancelled?.status?.state, 'CANCELLED');
  });

  it('deletes a job, which then is gone', async () => {
    const job = await batch.createJob(scriptJob('it-delete', 'exit 0'));
    await until(job.name!, stateIs('SUCCEEDED', 'FAILED'));
    await batch.deleteJob(job.name!, 'done with it');
    await until(job.name!, (j) => j === undefined);
  });

  it('passes injected UNAVAILABLE through without retrying, and reports the call', async () => {
    const observed: [string, string][] = [];
    const observedBatch = createBatchJobs({
      emulatorHost: emulator.host,
      projectId: 'it-project',
      observer: (method, code) => observed.push([method, code]),
    });
    const before = emulator.stats().calls.GetJob?.UNAVAILABLE ?? 0;
    emulator.setFaults({ errors: { GetJob: { probability: 1, codes: ['UNAVAILABLE'] } } });
    try {
      await assert.rejects(observedBatch.getJob(`${parent}/jobs/it-create`), (err) =>
        isBatchError(err, 'Unavailable'),
      );
    } finally {
      emulator.setFaults({});
      await observedBatch.close();
    }
    assert.equal((emulator.stats().calls.GetJob?.UNAVAILABLE ?? 0) - before, 1);
    assert.deepEqual(observed, [['GetJob', 'UNAVAILABLE']]);
  });
});
