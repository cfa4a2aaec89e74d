import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { BATCH_JOB_STATES, type BatchJobState } from '../../../src/api/batch.js';
import type { JobState } from '../../../src/api/drmaa2.js';
import { BatchError, isBatchError } from '../../../src/ports/errors.js';
import {
  InvalidArgumentError,
  InvalidSpecError,
  InvalidStateError,
  NotInSessionError,
  UnsupportedOperationError,
} from '../../../src/tracker/index.js';
import { batchError } from '../../support/fakes/fakeBatchJobs.js';
import { PARENT, PROJECT, SESSION, scriptTemplate, setup } from './setup.js';

/** The state table of docs/state-model.md, with the state seen before DELETION_IN_PROGRESS being Running. */
const EXPECTED: Record<BatchJobState, JobState> = {
  STATE_UNSPECIFIED: 'Undetermined',
  QUEUED: 'Queued',
  SCHEDULED: 'Queued',
  RUNNING: 'Running',
  SUCCEEDED: 'Done',
  FAILED: 'Failed',
  DELETION_IN_PROGRESS: 'Running',
  CANCELLATION_IN_PROGRESS: 'Running',
  CANCELLED: 'Failed',
};

describe('JobTracker.addJob', () => {
  it('passes translation warnings on', async () => {
    const { tracker, warnings } = setup();
    await tracker.addJob({ ...scriptTemplate, workingDirectory: '/tmp' });
    assert.deepEqual(
      warnings.map((w) => w.path),
      ['spec.jobTemplate.workingDirectory'],
    );
  });

  it('an empty jobName is unset: an ID is generated, as in the original library', async () => {
    const { tracker } = setup();
    const name = await tracker.addJob({ ...scriptTemplate, jobName: '' });
    assert.match(name, /\/jobs\/drmaa2-\d+-\d+$/);
  });

  it('submits one Batch job labelled with the session and returns its full name', async () => {
    const { tracker, batch } = setup();
    const id = await tracker.addJob({ ...scriptTemplate, jobName: 'hello' });
    assert.equal(id, `${PARENT}/jobs/hello`);
    const [call] = batch.callsOf('createJob');
    const request = call?.arg as { parent: string; job: { labels?: Record<string, string> } };
    assert.equal(request.parent, PARENT);
    assert.equal(request.job.labels?.drmaa2session, SESSION);
    assert.ok(batch.has(id));
  });

  it('generates distinct job IDs from the injected nonce', async () => {
    const { tracker } = setup();
    const a = await tracker.addJob(scriptTemplate);
    const b = await tracker.addJob(scriptTemplate);
    assert.notEqual(a, b);
    assert.ok(a.startsWith(`${PARENT}/jobs/`));
  });

  it('makes sure stage-out buckets exist, in the tracker project, before creating the job', async () => {
    const { tracker, batch, buckets } = setup();
    await tracker.addJob({ ...scriptTemplate, stageOutFiles: { '/results': 'gs://out-bucket/run1' } });
    assert.deepEqual(buckets.ensured, [{ name: 'out-bucket', project: PROJECT }]);
    assert.equal(batch.callsOf('createJob').length, 1);
  });

  it('does not create the job when a bucket cannot be ensured', async () => {
    const { tracker, batch, buckets } = setup();
    buckets.failWith = new BatchError('PermissionDenied', 'denied', 7);
    await assert.rejects(
      tracker.addJob({ ...scriptTemplate, stageOutFiles: { '/results': 'gs://out-bucket' } }),
      (err) => isBatchError(err, 'PermissionDenied'),
    );
    assert.equal(batch.callsOf('createJob').length, 0);
  });

  it('rejects an invalid template with path-qualified errors and no Batch call', async () => {
    const { tracker, batch } = setup();
    await assert.rejects(tracker.addJob({ remoteCommand: 'x' }), (err) => {
      assert.ok(err instanceof InvalidSpecError);
      assert.ok(err.errors.length > 0);
      assert.ok(err.errors.every((e) => e.path.length > 0));
      return true;
    });
    assert.equal(batch.calls.length, 0);
  });

  it('passes ALREADY_EXISTS through as a BatchError', async () => {
    const { tracker } = setup();
    await tracker.addJob({ ...scriptTemplate, jobName: 'dup' });
    await assert.rejects(tracker.addJob({ ...scriptTemplate, jobName: 'dup' }), (err) =>
      isBatchError(err, 'AlreadyExists'),
    );
  });
});

