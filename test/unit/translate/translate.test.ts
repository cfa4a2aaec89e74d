// The translation core: the worked example of the original library, each rule with its error path, the
// state table for every Batch state (rules one by one, and random templates, have their own files).
import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import type { BatchJobState, Job, Task } from '../../../src/api/batch.js';
import { BATCH_JOB_STATES } from '../../../src/api/batch.js';
import type { Drmaa2JobSpec } from '../../../src/api/drmaa2job.js';
import {
  arrayResults,
  formatDuration,
  formatIndexRanges,
  jobInfoOf,
  jobStateOf,
  parseGoDuration,
  templateOf,
  translateSpec,
  type SubmitContext,
} from '../../../src/translate/index.js';

const ctx: SubmitContext = {
  project: 'p',
  location: 'us-central1',
  session: 'testsession',
  owner: { namespace: 'team', name: 'hello.world', uid: '6c1f1c52-9d7a-4f7e-8b5e-0a1b2c3d4e5f' },
};

function translate(spec: Partial<Drmaa2JobSpec> & { jobTemplate: Record<string, unknown> }) {
  return translateSpec(spec as Drmaa2JobSpec, ctx);
}

function ok(spec: Parameters<typeof translate>[0]) {
  const result = translate(spec);
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  return result.submission;
}

function errorsOf(spec: Parameters<typeof translate>[0]): string[] {
  const result = translate(spec);
  assert.ok(!result.ok, 'expected errors');
  return result.errors.map((e) => `${e.path}: ${e.message}`);
}

const busybox = {
  remoteCommand: '/bin/sleep',
  args: ['1'],
  jobCategory: 'busybox',
  candidateMachines: ['n2-standard-2'],
};

