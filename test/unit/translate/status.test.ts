// nextStatus and its helpers: the DRMAA2 state of every phase and Batch state (docs/state-model.md), the conditions
// with their documented reasons and stable transition times, and the status diff the controller patches.
import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { BatchJobState, Job, Task } from '../../../src/api/batch.js';
import type { Drmaa2Job, Drmaa2JobStatus } from '../../../src/api/drmaa2job.js';
import { REASONS, setCondition } from '../../../src/translate/conditions.js';
import {
  applyMergePatch,
  combinedState,
  nextStatus,
  resynced,
  statusEqual,
  statusPatch,
  withSyncProblem,
  type Observation,
  type Phase,
} from '../../../src/translate/status.js';

const T0 = new Date('2025-01-01T00:00:00Z');
const T1 = new Date('2025-01-01T00:05:00Z');
const JOB = 'projects/p/locations/l/jobs/hello-1a2b3c4d';

function resource(
  status?: Drmaa2JobStatus,
  spec: Partial<Drmaa2Job['spec']> = {},
  generation = 1,
): Drmaa2Job {
  return {
    apiVersion: 'drmaa2.io/v1alpha1',
    kind: 'Drmaa2Job',
    metadata: { name: 'hello', namespace: 'team', uid: 'u-1', generation },
    spec: { jobTemplate: { remoteCommand: 'echo' }, ...spec },
    ...(status ? { status } : {}),
  };
}

function batchJob(state: BatchJobState, name = JOB, extra: Partial<Job> = {}): Job {
  return {
    name,
    uid: `uid-${name.slice(-4)}`,
    createTime: '2025-01-01T00:00:01Z',
    updateTime: '2025-01-01T00:00:02Z',
    taskGroups: [{ name: `${name}/taskGroups/group0`, taskCount: 1 }],
    status: { state },
    ...extra,
  };
}

function submitted(jobs: Job[], extra: Partial<Extract<Phase, { kind: 'submitted' }>> = {}): Phase {
  return { kind: 'submitted', jobs, ...extra };
}

function next(phase: Phase, res = resource(), more: Partial<Observation> = {}): Drmaa2JobStatus {
  return nextStatus({ resource: res, phase, now: T0, ...more });
}

function cond(status: Drmaa2JobStatus, type: string) {
  const found = status.conditions?.find((c) => c.type === type);
  assert.ok(found, `condition ${type}`);
  return found;
}

