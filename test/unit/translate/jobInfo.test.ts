// Batch Job -> DRMAA2: the state table for every Batch state, JobInfo from status events and tasks, task
// counts, array results and Go durations; nothing here may throw on a job with parts missing.
import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import type { Job, Task } from '../../../src/api/batch.js';
import { BATCH_JOB_STATES } from '../../../src/api/batch.js';
import { JOB_STATES } from '../../../src/api/drmaa2.js';
import {
  arrayResults,
  formatDuration,
  formatIndexRanges,
  jobInfoOf,
  jobStateOf,
  parseGoDuration,
  taskCountsOf,
  templateOf,
} from '../../../src/translate/index.js';
import { preemptionsOf } from '../../../src/translate/jobInfo.js';
import { busybox, only } from './helpers.js';

const event = (description: string, eventTime: string, extra: object = {}) => ({
  type: 'STATUS_CHANGED',
  description,
  eventTime,
  ...extra,
});

describe('jobStateOf', () => {
  it('maps every Batch state, with the Batch name as subState', () => {
    const table = {
      STATE_UNSPECIFIED: 'Undetermined',
      QUEUED: 'Queued',
      SCHEDULED: 'Queued',
      RUNNING: 'Running',
      SUCCEEDED: 'Done',
      FAILED: 'Failed',
      DELETION_IN_PROGRESS: 'Undetermined',
      CANCELLATION_IN_PROGRESS: 'Running',
      CANCELLED: 'Failed',
    } as const;
    assert.deepEqual(Object.keys(table).sort(), [...BATCH_JOB_STATES].sort());
    for (const state of BATCH_JOB_STATES)
      assert.deepEqual(jobStateOf({ status: { state } }), { state: table[state], subState: state }, state);
  });

  it('deletion keeps the last known state; only deletion looks at it', () => {
    for (const last of JOB_STATES) {
      assert.equal(jobStateOf({ status: { state: 'DELETION_IN_PROGRESS' } }, last).state, last);
      assert.equal(jobStateOf({ status: { state: 'SUCCEEDED' } }, last).state, 'Done');
    }
  });

  it('a missing status or an unknown state is Undetermined', () => {
    assert.deepEqual(jobStateOf({}), { state: 'Undetermined', subState: 'STATE_UNSPECIFIED' });
    assert.equal(jobStateOf({ status: { state: 'PAUSED' as never } }).state, 'Undetermined');
  });
});