describe('JobTracker.jobState', () => {
  for (const batchState of BATCH_JOB_STATES) {
    it(`${batchState} -> ${EXPECTED[batchState]}`, async () => {
      const { tracker, batch } = setup();
      const id = await tracker.addJob(scriptTemplate);
      batch.setState(id, 'RUNNING');
      await tracker.jobState(id);
      batch.setState(id, batchState);
      assert.deepEqual(await tracker.jobState(id), { state: EXPECTED[batchState], subState: batchState });
    });
  }

  it('accepts a bare Batch job ID', async () => {
    const { tracker } = setup();
    await tracker.addJob({ ...scriptTemplate, jobName: 'short' });
    assert.equal((await tracker.jobState('short')).state, 'Queued');
  });

  it('refuses a job of another session and reports a missing job as NotFound', async () => {
    const { tracker, batch } = setup();
    batch.put({
      name: `${PARENT}/jobs/foreign`,
      labels: { drmaa2session: 'other' },
      status: { state: 'RUNNING' },
    });
    await assert.rejects(tracker.jobState(`${PARENT}/jobs/foreign`), NotInSessionError);
    await assert.rejects(tracker.jobState(`${PARENT}/jobs/missing`), (err) => isBatchError(err, 'NotFound'));
  });

  it('rejects an ID that is not a Batch job name', async () => {
    const { tracker } = setup();
    await assert.rejects(tracker.jobState('Not A Job'), InvalidArgumentError);
  });
});

describe('session check on every ID-based operation', () => {
  const foreign = `${PARENT}/jobs/foreign`;
  const ops: [string, (t: ReturnType<typeof setup>['tracker']) => Promise<unknown>][] = [
    ['jobState', (t) => t.jobState(foreign)],
    ['jobInfo', (t) => t.jobInfo(foreign)],
    ['jobTemplate', (t) => t.jobTemplate(foreign)],
    ['terminate', (t) => t.jobControl(foreign, 'terminate')],
    ['suspend', (t) => t.jobControl(foreign, 'suspend')],
    ['hold', (t) => t.jobControl(foreign, 'hold')],
    ['release', (t) => t.jobControl(foreign, 'release')],
    ['wait', (t) => t.wait(foreign, 60_000)],
    ['deleteJob', (t) => t.deleteJob(foreign)],
  ];
  for (const [name, op] of ops) {
    it(`${name} refuses a job of another session without changing it`, async () => {
      const { tracker, batch } = setup();
      batch.put({ name: foreign, labels: { drmaa2session: 'other' }, status: { state: 'SUCCEEDED' } });
      await assert.rejects(op(tracker), (err) => {
        assert.ok(err instanceof NotInSessionError);
        assert.match(err.message, /not found in job session/);
        return true;
      });
      assert.equal(batch.callsOf('cancelJob').length + batch.callsOf('deleteJob').length, 0);
    });
  }
});