describe('JobTemplate -> CreateJobRequest', () => {
  it("reproduces the original library's worked example (busybox /bin/sleep 1 on n2-standard-2), with safe containers for a single-node job", () => {
    const { requests } = ok({ jobTemplate: busybox });
    assert.equal(requests.length, 1);
    const r = requests[0]!;
    assert.equal(r.parent, 'projects/p/locations/us-central1');
    assert.match(r.jobId, /^hello-world-[0-9a-f]{8}$/);
    assert.match(r.requestId!, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const group = r.job.taskGroups![0]!;
    assert.equal(group.taskCount, 1);
    assert.equal(group.parallelism, 1);
    assert.equal(group.taskCountPerNode, 1);
    assert.equal(group.requireHostsFile, undefined, 'no hosts file for one task');
    assert.equal(group.permissiveSsh, undefined, 'no ssh between VMs for one task');
    const spec = group.taskSpec!;
    assert.deepEqual(spec.computeResource, { cpuMilli: 2000, bootDiskMib: 51200 });
    assert.deepEqual(
      spec.runnables!.map((x) => Object.keys(x).find((k) => ['barrier', 'script', 'container'].includes(k))),
      ['script', 'container'],
      'no barriers for one task',
    );
    assert.equal(spec.runnables![0]!.script!.text, '#!/bin/sh\n');
    const container = spec.runnables![1]!.container!;
    assert.equal(container.imageUri, 'busybox');
    assert.equal(container.entrypoint, '/bin/sleep');
    assert.deepEqual(container.commands, ['1']);
    assert.equal(container.options, undefined, 'no host namespaces or --privileged for one node');
    assert.equal(container.volumes, undefined, 'no host ssh keys mounted for one node');
    const decoded = JSON.parse(
      Buffer.from(spec.environment!.variables!.DRMAA2_JOB_TEMPLATE!, 'base64').toString(),
    );
    assert.deepEqual(decoded, busybox, 'the template as given, so it decodes back to the same spec');
    assert.deepEqual(r.job.allocationPolicy!.instances, [
      { policy: { machineType: 'n2-standard-2', provisioningModel: 'STANDARD' }, installGpuDrivers: false },
    ]);
    assert.equal(r.job.labels!.drmaa2session, 'testsession');
    assert.equal(r.job.labels!.accounting, '');
    assert.equal(r.job.labels!['drmaa2-uid'], ctx.owner!.uid);
    assert.equal(r.job.labels!['drmaa2-name'], 'hello-world');
    assert.deepEqual(r.job.logsPolicy, { destination: 'CLOUD_LOGGING' });
  });

  it('MPI over ssh: 4 slots get host namespaces, ssh mounts, barriers, prolog and epilog', () => {
    const { requests } = ok({
      jobTemplate: {
        remoteCommand: '/bin/sh',
        args: ['-c', 'mpirun'],
        jobCategory: 'ucdagru/bssh',
        candidateMachines: ['e2-standard-4'],
        minSlots: 4,
        maxSlots: 4,
        priority: 50,
        resourceLimits: { bootdiskmib: '10000', runtime: '15m' },
        extension: { extensionList: { prolog: 'echo pro', epilog: 'echo epi' } },
      },
    });
    const group = requests[0]!.job.taskGroups![0]!;
    assert.equal(group.taskCount, 4);
    assert.equal(group.parallelism, 4);
    assert.equal(group.requireHostsFile, true);
    assert.equal(group.permissiveSsh, true);
    const runnables = group.taskSpec!.runnables!;
    assert.equal(runnables.length, 6);
    assert.equal(runnables[4]!.barrier!.name, 'after_job_barrier');
    assert.equal(runnables[5]!.alwaysRun, true);
    assert.match(runnables[3]!.container!.options!, /--network=host.*--privileged/);
    assert.ok(runnables[3]!.container!.volumes!.includes('/root/.ssh:/root/.ssh'));
    assert.equal(group.taskSpec!.maxRunDuration, '900s');
    assert.deepEqual(group.taskSpec!.computeResource, { cpuMilli: 4000, bootDiskMib: 10000 });
    assert.equal(requests[0]!.job.priority, 50);
  });

  it('script job with spot, prolog, cpumilli and runtime; no barriers when minSlots < maxSlots', () => {
    const { requests } = ok({
      jobTemplate: {
        remoteCommand: 'echo hi',
        jobCategory: '$script$',
        candidateMachines: ['e2-standard-4'],
        minSlots: 1,
        maxSlots: 2,
        resourceLimits: { cpumilli: '4000', runtime: '3m' },
        extension: { extensionList: { spot: 'true', prolog: 'echo pre' } },
      },
    });
    const group = requests[0]!.job.taskGroups![0]!;
    assert.equal(group.taskCount, 2);
    assert.equal(group.parallelism, 1);
    assert.deepEqual(
      group.taskSpec!.runnables!.map((r) => r.script?.text),
      ['echo pre', 'echo hi'],
    );
    assert.equal(requests[0]!.job.allocationPolicy!.instances![0]!.policy!.provisioningModel, 'SPOT');
    assert.equal(group.taskSpec!.maxRunDuration, '180s');
  });

  it('BLAST container with stage-out: a GCS volume, a bind mount and the bucket to ensure', () => {
    const sub = ok({
      jobTemplate: {
        remoteCommand: '/bin/bash',
        args: ['-c', 'blastn -version > /host/out'],
        jobCategory: 'biocontainers/blast:2.2.31',
        candidateMachines: ['e2-standard-4'],
        stageOutFiles: { '/host': 'gs://my-results' },
        extension: { extensionList: { spot: 'true' } },
      },
    });
    assert.deepEqual(sub.buckets, ['my-results']);
    const spec = sub.requests[0]!.job.taskGroups![0]!.taskSpec!;
    assert.deepEqual(spec.volumes, [{ gcs: { remotePath: 'my-results' }, mountPath: '/host' }]);
    assert.deepEqual(spec.runnables![1]!.container!.volumes, ['/host:/host']);
  });

  it('a native array: one job, TASK_ID per task, parallelism = maxParallel, no barriers', () => {
    const sub = ok({ jobTemplate: { ...busybox }, array: { begin: 2, end: 10, step: 4, maxParallel: 2 } });
    assert.equal(sub.requests.length, 1);
    const group = sub.requests[0]!.job.taskGroups![0]!;
    assert.deepEqual(
      group.taskEnvironments!.map((e) => e.variables!.TASK_ID),
      ['2', '6', '10'],
    );
    assert.equal(group.taskCount, 3);
    assert.equal(group.parallelism, 2);
    assert.ok(!group.taskSpec!.runnables!.some((r) => r.barrier));
    assert.equal(sub.array?.mode, 'native');
  });

  it('an array of multi-task elements falls back to one job per element', () => {
    const sub = ok({ jobTemplate: { ...busybox, minSlots: 2, maxSlots: 2 }, array: { begin: 1, end: 3 } });
    assert.equal(sub.requests.length, 3);
    assert.equal(new Set(sub.requests.map((r) => r.jobId)).size, 3);
    assert.deepEqual(
      sub.requests.map((r) => r.job.taskGroups![0]!.taskSpec!.environment!.variables!.TASK_ID),
      ['1', '2', '3'],
    );
  });

  it('rejects bad input with the path of the field', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { extension: { extensionList: { accelerators: 'two*gpu' } } },
        /^spec\.jobTemplate\.extension\.extensionList\.accelerators: expected N\*type such as 1\*nvidia-tesla-t4 \(or a bare type for one\), got "two\*gpu"$/,
      ],
      [{ extension: { extensionList: { spot: 'maybe' } } }, /extensionList\.spot: expected a boolean/],
      [
        { extension: { extensionList: { tasks_per_node: '0' } } },
        /tasks_per_node: expected a positive integer/,
      ],
      [{ extension: { extensionList: { secret_env: '%%%' } } }, /secret_env: expected base64/],
      [
        { jobCategory: '$script$', extension: { extensionList: { docker_options: '--x' } } },
        /docker_options: docker options need a container/,
      ],
      [{ minSlots: 3, maxSlots: 2 }, /spec\.jobTemplate\.minSlots: minSlots \(3\) must not exceed/],
      [{ candidateMachines: [] }, /spec\.jobTemplate\.candidateMachines: required/],
      [{ jobName: 'Bad_Name' }, /spec\.jobTemplate\.jobName: must be/],
      [{ resourceLimits: { runtime: '3 days' } }, /resourceLimits\.runtime: expected a duration/],
      [{ accountingString: 'Team A' }, /accountingString: must be a Batch label value/],
      [{ stageInFiles: { '/d': 'ftp://x' } }, /stageInFiles\["\/d"\]: unsupported source/],
      [{ stageOutFiles: { '/d': 'nfs:a:/b' } }, /stageOutFiles\["\/d"\]: stage-out destinations must be gs:/],
      [{ minSlots: 'two' }, /spec\.jobTemplate\.minSlots: expected a non-negative integer/],
    ];
    for (const [change, pattern] of cases) {
      const errors = errorsOf({ jobTemplate: { ...busybox, ...change } });
      assert.ok(
        errors.some((e) => pattern.test(e)),
        `${JSON.stringify(change)} -> ${errors.join(' | ')}`,
      );
    }
    assert.match(
      errorsOf({ jobTemplate: busybox, array: { begin: 1, end: 3, step: 0 } }).join(),
      /spec\.array\.step: must be greater than 0/,
    );
  });

  it('warns about fields Batch cannot honour', () => {
    const sub = ok({
      jobTemplate: {
        ...busybox,
        queueName: 'q',
        email: ['a@b'],
        extension: { extensionList: { colour: 'red' } },
      },
    });
    const paths = sub.warnings.map((w) => w.path);
    assert.ok(paths.includes('spec.jobTemplate.queueName'));
    assert.ok(paths.includes('spec.jobTemplate.email'));
    assert.ok(paths.includes('spec.jobTemplate.extension.extensionList.colour'));
  });
});