/** status, reason of each condition, for compact expectations. */
function summary(status: Drmaa2JobStatus): Record<string, string> {
  return Object.fromEntries((status.conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason}`]));
}

describe('nextStatus before submission', () => {
  it('pending: Queued / PENDING_SUBMISSION, Submitted=False Pending', () => {
    const status = next({ kind: 'pending' });
    assert.equal(status.state, 'Queued');
    assert.equal(status.subState, 'PENDING_SUBMISSION');
    assert.equal(summary(status).Submitted, 'False/Pending');
    assert.equal(summary(status).Finished, 'False/InProgress');
  });

  it('held: QueuedHeld / HELD, nothing submitted', () => {
    const status = next({ kind: 'held' });
    assert.equal(status.state, 'QueuedHeld');
    assert.equal(status.subState, 'HELD');
    assert.deepEqual(summary(status), {
      Synced: 'True/Reconciled',
      Submitted: 'False/Held',
      Running: 'False/NotRunning',
      Complete: 'False/NotSucceeded',
      Failed: 'False/NoFailure',
      Finished: 'False/InProgress',
    });
    assert.equal(status.batchJob, undefined);
    assert.equal(status.finishedAt, undefined);
  });

  it('waiting for the start time: Queued / PENDING_SUBMISSION with the time in the message', () => {
    const status = next({ kind: 'waiting', until: '2025-01-01T01:00:00Z' });
    assert.equal(status.state, 'Queued');
    assert.equal(status.subState, 'PENDING_SUBMISSION');
    assert.equal(cond(status, 'Submitted').reason, 'WaitingForStartTime');
    assert.match(cond(status, 'Submitted').message, /2025-01-01T01:00:00Z/);
  });

  it('invalid spec: Failed / INVALID_SPEC, Finished=True, the field path in the message', () => {
    const errors = [
      { path: 'spec.jobTemplate.extension.extensionList.spot', message: 'must be true or false' },
    ];
    const status = next({ kind: 'invalid', errors });
    assert.equal(status.state, 'Failed');
    assert.equal(status.subState, 'INVALID_SPEC');
    assert.deepEqual(summary(status), {
      Synced: 'True/Reconciled',
      Submitted: 'False/InvalidSpec',
      Running: 'False/NotRunning',
      Complete: 'False/NotSucceeded',
      Failed: 'True/InvalidSpec',
      Finished: 'True/Failed',
    });
    assert.match(cond(status, 'Failed').message, /spec\.jobTemplate\.extension\.extensionList\.spot/);
    assert.equal(status.finishedAt, '2025-01-01T00:00:00Z');
  });

  for (const [kind, reason, subState] of [
    ['conflict', 'JobNameConflict', 'JOB_NAME_CONFLICT'],
    ['rejected', 'BatchRejected', 'BATCH_REJECTED'],
  ] as const) {
    it(`${kind}: Failed / ${subState} with reason ${reason}`, () => {
      const status = next({ kind, message: 'the reason why' });
      assert.equal(status.state, 'Failed');
      assert.equal(status.subState, subState);
      assert.equal(summary(status).Failed, `True/${reason}`);
      assert.equal(summary(status).Submitted, `False/${reason}`);
      assert.equal(summary(status).Finished, 'True/Failed');
      assert.equal(cond(status, 'Failed').message, 'the reason why');
    });
  }

  it('terminated before submission: Failed / TERMINATED, nothing submitted', () => {
    const status = next({ kind: 'terminated' });
    assert.equal(status.state, 'Failed');
    assert.equal(status.subState, 'TERMINATED');
    assert.equal(summary(status).Failed, 'True/Terminated');
    assert.equal(summary(status).Submitted, 'False/Terminated');
  });
});

describe('nextStatus of a submitted job (docs/state-model.md)', () => {
  const table: [BatchJobState, string, string, string][] = [
    ['STATE_UNSPECIFIED', 'Undetermined', 'False/NotRunning', 'False/InProgress'],
    ['QUEUED', 'Queued', 'False/NotRunning', 'False/InProgress'],
    ['SCHEDULED', 'Queued', 'False/NotRunning', 'False/InProgress'],
    ['RUNNING', 'Running', 'True/TasksRunning', 'False/InProgress'],
    ['CANCELLATION_IN_PROGRESS', 'Running', 'False/NotRunning', 'False/InProgress'],
    ['SUCCEEDED', 'Done', 'False/NotRunning', 'True/Succeeded'],
    ['FAILED', 'Failed', 'False/NotRunning', 'True/Failed'],
    ['CANCELLED', 'Failed', 'False/NotRunning', 'True/Failed'],
  ];
  for (const [batchState, state, running, finished] of table) {
    it(`${batchState} -> ${state}, subState is the Batch state name`, () => {
      const status = next(submitted([batchJob(batchState)]));
      assert.equal(status.state, state);
      assert.equal(status.subState, batchState);
      assert.equal(status.jobInfo?.state, state);
      assert.equal(status.jobInfo?.subState, batchState);
      assert.equal(summary(status).Submitted, 'True/BatchJobCreated');
      assert.equal(summary(status).Running, running);
      assert.equal(summary(status).Finished, finished);
      assert.deepEqual(status.batchJob, { name: JOB, uid: `uid-${JOB.slice(-4)}` });
    });
  }

  it('DELETION_IN_PROGRESS keeps the last known state', () => {
    const status = next(submitted([batchJob('DELETION_IN_PROGRESS')]), resource({ state: 'Done' }));
    assert.equal(status.state, 'Done');
    assert.equal(status.subState, 'DELETION_IN_PROGRESS');
  });

  it('Done: Complete=True, Failed=False, Finished=True/Succeeded, finishedAt set', () => {
    const status = next(submitted([batchJob('SUCCEEDED')]));
    assert.deepEqual(summary(status), {
      Synced: 'True/Reconciled',
      Submitted: 'True/BatchJobCreated',
      Running: 'False/NotRunning',
      Complete: 'True/Succeeded',
      Failed: 'False/NoFailure',
      Finished: 'True/Succeeded',
    });
    assert.equal(status.finishedAt, '2025-01-01T00:00:00Z');
  });

  it('FAILED: Failed=True/TasksFailed', () => {
    const status = next(submitted([batchJob('FAILED')]));
    assert.equal(summary(status).Failed, 'True/TasksFailed');
    assert.equal(summary(status).Complete, 'False/NotSucceeded');
  });

  it('CANCELLED by someone else: Cancelled; after spec.terminate: Terminated', () => {
    assert.equal(summary(next(submitted([batchJob('CANCELLED')]))).Failed, 'True/Cancelled');
    const terminated = next(submitted([batchJob('CANCELLED')]), resource(undefined, { terminate: true }));
    assert.equal(summary(terminated).Failed, 'True/Terminated');
  });

  it('lost: the Batch job vanished before it ended', () => {
    const before = next(submitted([batchJob('RUNNING')]));
    const status = next({ kind: 'lost' }, resource(before));
    assert.equal(status.state, 'Failed');
    assert.equal(status.subState, 'BATCH_JOB_LOST');
    assert.equal(summary(status).Failed, 'True/BatchJobLost');
    assert.equal(status.batchJob?.name, JOB, 'the record of the Batch job is kept');
  });

  it('task counts come from the Batch job', () => {
    const job = batchJob('RUNNING', JOB, {
      taskGroups: [{ name: `${JOB}/taskGroups/group0`, taskCount: 4 }],
      status: {
        state: 'RUNNING',
        taskGroups: { group0: { counts: { RUNNING: 2, SUCCEEDED: 1, PENDING: 1 } } },
      },
    });
    const status = next(submitted([job]));
    assert.equal(status.tasks?.total, 4);
    assert.equal(status.tasks?.running, 2);
    assert.equal(status.tasks?.succeeded, 1);
  });

  it('keeps finishedAt once set, and the TTL deletion mark', () => {
    const done = next(submitted([batchJob('SUCCEEDED')]));
    const deleted = { ...done, batchJob: { ...done.batchJob!, deleted: true } };
    const later = nextStatus({
      resource: resource(deleted),
      phase: submitted([batchJob('SUCCEEDED')]),
      now: T1,
    });
    assert.equal(later.finishedAt, done.finishedAt);
    assert.equal(later.batchJob?.deleted, true);
    const again = nextStatus({
      resource: resource(later),
      phase: submitted([batchJob('SUCCEEDED')]),
      now: T1,
    });
    assert.equal(again.batchJob?.deleted, true);
  });
});

describe('nextStatus of arrays', () => {
  const tasksOf = (states: string[]): Task[] =>
    states.map((state, i) => ({
      name: `${JOB}/taskGroups/group0/tasks/${i}`,
      status: { state } as Task['status'],
    }));

  it('native: per-index results from the tasks, as ranges', () => {
    const array = { begin: 1, step: 2, indexes: [1, 3, 5, 7, 9], mode: 'native' as const };
    const tasks = tasksOf(['SUCCEEDED', 'SUCCEEDED', 'FAILED', 'SUCCEEDED', 'RUNNING']);
    const status = next(submitted([batchJob('RUNNING')], { tasks: [tasks], array }));
    assert.equal(status.array?.completedIndexes, '1,3,7');
    assert.equal(status.array?.failedIndexes, '5');
  });

  it('native without listed tasks keeps the previous per-index results', () => {
    const array = { begin: 1, step: 1, indexes: [1, 2, 3], mode: 'native' as const };
    const previous: Drmaa2JobStatus = {
      state: 'Running',
      array: { completedIndexes: '1-2', failedIndexes: '' },
    };
    const status = next(submitted([batchJob('RUNNING')], { array }), resource(previous));
    assert.deepEqual(status.array, previous.array);
  });

  it('per element: one Batch job per index, combined state, refs and ranges', () => {
    const array = { begin: 10, step: 10, indexes: [10, 20, 30], mode: 'perElement' as const };
    const jobs = [
      batchJob('SUCCEEDED', `${JOB}-10`),
      batchJob('FAILED', `${JOB}-20`),
      batchJob('RUNNING', `${JOB}-30`),
    ];
    const running = next(submitted(jobs, { array }));
    assert.equal(running.state, 'Running');
    assert.equal(running.array?.completedIndexes, '10');
    assert.equal(running.array?.failedIndexes, '20');
    assert.deepEqual(
      running.array?.jobs?.map((j) => j.name),
      jobs.map((j) => j.name),
    );
    assert.equal(running.batchJob?.name, `${JOB}-10`);
    const ended = next(submitted([jobs[0]!, jobs[1]!, batchJob('SUCCEEDED', `${JOB}-30`)], { array }));
    assert.equal(ended.state, 'Failed');
    assert.equal(ended.subState, 'FAILED');
    assert.equal(summary(ended).Failed, 'True/TasksFailed');
    assert.equal(ended.array?.completedIndexes, '10,30');
  });

  it('combinedState', () => {
    assert.equal(combinedState([]), 'Undetermined');
    assert.equal(combinedState(['Queued', 'Queued']), 'Queued');
    assert.equal(combinedState(['Queued', 'Undetermined']), 'Queued');
    assert.equal(combinedState(['Queued', 'Running']), 'Running');
    assert.equal(combinedState(['Queued', 'Done']), 'Running');
    assert.equal(combinedState(['Done', 'Done']), 'Done');
    assert.equal(combinedState(['Done', 'Failed']), 'Failed');
  });
});

describe('conditions', () => {
  it('every condition carries the generation; status.observedGeneration too', () => {
    const status = next({ kind: 'held' }, resource(undefined, {}, 7));
    assert.equal(status.observedGeneration, 7);
    assert.ok(status.conditions!.every((c) => c.observedGeneration === 7));
  });

  it('lastTransitionTime moves only when the status flips', () => {
    const queued = next(submitted([batchJob('QUEUED')]));
    const running = nextStatus({
      resource: resource(queued),
      phase: submitted([batchJob('RUNNING')]),
      now: T1,
    });
    assert.equal(cond(running, 'Running').lastTransitionTime, '2025-01-01T00:05:00Z');
    assert.equal(cond(running, 'Submitted').lastTransitionTime, '2025-01-01T00:00:00Z');
    assert.equal(cond(running, 'Finished').lastTransitionTime, '2025-01-01T00:00:00Z');
  });

  it('a reason change without a status flip keeps the transition time', () => {
    const list = setCondition(
      [],
      { type: 'Synced', status: 'False', reason: 'BatchUnavailable', message: 'a' },
      1,
      T0,
    );
    const after = setCondition(
      list,
      { type: 'Synced', status: 'False', reason: 'BatchQuotaExceeded', message: 'b' },
      1,
      T1,
    );
    assert.equal(after[0]!.lastTransitionTime, '2025-01-01T00:00:00Z');
    assert.equal(after[0]!.reason, 'BatchQuotaExceeded');
  });

  it('conditions are listed in a fixed order', () => {
    const status = next({ kind: 'held' });
    assert.deepEqual(
      status.conditions!.map((c) => c.type),
      ['Synced', 'Submitted', 'Running', 'Complete', 'Failed', 'Finished'],
    );
  });

  it('every reason written is documented in REASONS', () => {
    const phases: Phase[] = [
      { kind: 'pending' },
      { kind: 'held' },
      { kind: 'waiting', until: 'x' },
      { kind: 'invalid', errors: [{ path: 'spec.x', message: 'y' }] },
      { kind: 'conflict', message: 'c' },
      { kind: 'rejected', message: 'r' },
      { kind: 'terminated' },
      { kind: 'lost' },
      { kind: 'policy', errors: [{ path: 'spec.jobTemplate.candidateMachines[0]', message: 'not allowed' }] },
      { kind: 'profileRefused', reason: 'ProfileNotAllowed', message: 'm' },
      { kind: 'profileRefused', reason: 'NoProfile', message: 'm' },
      { kind: 'profileWaiting', reason: 'ProfileNotFound', message: 'm' },
      { kind: 'profileWaiting', reason: 'ProfileAmbiguous', message: 'm' },
      { kind: 'profileWaiting', reason: 'ProfileInvalid', message: 'm' },
      { kind: 'profileWaiting', reason: 'ProfilesUnknown', message: 'm' },
      ...(['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const).map((s) =>
        submitted([batchJob(s)]),
      ),
    ];
    for (const phase of phases) {
      for (const c of next(phase).conditions!) {
        const documented = REASONS[c.type] as Record<string, string>;
        assert.ok(documented[c.reason], `${c.type}/${c.reason} is documented`);
        assert.ok(c.message.length > 0, `${c.type} has a message`);
      }
    }
  });

  it('a sync problem sets Synced=False with its reason; the rest of the status stays', () => {
    const problem = { reason: 'BatchQuotaExceeded' as const, message: 'quota' };
    const status = next(submitted([batchJob('RUNNING')]), resource(), { syncProblem: problem });
    assert.equal(summary(status).Synced, 'False/BatchQuotaExceeded');
    const running = next(submitted([batchJob('RUNNING')]));
    const marked = withSyncProblem(resource(running), problem, T1);
    assert.equal(summary(marked).Synced, 'False/BatchQuotaExceeded');
    assert.equal(marked.state, 'Running');
    assert.deepEqual(
      marked.conditions!.filter((c) => c.type !== 'Synced'),
      running.conditions!.filter((c) => c.type !== 'Synced'),
    );
  });

  it('resynced stamps the new generation and Synced=True on an ended job', () => {
    const done = next(submitted([batchJob('SUCCEEDED')]));
    const status = resynced(resource(done, {}, 2), T1);
    assert.equal(status.observedGeneration, 2);
    assert.equal(summary(status).Synced, 'True/Reconciled');
    assert.equal(status.state, 'Done');
  });
});

describe('status diff', () => {
  it('the same observation twice gives no patch', () => {
    const first = next(submitted([batchJob('RUNNING')]));
    const second = nextStatus({
      resource: resource(first),
      phase: submitted([batchJob('RUNNING')]),
      now: T1,
    });
    assert.ok(statusEqual(first, second));
    assert.equal(statusPatch(first, second), undefined);
  });

  it('a change gives only the changed fields, and null for removed ones', () => {
    const before: Drmaa2JobStatus = {
      state: 'Failed',
      subState: 'JOB_NAME_CONFLICT',
      finishedAt: 'x',
      observedGeneration: 1,
    };
    const after: Drmaa2JobStatus = { state: 'QueuedHeld', subState: 'HELD', observedGeneration: 1 };
    assert.deepEqual(statusPatch(before, after), { state: 'QueuedHeld', subState: 'HELD', finishedAt: null });
  });

  it('nested objects are patched member by member; lists whole', () => {
    const before: Drmaa2JobStatus = {
      batchJob: { name: 'a', uid: 'u' },
      tasks: { total: 1, pending: 1, running: 0, succeeded: 0, failed: 0 },
    };
    const after: Drmaa2JobStatus = { batchJob: { name: 'a', uid: 'u', deleted: true }, tasks: before.tasks! };
    assert.deepEqual(statusPatch(before, after), { batchJob: { deleted: true } });
  });

  it('key order and undefined members do not count as changes', () => {
    assert.ok(
      statusEqual(
        { state: 'Done', subState: 'SUCCEEDED' },
        { subState: 'SUCCEEDED', state: 'Done', jobInfo: undefined },
      ),
    );
  });

  const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.integer(),
      fc.string({ maxLength: 3 }),
      fc.boolean(),
      fc.array(tie('value'), { maxLength: 3 }),
      tie('object'),
    ),
    object: fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), tie('value'), { maxKeys: 4 }),
  })).object;

  it('applying the patch to the old status gives the new one (RFC 7386)', () => {
    fc.assert(
      fc.property(json, json, (a, b) => {
        const patch = statusPatch(a as Drmaa2JobStatus, b as Drmaa2JobStatus);
        const result = patch === undefined ? a : applyMergePatch(a, patch);
        assert.ok(statusEqual(result as Drmaa2JobStatus, b as Drmaa2JobStatus));
        assert.equal(patch === undefined, statusEqual(a as Drmaa2JobStatus, b as Drmaa2JobStatus));
      }),
    );
  });
});

describe("Batch's own words in the status", () => {
  const quota =
    'CODE_GCE_QUOTA_EXCEEDED: Instance creation failed: Quota CPUS exceeded. Limit: 24.0 in region us-central1.';
  const withEvents = (state: BatchJobState, ...descriptions: string[]) =>
    batchJob(state, JOB, {
      status: {
        state,
        statusEvents: descriptions.map((description, i) => ({
          type: 'STATUS_CHANGED',
          description,
          eventTime: `2025-01-01T00:00:0${i}Z`,
        })),
      },
    });

  it('a job that waits says why, with the newest Batch status event, in Running and status.message', () => {
    const status = next(
      submitted([withEvents('SCHEDULED', 'Job state is set from QUEUED to SCHEDULED for job j.', quota)]),
    );
    assert.equal(status.state, 'Queued');
    assert.equal(cond(status, 'Running').message, `The Batch job is SCHEDULED. Batch: ${quota}`);
    assert.equal(status.message, cond(status, 'Running').message);
  });

  it('a job that failed before any task ran: Batch reason, no made-up exit status', () => {
    const invalid =
      'Job state is set from SCHEDULED to FAILED for job j. CODE_GCE_INVALID_FIELD_VALUE: Invalid value for field machineType.';
    const status = next(submitted([withEvents('FAILED', invalid)], { tasks: [[]] }));
    assert.equal(status.state, 'Failed');
    assert.equal(status.jobInfo?.exitStatus, undefined);
    const failed = cond(status, 'Failed');
    assert.equal(failed.reason, 'TasksFailed');
    assert.equal(failed.message, `The Batch job failed (no task reported an exit code). Batch: ${invalid}`);
    assert.equal(status.message, failed.message);
  });

  it('a failed task: its exit code and what Batch said', () => {
    const said = 'Job state is set from RUNNING to FAILED for job j. Job failed due to task failure.';
    const task: Task = {
      name: `${JOB}/taskGroups/group0/tasks/0`,
      status: {
        state: 'FAILED',
        statusEvents: [{ taskState: 'FAILED', taskExecution: { exitCode: 3 }, description: 'Task failed' }],
      },
    };
    const status = next(submitted([withEvents('FAILED', said)], { tasks: [[task]] }));
    assert.equal(cond(status, 'Failed').message, `The Batch job failed (exit status 3). Batch: ${said}`);
  });

  it('running and done jobs carry no status.message; it goes when the job runs', () => {
    const waiting = next(submitted([withEvents('SCHEDULED', quota)]));
    assert.ok(waiting.message);
    const running = next(submitted([withEvents('RUNNING', quota)]), resource(waiting));
    assert.equal(running.message, undefined);
    assert.equal(next(submitted([batchJob('SUCCEEDED')])).message, undefined);
  });

  it('preemptions are counted from listed tasks and never go back when a pass lists none', () => {
    const preempted: Task = {
      name: `${JOB}/taskGroups/group0/tasks/0`,
      status: {
        state: 'RUNNING',
        statusEvents: [{ taskState: 'FAILED', taskExecution: { exitCode: 50001 }, description: 'preempted' }],
      },
    };
    const first = next(submitted([batchJob('RUNNING')], { tasks: [[preempted]] }));
    assert.equal(first.preemptions, 1);
    assert.equal(first.jobInfo?.extension?.extensionList?.preemptions, '1');
    const later = next(submitted([batchJob('RUNNING')]), resource(first));
    assert.equal(later.preemptions, 1);
    assert.equal(later.jobInfo?.extension?.extensionList?.preemptions, '1');
  });
});

describe('a job SCHEDULED for long with nothing said', () => {
  const scheduledAt = '2025-01-01T00:00:00Z';
  const job = batchJob('SCHEDULED', JOB, {
    status: {
      state: 'SCHEDULED',
      statusEvents: [
        { description: `Job state is set from QUEUED to SCHEDULED for job ${JOB}.`, eventTime: scheduledAt },
      ],
    },
  });
  it('gets a hint about the VM service account after ten minutes, not before', () => {
    const early = nextStatus({
      resource: resource(),
      phase: submitted([job]),
      now: new Date('2025-01-01T00:09:00Z'),
    });
    assert.doesNotMatch(cond(early, 'Running').message, /service account/);
    const late = nextStatus({
      resource: resource(),
      phase: submitted([job]),
      now: new Date('2025-01-01T00:12:00Z'),
    });
    assert.match(
      cond(late, 'Running').message,
      /No VM has reported for over 10 minutes since 2025-01-01T00:00:00Z: .*roles\/batch\.agentReporter/,
    );
    assert.match(late.message ?? '', /service account/);
  });
});

describe('the run time in jobInfo', () => {
  it('is written when the state changes and at the end, not each time it moved', () => {
    const running = (seconds: number, state: BatchJobState = 'RUNNING') =>
      submitted([batchJob(state, JOB, { status: { state, runDuration: `${seconds}s` } })]);
    const first = next(running(5));
    assert.equal(first.jobInfo?.wallclockTime, '5s');
    const later = next(running(3600), resource(first));
    assert.equal(later.jobInfo?.wallclockTime, '5s', 'still running: as written when it started');
    assert.equal(statusPatch(first, later), undefined, 'nothing to write');
    const ended = next(running(3700, 'SUCCEEDED'), resource(later));
    assert.equal(ended.jobInfo?.wallclockTime, '1h1m40s');
  });
});