describe('JobTracker.jobInfo and jobTemplate', () => {
  it('maps the Batch job and its tasks into a JobInfo', async () => {
    const { tracker, batch } = setup();
    const id = await tracker.addJob({ ...scriptTemplate, accountingString: 'team-a' });
    batch.setState(id, 'FAILED');
    batch.setTasks(id, [
      {
        name: `${id}/taskGroups/group0/tasks/0`,
        status: { state: 'FAILED', statusEvents: [{ taskState: 'FAILED', taskExecution: { exitCode: 3 } }] },
      },
    ]);
    const info = await tracker.jobInfo(id);
    assert.equal(info.id, id);
    assert.equal(info.state, 'Failed');
    assert.equal(info.subState, 'FAILED');
    assert.equal(info.exitStatus, 3);
    assert.equal(batch.callsOf('listTasks').length, 1);
  });

  it('still answers while the tasks are already gone', async () => {
    const { tracker, batch } = setup();
    const id = await tracker.addJob(scriptTemplate);
    batch.setState(id, 'SUCCEEDED');
    batch.failNext('listTasks', batchError('NotFound'));
    assert.equal((await tracker.jobInfo(id)).state, 'Done');
  });

  it('recovers the submitted template from the job', async () => {
    const { tracker } = setup();
    const id = await tracker.addJob({ ...scriptTemplate, jobEnvironment: { A: '1' } });
    const template = await tracker.jobTemplate(id);
    assert.equal(template.remoteCommand, scriptTemplate.remoteCommand);
    assert.equal(template.jobCategory, '$script$');
    assert.deepEqual(template.jobEnvironment, { A: '1' });
  });
});

describe('JobTracker.jobControl', () => {
  it('terminate cancels (never deletes) and the job ends Failed/CANCELLED with its record kept', async () => {
    const { tracker, batch } = setup();
    const id = await tracker.addJob(scriptTemplate);
    batch.setState(id, 'RUNNING');
    await tracker.jobControl(id, 'terminate');
    assert.equal(batch.callsOf('cancelJob').length, 1);
    assert.equal(batch.callsOf('deleteJob').length, 0);
    assert.deepEqual(await tracker.jobState(id), { state: 'Running', subState: 'CANCELLATION_IN_PROGRESS' });
    await tracker.jobControl(id, 'terminate');
    assert.equal(batch.callsOf('cancelJob').length, 1, 'a second terminate does not cancel again');
    batch.settle();
    assert.deepEqual(await tracker.jobState(id), { state: 'Failed', subState: 'CANCELLED' });
    assert.ok(batch.has(id));
  });

  it('terminate of a finished job is an invalid-state error', async () => {
    const { tracker, batch } = setup();
    const id = await tracker.addJob(scriptTemplate);
    batch.setState(id, 'SUCCEEDED');
    await assert.rejects(tracker.jobControl(id, 'terminate'), InvalidStateError);
    assert.equal(batch.callsOf('cancelJob').length, 0);
  });

  it('suspend and resume are unsupported by Google Batch', async () => {
    const { tracker, batch } = setup();
    const id = await tracker.addJob(scriptTemplate);
    for (const action of ['suspend', 'resume'] as const) {
      await assert.rejects(tracker.jobControl(id, action), (err) => {
        assert.ok(err instanceof UnsupportedOperationError);
        assert.match(err.message, /not supported by Google Batch/);
        return true;
      });
    }
    assert.equal(batch.callsOf('cancelJob').length, 0);
  });

  it('hold and release of a submitted job say that Batch cannot hold it', async () => {
    const { tracker } = setup();
    const id = await tracker.addJob(scriptTemplate);
    await assert.rejects(tracker.jobControl(id, 'hold'), /cannot hold a submitted job/);
    await assert.rejects(tracker.jobControl(id, 'release'), InvalidStateError);
  });

  it('an unknown action is an invalid argument', async () => {
    const { tracker } = setup();
    const id = await tracker.addJob(scriptTemplate);
    await assert.rejects(tracker.jobControl(id, 'pause' as never), InvalidArgumentError);
  });

  it('submitAsHold keeps the job QueuedHeld until release submits it', async () => {
    const { tracker, batch, warnings } = setup();
    const id = await tracker.addJob({ ...scriptTemplate, jobName: 'later', submitAsHold: true });
    assert.equal(id, `${PARENT}/jobs/later`);
    assert.equal(batch.callsOf('createJob').length, 0);
    assert.deepEqual(warnings, [], 'submitAsHold is honoured, not warned about');
    assert.deepEqual(await tracker.jobState(id), { state: 'QueuedHeld', subState: 'HELD' });
    assert.ok((await tracker.listJobs()).includes(id));
    await tracker.jobControl(id, 'hold');
    assert.equal((await tracker.jobTemplate(id)).jobName, 'later');
    await tracker.jobControl(id, 'release');
    assert.equal(batch.callsOf('createJob').length, 1);
    assert.deepEqual(await tracker.jobState(id), { state: 'Queued', subState: 'QUEUED' });
  });

  it('a held job terminated before submission is Failed and can then be deleted', async () => {
    const { tracker, batch } = setup();
    const id = await tracker.addJob({ ...scriptTemplate, submitAsHold: true });
    await assert.rejects(tracker.deleteJob(id), InvalidStateError);
    await tracker.jobControl(id, 'terminate');
    assert.equal((await tracker.jobState(id)).state, 'Failed');
    await assert.rejects(tracker.jobControl(id, 'release'), InvalidStateError);
    await tracker.deleteJob(id);
    assert.equal((await tracker.listJobs()).includes(id), false);
    assert.equal(batch.calls.length, 1, 'only the listJobs call reached Batch');
  });
});