describe('Batch Job -> DRMAA2', () => {
  it('maps every Batch state', () => {
    const expected: Record<BatchJobState, string> = {
      STATE_UNSPECIFIED: 'Undetermined',
      QUEUED: 'Queued',
      SCHEDULED: 'Queued',
      RUNNING: 'Running',
      SUCCEEDED: 'Done',
      FAILED: 'Failed',
      DELETION_IN_PROGRESS: 'Done',
      CANCELLATION_IN_PROGRESS: 'Running',
      CANCELLED: 'Failed',
    };
    for (const state of BATCH_JOB_STATES) {
      const mapped = jobStateOf({ status: { state } }, 'Done');
      assert.equal(mapped.state, expected[state], state);
      assert.equal(mapped.subState, state);
    }
    assert.equal(jobStateOf({ status: { state: 'DELETION_IN_PROGRESS' } }).state, 'Undetermined');
  });

  it('JobInfo: exit code of the failed task, times from status events, wallclock, template', () => {
    const { requests } = ok({ jobTemplate: { ...busybox, accountingString: 'team-a' } });
    const job: Job = {
      ...requests[0]!.job,
      name: 'projects/p/locations/l/jobs/x',
      uid: 'u-1',
      createTime: '2025-01-01T00:00:00.000Z',
      status: {
        state: 'FAILED',
        runDuration: '3723.5s',
        statusEvents: [
          {
            type: 'STATUS_CHANGED',
            description: 'Job state is set from SCHEDULED to RUNNING for job x.',
            eventTime: '2025-01-01T00:00:05.000Z',
          },
          {
            type: 'STATUS_CHANGED',
            description: 'Job state is set from RUNNING to FAILED for job x.',
            eventTime: '2025-01-01T01:02:08.000Z',
          },
        ],
      },
    };
    const tasks: Task[] = [
      {
        name: 'projects/p/locations/l/jobs/x/taskGroups/group0/tasks/0',
        status: {
          state: 'FAILED',
          statusEvents: [
            {
              type: 'STATUS_CHANGED',
              description: 'Task state is updated from RUNNING to FAILED',
              taskState: 'FAILED',
              taskExecution: { exitCode: 3 },
              eventTime: '2025-01-01T01:02:00.000Z',
            },
          ],
        },
      },
    ];
    const info = jobInfoOf(job, tasks);
    assert.equal(info.exitStatus, 3);
    assert.equal(info.state, 'Failed');
    assert.equal(info.dispatchTime, '2025-01-01T00:00:05.000Z');
    assert.equal(info.finishTime, '2025-01-01T01:02:08.000Z');
    assert.equal(info.wallclockTime, '1h2m3.5s');
    assert.equal(info.annotation, 'team-a');
    assert.equal(info.extension?.extensionList?.uid, 'u-1');
    assert.equal(templateOf(job)?.remoteCommand, '/bin/sleep');
  });

  it('index ranges and per-index array results', () => {
    assert.equal(formatIndexRanges([7, 1, 2, 3]), '1-3,7');
    assert.equal(formatIndexRanges([]), '');
    const tasks = ['SUCCEEDED', 'FAILED', 'SUCCEEDED'].map((state, i) => ({
      name: `j/taskGroups/group0/tasks/${i}`,
      status: { state: state as 'SUCCEEDED' },
    }));
    assert.deepEqual(arrayResults(tasks, { begin: 10, step: 5 }), {
      completedIndexes: '10,20',
      failedIndexes: '15',
    });
  });

  it('Go durations', () => {
    assert.equal(parseGoDuration('1h30m'), 5400);
    assert.equal(parseGoDuration('1.5s'), 1.5);
    assert.equal(parseGoDuration('3 days'), undefined);
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(61), '1m1s');
  });
});