describe('jobInfoOf', () => {
  const submitted = only({ accountingString: 'team-a', machineArch: 'Intel Ice Lake' }).job;
  const job = (status: Job['status'], extra: Partial<Job> = {}): Job => ({
    ...submitted,
    name: 'projects/p/locations/l/jobs/j',
    uid: 'j-uid',
    createTime: '2025-01-01T00:00:00Z',
    status,
    ...extra,
  });

  it('reads times from status events, wallclock from runDuration, and the submitted job', () => {
    const info = jobInfoOf(
      job({
        state: 'SUCCEEDED',
        runDuration: '90.25s',
        statusEvents: [
          event('Job state is set from QUEUED to SCHEDULED for job j.', '2025-01-01T00:00:01Z'),
          event('Job state is set from SCHEDULED to RUNNING for job j.', '2025-01-01T00:00:10Z'),
          event('Job state is set from RUNNING to SUCCEEDED for job j.', '2025-01-01T00:01:40Z'),
        ],
      }),
    );
    assert.equal(info.id, 'projects/p/locations/l/jobs/j');
    assert.equal(info.state, 'Done');
    assert.equal(info.subState, 'SUCCEEDED');
    assert.equal(info.exitStatus, 0);
    assert.equal(info.submissionTime, '2025-01-01T00:00:00Z');
    assert.equal(info.dispatchTime, '2025-01-01T00:00:10Z');
    assert.equal(info.finishTime, '2025-01-01T00:01:40Z');
    assert.equal(info.wallclockTime, '1m30.25s');
    assert.equal(info.annotation, 'team-a');
    assert.equal(info.slots, 1);
    assert.deepEqual(info.allocatedMachines, ['n2-standard-2']);
    const ext = info.extension!.extensionList!;
    assert.equal(ext.uid, 'j-uid');
    assert.equal(ext.min_cpu_platform, 'Intel Ice Lake');
    assert.equal(
      ext.jobtemplate_base64,
      submitted.taskGroups![0]!.taskSpec!.environment!.variables!.DRMAA2_JOB_TEMPLATE,
    );
  });

  it('without the SCHEDULED to RUNNING event, dispatch is the first move to RUNNING', () => {
    const info = jobInfoOf(
      job({
        state: 'RUNNING',
        statusEvents: [
          event('Job state is set from QUEUED to RUNNING for job j.', '2025-01-01T00:00:03Z'),
          event('Job state is set from RUNNING to RUNNING for job j.', '2025-01-01T00:00:09Z'),
        ],
      }),
    );
    assert.equal(info.dispatchTime, '2025-01-01T00:00:03Z');
    assert.equal(info.finishTime, undefined, 'not finished while running');
  });

  it('a job that fails before running has a finish time from its terminal transition', () => {
    const info = jobInfoOf(
      job({
        state: 'FAILED',
        statusEvents: [event('Job state is set from QUEUED to FAILED.', '2025-01-01T00:00:04Z')],
      }),
    );
    assert.equal(info.dispatchTime, undefined);
    assert.equal(info.finishTime, '2025-01-01T00:00:04Z');
    assert.equal(info.exitStatus, undefined, 'no task ran: no made-up exit status');
    assert.equal(info.extension?.extensionList?.batch_reason, 'Job state is set from QUEUED to FAILED.');
  });

  it("Batch's reason is its newest job event, bounded", () => {
    const long = `Job state is set from SCHEDULED to FAILED. ${'CODE_GCE_INVALID_FIELD_VALUE '.repeat(100)}`;
    const info = jobInfoOf(job({ state: 'FAILED', statusEvents: [event(long, '2025-01-01T00:00:04Z')] }));
    const reason = info.extension!.extensionList!.batch_reason!;
    assert.equal(reason.length, 1024);
    assert.ok(reason.endsWith('...'));
    assert.equal(jobInfoOf(job({ state: 'SUCCEEDED' })).extension?.extensionList?.batch_reason, undefined);
  });

  it('a bare transition defers to what Batch said before it, in the state the job just left', () => {
    const invalid =
      'Job gets non-retryable information Batch Error: code - CODE_GCE_INVALID_FIELD_VALUE, description - x';
    const events = [
      event(
        'Job state is set from QUEUED to SCHEDULED for job projects/p/locations/l/jobs/j.',
        '2025-01-01T00:00:01Z',
      ),
      event(invalid, '2025-01-01T00:00:02Z'),
      event(
        'Job state is set from SCHEDULED to FAILED for job projects/p/locations/l/jobs/j.',
        '2025-01-01T00:00:03Z',
      ),
    ];
    const reason = (list: typeof events) =>
      jobInfoOf(job({ state: 'FAILED', statusEvents: list })).extension?.extensionList?.batch_reason;
    assert.equal(reason(events), invalid);
    // Nothing said since the transition before: the transition itself.
    assert.equal(reason([events[1]!, events[0]!, events[2]!]), events[2]!.description);
    // A transition that explains itself is taken as it is.
    const explained = `${events[2]!.description}Job failed due to task failure. Specifically, task with index 0 failed`;
    assert.equal(reason([...events.slice(0, 2), event(explained, '2025-01-01T00:00:03Z')]), explained);
  });

  it('counts preemptions (exit code 50001) over all task attempts', () => {
    const preempted = (at: string) =>
      event('Task state is updated from RUNNING to FAILED with exit code 50001.', at, {
        taskState: 'FAILED',
        taskExecution: { exitCode: 50001 },
      });
    const tasks: Task[] = [
      {
        name: 'j/taskGroups/group0/tasks/0',
        status: {
          state: 'SUCCEEDED',
          statusEvents: [preempted('2025-01-01T00:00:10Z'), preempted('2025-01-01T00:00:20Z')],
        },
      },
      { name: 'j/taskGroups/group0/tasks/1', status: { state: 'SUCCEEDED', statusEvents: [] } },
    ];
    assert.equal(preemptionsOf(tasks), 2);
    assert.equal(jobInfoOf(job({ state: 'SUCCEEDED' }), tasks).extension?.extensionList?.preemptions, '2');
    assert.equal(preemptionsOf(undefined), 0);
  });

  it('the exit status is the failed task exit code when tasks are given', () => {
    const tasks: Task[] = [
      { name: 'j/taskGroups/group0/tasks/0', status: { state: 'SUCCEEDED' } },
      {
        name: 'j/taskGroups/group0/tasks/1',
        status: {
          state: 'FAILED',
          statusEvents: [
            event('Task state is updated from RUNNING to FAILED', '2025-01-01T00:00:30Z', {
              taskState: 'FAILED',
              taskExecution: { exitCode: 42 },
            }),
          ],
        },
      },
    ];
    assert.equal(jobInfoOf(job({ state: 'FAILED' }), tasks).exitStatus, 42);
    assert.equal(jobInfoOf(job({ state: 'FAILED' }), []).exitStatus, undefined, 'no task failed');
    assert.equal(jobInfoOf(job({ state: 'CANCELLED' })).exitStatus, undefined);
    assert.equal(jobInfoOf(job({ state: 'RUNNING' }), tasks).exitStatus, 0);
    const lost: Task = { name: 'j/taskGroups/group0/tasks/0', status: { state: 'FAILED' } };
    assert.equal(jobInfoOf(job({ state: 'FAILED' }), [lost]).exitStatus, 1, 'failed without a code');
  });

  it('exit codes come from tasks only, never from job-level events', () => {
    // The proto defines taskExecution for task-level events alone; a job event carrying one is not read.
    const failed = job({
      state: 'FAILED',
      statusEvents: [
        event('Job state is set from RUNNING to FAILED for job j.', '2025-01-01T00:00:30Z', {
          taskState: 'FAILED',
          taskExecution: { exitCode: 7 },
        }),
      ],
    });
    assert.equal(jobInfoOf(failed).exitStatus, undefined);
  });

  it('deletion reports the last known state', () => {
    assert.equal(jobInfoOf(job({ state: 'DELETION_IN_PROGRESS' }), undefined, 'Failed').state, 'Failed');
  });

  it('an instance template has no machine type to report', () => {
    const info = jobInfoOf(
      job({ state: 'QUEUED' }, { allocationPolicy: { instances: [{ instanceTemplate: 't' }] } }),
    );
    assert.deepEqual(info.allocatedMachines, ['unknown']);
    assert.equal(info.extension!.extensionList!.min_cpu_platform, undefined);
  });

  it('does not throw on a job with nothing in it', () => {
    for (const bare of [
      {},
      { status: {} },
      { taskGroups: [] },
      { status: { statusEvents: [{}] } },
    ] as Job[]) {
      const info = jobInfoOf(bare);
      assert.equal(info.state, 'Undetermined');
      assert.equal(info.wallclockTime, '0s');
    }
  });
});

