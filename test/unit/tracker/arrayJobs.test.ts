import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import type { CreateJobRequest } from '../../../src/api/batch.js';
import { isBatchError } from '../../../src/ports/errors.js';
import { InvalidSpecError, UnsupportedOperationError } from '../../../src/tracker/index.js';
import { batchError } from '../../support/fakes/fakeBatchJobs.js';
import { PARENT, scriptTemplate, setup } from './setup.js';

describe('JobTracker.addArrayJob (native Batch array)', () => {
  it('submits one Batch job and returns an ID listArrayJobs expands to one task per index', async () => {
    const { tracker, batch } = setup();
    const id = await tracker.addArrayJob({ ...scriptTemplate, jobName: 'arr' }, 1, 10, 3, 2);
    assert.equal(id, `${PARENT}/jobs/arr[1-10:3]`);
    assert.equal(batch.callsOf('createJob').length, 1);
    const request = batch.callsOf('createJob')[0]?.arg as CreateJobRequest;
    assert.equal(request.job.taskGroups?.[0]?.taskCount, 4);
    assert.deepEqual(
      tracker.listArrayJobs(id),
      [0, 1, 2, 3].map((t) => `${PARENT}/jobs/arr/taskGroups/group0/tasks/${t}`),
    );
  });

  it('reports each index from its Batch task', async () => {
    const { tracker, batch } = setup();
    const id = await tracker.addArrayJob({ ...scriptTemplate, jobName: 'arr' }, 1, 3, 1, 0);
    const job = `${PARENT}/jobs/arr`;
    const [first, second, third] = tracker.listArrayJobs(id);
    batch.setState(job, 'RUNNING');
    batch.setTasks(job, [
      { name: first!, status: { state: 'SUCCEEDED', statusEvents: [{ taskExecution: { exitCode: 0 } }] } },
      { name: second!, status: { state: 'FAILED', statusEvents: [{ taskExecution: { exitCode: 7 } }] } },
    ]);
    assert.deepEqual(await tracker.jobState(first!), { state: 'Done', subState: 'SUCCEEDED' });
    assert.deepEqual(await tracker.jobState(second!), { state: 'Failed', subState: 'FAILED' });
    assert.deepEqual(await tracker.jobState(third!), { state: 'Queued', subState: 'PENDING' });
    const info = await tracker.jobInfo(second!);
    assert.equal(info.id, second);
    assert.equal(info.exitStatus, 7);
  });

  it('controls the array as a whole, not one index', async () => {
    const { tracker, batch } = setup();
    const id = await tracker.addArrayJob({ ...scriptTemplate, jobName: 'arr' }, 1, 3, 1, 0);
    batch.setState(`${PARENT}/jobs/arr`, 'RUNNING');
    await assert.rejects(
      tracker.jobControl(tracker.listArrayJobs(id)[0]!, 'terminate'),
      UnsupportedOperationError,
    );
    await tracker.jobControl(id, 'terminate');
    assert.equal(batch.callsOf('cancelJob').length, 1);
    assert.equal((await tracker.jobState(id)).subState, 'CANCELLATION_IN_PROGRESS');
  });

  it('rejects a non-positive step before any Batch call', async () => {
    const { tracker, batch } = setup();
    await assert.rejects(tracker.addArrayJob(scriptTemplate, 1, 3, 0, 0), InvalidSpecError);
    assert.equal(batch.calls.length, 0);
  });
});

describe('JobTracker.addArrayJob (one Batch job per index)', () => {
  const multiTask = { ...scriptTemplate, jobName: 'mpi', minSlots: 2, maxSlots: 2 };

  it('returns the element job names as a JSON list', async () => {
    const { tracker, batch } = setup();
    const id = await tracker.addArrayJob(multiTask, 1, 3, 1, 0);
    const names = tracker.listArrayJobs(id);
    assert.equal(names.length, 3);
    assert.deepEqual(JSON.parse(id), names);
    for (const name of names) assert.ok(batch.has(name), name);
  });

  it('deletes the elements already created when one submission fails', async () => {
    const { tracker, batch } = setup();
    const create = batch.createJob.bind(batch);
    let n = 0;
    batch.createJob = async (request) => {
      if (++n === 2) throw batchError('ResourceExhausted');
      return create(request);
    };
    await assert.rejects(tracker.addArrayJob(multiTask, 1, 3, 1, 0), (err) =>
      isBatchError(err, 'ResourceExhausted'),
    );
    assert.equal(batch.callsOf('deleteJob').length, 1);
  });
});