describe('JobTracker.deleteJob', () => {
  for (const state of ['SUCCEEDED', 'FAILED', 'CANCELLED'] as const) {
    it(`deletes a ${state} job`, async () => {
      const { tracker, batch } = setup();
      const id = await tracker.addJob(scriptTemplate);
      batch.setState(id, state);
      await tracker.deleteJob(id);
      assert.deepEqual(
        batch.callsOf('deleteJob').map((c) => (c.arg as { name: string }).name),
        [id],
      );
    });
  }

  for (const state of ['QUEUED', 'SCHEDULED', 'RUNNING', 'CANCELLATION_IN_PROGRESS'] as const) {
    it(`refuses to delete a ${state} job`, async () => {
      const { tracker, batch } = setup();
      const id = await tracker.addJob(scriptTemplate);
      batch.setState(id, state);
      await assert.rejects(tracker.deleteJob(id), InvalidStateError);
      assert.equal(batch.callsOf('deleteJob').length, 0);
    });
  }

  it('is a no-op for a job already being deleted', async () => {
    const { tracker, batch } = setup();
    const id = await tracker.addJob(scriptTemplate);
    batch.setState(id, 'SUCCEEDED');
    await tracker.deleteJob(id);
    await tracker.deleteJob(id);
    assert.equal(batch.callsOf('deleteJob').length, 1);
  });
});

describe('JobTracker.listJobs and constants', () => {
  it("lists all of the session's jobs across pages, filtered by the session label", async () => {
    const { tracker, batch } = setup({}, 7);
    const mine: string[] = [];
    for (let i = 0; i < 20; i++) mine.push(await tracker.addJob({ ...scriptTemplate, jobName: `mine-${i}` }));
    for (let i = 0; i < 5; i++) {
      batch.put({ name: `${PARENT}/jobs/other-${i}`, labels: { drmaa2session: 'other' } });
    }
    assert.deepEqual((await tracker.listJobs()).sort(), mine.sort());
    const lists = batch.callsOf('listJobs');
    assert.equal(lists.length, 3);
    assert.equal((lists[0]?.arg as { filter: string }).filter, `labels.drmaa2session="${SESSION}"`);
    // Batch refuses a later page whose size differs from the one its token was made with.
    const sizes = lists.map((call) => (call.arg as { pageSize?: number }).pageSize);
    assert.deepEqual(sizes, [500, 500, 500], 'every page asks for the same page size');
  });

  it('names the job categories and has no queues', () => {
    const { tracker } = setup();
    assert.deepEqual(tracker.listJobCategories(), ['$scriptpath$', '$script$', '<container_image_name>']);
    assert.deepEqual(tracker.getAllQueueNames(), []);
  });
});