describe('templateOf', () => {
  it('decodes the template the job was submitted with', () => {
    const template = {
      ...busybox,
      jobEnvironment: { A: 'b' },
      extension: { extensionList: { spot: 'true' } },
    };
    assert.deepEqual(templateOf(only(template).job), template);
  });

  it('is undefined without the variable or with a broken one', () => {
    assert.equal(templateOf({}), undefined);
    const broken: Job = {
      taskGroups: [{ taskSpec: { environment: { variables: { DRMAA2_JOB_TEMPLATE: 'e30' } } } }],
    };
    assert.deepEqual(templateOf(broken), {});
    broken.taskGroups![0]!.taskSpec!.environment!.variables!.DRMAA2_JOB_TEMPLATE = '!!!';
    assert.equal(templateOf(broken), undefined);
  });
});

describe('taskCountsOf', () => {
  it('sums the groups: pending includes assigned; total is the task count', () => {
    const job: Job = {
      taskGroups: [{ taskCount: 10 }],
      status: {
        taskGroups: {
          'projects/p/locations/l/jobs/j/taskGroups/group0': {
            counts: { PENDING: 2, ASSIGNED: 1, RUNNING: 3, SUCCEEDED: 3, FAILED: 1 },
          },
        },
      },
    };
    assert.deepEqual(taskCountsOf(job), { total: 10, pending: 3, running: 3, succeeded: 3, failed: 1 });
    assert.deepEqual(taskCountsOf({}), { total: 0, pending: 0, running: 0, succeeded: 0, failed: 0 });
  });
});

describe('array results', () => {
  it('formats index ranges', () => {
    assert.equal(formatIndexRanges([1, 2, 3, 7]), '1-3,7');
    assert.equal(formatIndexRanges([9, 8, 8, -1, 0]), '-1-0,8-9');
    assert.equal(formatIndexRanges([5]), '5');
    assert.equal(formatIndexRanges([]), '');
  });

  it('maps task i to begin + i*step by the last segment of the task name', () => {
    const tasks: Task[] = [
      { name: 'j/taskGroups/group0/tasks/2', status: { state: 'FAILED' } },
      { name: 'j/taskGroups/group0/tasks/0', status: { state: 'SUCCEEDED' } },
      { name: 'j/taskGroups/group0/tasks/1', status: { state: 'SUCCEEDED' } },
      { name: 'j/taskGroups/group0/tasks/3', status: { state: 'RUNNING' } },
      { name: 'j/taskGroups/group0/tasks/x', status: { state: 'SUCCEEDED' } },
      { status: { state: 'FAILED' } },
    ];
    assert.deepEqual(arrayResults(tasks, { begin: 1, step: 1 }), {
      completedIndexes: '1-2',
      failedIndexes: '3',
    });
    assert.deepEqual(arrayResults(tasks, { begin: 10, step: 3 }), {
      completedIndexes: '10,13',
      failedIndexes: '16',
    });
  });
});

describe('Go durations', () => {
  it('formats like Go', () => {
    const table: [number, string][] = [
      [0, '0s'],
      [0.5, '500ms'],
      [0.0015, '1.5ms'],
      [2e-6, '2µs'],
      [1e-7, '100ns'],
      [61, '1m1s'],
      [3600, '1h0m0s'],
      [3723.5, '1h2m3.5s'],
      [-90, '-1m30s'],
    ];
    for (const [seconds, text] of table) assert.equal(formatDuration(seconds), text, String(seconds));
  });

  it('parses Go syntax and nothing else', () => {
    const table: [string, number | undefined][] = [
      ['1h30m', 5400],
      ['1h2m3.5s', 3723.5],
      ['1.5h', 5400],
      ['300ms', 0.3],
      ['2us', 2e-6],
      ['2µs', 2e-6],
      ['-1m', -60],
      ['+2s', 2],
      ['.5s', 0.5],
      ['0', 0],
      ['', undefined],
      ['5', undefined],
      ['1d', undefined],
      ['3 days', undefined],
      ['1h-1m', undefined],
    ];
    for (const [text, seconds] of table) {
      const parsed = parseGoDuration(text);
      if (seconds === undefined) assert.equal(parsed, undefined, text);
      else assert.ok(parsed !== undefined && Math.abs(parsed - seconds) < 1e-12, `${text} -> ${parsed}`);
    }
    assert.equal(parseGoDuration(42 as never), undefined);
  });

  it('round-trips whole seconds', () => {
    for (const seconds of [1, 59, 60, 3599, 3600, 86_399, 90_061])
      assert.equal(parseGoDuration(formatDuration(seconds)), seconds);
  });
});
