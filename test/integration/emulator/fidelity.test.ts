// The emulator behaves as public sources say Batch does (docs/batch-fidelity.md), driven through the real
// @google-cloud/batch client: paging, job-level events without exit codes, updateTime, tasks that appear
// late, the documented job limits, Spot preemption and the ways a job waits in or fails from SCHEDULED.
// The second emulator plays the other answer to each open question.
import { afterAll, beforeAll, describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BatchServiceClient } from '@google-cloud/batch';
import { startEmulator, type FaultConfig, type RunningEmulator } from '../../../src/emulator/index.js';
import { PARENT, rawClient, scriptJob, taskEvents, waitFor, type WireStatusEvent } from './client.js';

let emulator: RunningEmulator;
let client: BatchServiceClient;
let other: RunningEmulator;
let otherClient: BatchServiceClient;

beforeAll(async () => {
  emulator = await startEmulator({ stepMs: 5, containers: 'simulate', adminPort: 0 });
  client = rawClient(emulator.host);
  other = await startEmulator({
    stepMs: 5,
    containers: 'simulate',
    updateTime: 'everyChange',
    taskDelayMs: 300,
    taskCountsWhileHidden: 'actual',
    retryUnmatched: 'retry',
    pageSizeDefault: 2,
    pageSizeCheck: 'resolved',
    limits: { parallelism: 'cap', hostsFile: 'accept', jobDefinitionBytes: 1_048_576 },
    faults: { scheduling: [{ jobIdPrefix: 'other-stuck-', kind: 'stuck', tasks: 'pending' }] },
  });
  otherClient = rawClient(other.host);
});
afterAll(async () => {
  await Promise.all([client.close(), otherClient.close()]);
  await Promise.all([emulator.stop(), other.stop()]);
});

const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

type Timestamp = { seconds?: unknown; nanos?: number | null } | null | undefined;
const millis = (t: Timestamp) => Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);

function rejectsWith(promise: Promise<unknown>, code: number, message?: RegExp) {
  return assert.rejects(promise, (err: { code: number; details?: string }) => {
    assert.equal(err.code, code, String(err.details));
    if (message) assert.match(String(err.details), message);
    return true;
  });
}

async function create(on: BatchServiceClient, jobId: string, job: Record<string, unknown>) {
  const [created] = await on.createJob({ parent: PARENT, jobId, job });
  return created;
}

const getJob = async (on: BatchServiceClient, name: string) => (await on.getJob({ name }))[0];

const finished = (on: BatchServiceClient, name: string) =>
  waitFor(
    () => getJob(on, name),
    (job) => TERMINAL.has(String(job.status?.state)),
  );

const events = (job: { status?: { statusEvents?: unknown[] | null } | null }) =>
  (job.status?.statusEvents ?? []) as WireStatusEvent[];

/** A job of `count` tasks whose container is simulated: it ends at once without running anything. */
const simulatedJob = (count: number, group: Record<string, unknown> = {}) => ({
  taskGroups: [
    { taskCount: count, ...group, taskSpec: { runnables: [{ container: { imageUri: 'busybox' } }] } },
  ],
});

const spot = (job: Record<string, unknown>, labels: Record<string, string> = {}) => ({
  ...job,
  labels,
  allocationPolicy: { instances: [{ policy: { provisioningModel: 'SPOT' } }] },
});

async function postFaults(faults: unknown): Promise<Response> {
  return fetch(`${emulator.adminUrl}/admin/faults`, { method: 'POST', body: JSON.stringify({ faults }) });
}

describe('paging', () => {
  let job = '';
  beforeAll(async () => {
    job = (await create(client, 'paging-600', simulatedJob(600))).name!;
  });

  it('pages 500 tasks by default; a later page without page_size is refused as Batch refuses it', async () => {
    const parent = `${job}/taskGroups/group0`;
    const [first, , response] = await client.listTasks({ parent }, { autoPaginate: false });
    assert.equal(first.length, 500);
    const pageToken = response?.nextPageToken ?? '';
    assert.ok(pageToken);
    await rejectsWith(
      client.listTasks({ parent, pageToken }, { autoPaginate: false }),
      INVALID_ARGUMENT,
      /request page size \(0\) != token page size \(500\)/,
    );
    // The client's own paging sends the first request again with each token, as python-batch#101 saw.
    await rejectsWith(client.listTasks({ parent }), INVALID_ARGUMENT, /token page size \(500\)/);
    const [rest] = await client.listTasks({ parent, pageSize: 500, pageToken }, { autoPaginate: false });
    assert.equal(rest.length, 100);
    const [all] = await client.listTasks({ parent, pageSize: 500 });
    assert.equal(new Set(all.map((t) => t.name)).size, 600);
  });

  it('refuses a ListJobs page of another size, and a token of another listing', async () => {
    for (let i = 0; i < 5; i++)
      await create(client, `pager-${i}`, { ...simulatedJob(1), labels: { pg: 'a' } });
    const filter = 'labels.pg="a"';
    const [jobs, , response] = await client.listJobs(
      { parent: PARENT, filter, pageSize: 2 },
      { autoPaginate: false },
    );
    assert.equal(jobs.length, 2);
    const pageToken = response!.nextPageToken!;
    await rejectsWith(
      client.listJobs({ parent: PARENT, filter, pageSize: 3, pageToken }, { autoPaginate: false }),
      INVALID_ARGUMENT,
      /request page size \(3\) != token page size \(2\)/,
    );
    await rejectsWith(
      client.listJobs({ parent: PARENT, filter: 'labels.pg="b"', pageSize: 2, pageToken }),
      INVALID_ARGUMENT,
      /page_token/,
    );
    await rejectsWith(
      client.listTasks({ parent: `${job}/taskGroups/group0`, pageSize: 2, pageToken }),
      INVALID_ARGUMENT,
      /page_token/,
    );
    const [all] = await client.listJobs({ parent: PARENT, filter, pageSize: 2 });
    assert.equal(all.length, 5);
    // A page size above the largest (1,000) is served as the largest.
    const [big] = await client.listTasks({ parent: `${job}/taskGroups/group0`, pageSize: 5000 });
    assert.equal(big.length, 600);
  });

  it('plays the other answer: a later page without page_size takes the default', async () => {
    for (let i = 0; i < 5; i++) await create(otherClient, `pager-${i}`, simulatedJob(1));
    const [first, , response] = await otherClient.listJobs({ parent: PARENT }, { autoPaginate: false });
    assert.equal(first.length, 2);
    const [second] = await otherClient.listJobs(
      { parent: PARENT, pageToken: response!.nextPageToken! },
      { autoPaginate: false },
    );
    assert.equal(second.length, 2);
    const [all] = await otherClient.listJobs({ parent: PARENT });
    assert.equal(all.length, 5);
  });
});

describe('job-level status events', () => {
  it('carry no task state or exit code; the task keeps its exit code; the FAILED event quotes it', async () => {
    const job = await finished(client, (await create(client, 'events-fail', scriptJob('exit 3'))).name!);
    assert.equal(job.status?.state, 'FAILED');
    for (const event of events(job)) {
      assert.ok(!event.taskExecution, `job event with an exit code: ${JSON.stringify(event)}`);
      assert.ok(!event.taskState || event.taskState === 'STATE_UNSPECIFIED', JSON.stringify(event));
      assert.equal(event.type, 'STATUS_CHANGED');
    }
    const last = events(job).at(-1)!.description!;
    assert.match(
      last,
      /^Job state is set from RUNNING to FAILED for job projects\/p\/locations\/l\/jobs\/events-fail\.Job failed due to task failure\. Specifically, task with index 0 failed due to the following task event: "Task state is updated from RUNNING to FAILED on zones\/\S+ with exit code 3\."$/,
    );
    const failed = (await taskEvents(client, job.name!, 0)).filter((e) => e.taskState === 'FAILED');
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.taskExecution?.exitCode, 3);
  });
});

describe('updateTime', () => {
  const script = scriptJob('sleep 0.6');
  const lastJobEvent = (job: Parameters<typeof events>[0]) =>
    millis((events(job).at(-1) as { eventTime?: Timestamp }).eventTime);

  it('moves only with the job-level status events by default', async () => {
    const { name } = await create(client, 'update-time', script);
    await waitFor(
      async () => (await taskEvents(client, name!, 0)).map((e) => e.taskState),
      (states) => states.includes('RUNNING'),
    );
    const running = await getJob(client, name!);
    assert.equal(running.status?.state, 'RUNNING');
    assert.equal(millis(running.updateTime), lastJobEvent(running));
    const done = await finished(client, name!);
    assert.equal(millis(done.updateTime), lastJobEvent(done));
  });

  it('plays the other answer: every task change moves it', async () => {
    const { name } = await create(otherClient, 'update-time', script);
    await waitFor(
      async () => (await otherClient.listTasks({ parent: `${name}/taskGroups/group0` }))[0],
      (tasks) => tasks[0]?.status?.state === 'RUNNING',
    );
    const running = await getJob(otherClient, name!);
    assert.equal(running.status?.state, 'RUNNING');
    assert.ok(millis(running.updateTime) > lastJobEvent(running), 'a task change moved updateTime');
  });
});

describe('tasks that appear late', () => {
  it('are not listed and not found for taskDelayMs after creation, and the job shows no counts', async () => {
    const delayed = await startEmulator({ stepMs: 5, containers: 'simulate', taskDelayMs: 400 });
    const delayedClient = rawClient(delayed.host);
    try {
      const created = await create(delayedClient, 'late-tasks', simulatedJob(2));
      const parent = `${created.name}/taskGroups/group0`;
      const [none] = await delayedClient.listTasks({ parent });
      assert.equal(none.length, 0);
      await rejectsWith(
        delayedClient.getTask({ name: `${parent}/tasks/0` }),
        NOT_FOUND,
        /^Resource ".*\/tasks\/0" was not found$/,
      );
      const job = await getJob(delayedClient, created.name!);
      assert.deepEqual(Object.keys(job.status?.taskGroups ?? {}), []);
      const [tasks] = await waitFor(
        () => delayedClient.listTasks({ parent }),
        ([listed]) => listed.length === 2,
      );
      assert.equal(tasks.length, 2);
      assert.ok((await getJob(delayedClient, created.name!)).status?.taskGroups?.group0);
    } finally {
      await delayedClient.close();
      await delayed.stop();
    }
  });

  it('plays the other answer: the job shows its counts meanwhile', async () => {
    const created = await create(otherClient, 'late-tasks', simulatedJob(2));
    const [none] = await otherClient.listTasks({ parent: `${created.name}/taskGroups/group0` });
    assert.equal(none.length, 0);
    const job = await getJob(otherClient, created.name!);
    const counts = job.status?.taskGroups?.group0?.counts ?? {};
    assert.equal(
      Object.values(counts).reduce((n: number, c) => n + Number(c), 0),
      2,
    );
  });
});

describe('documented job limits', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    [
      'more than 5,000 parallel tasks',
      simulatedJob(6000, { parallelism: 5001 }),
      /task_groups\[0\]\.parallelism/,
    ],
    [
      'a hosts file of more than 1,000 VMs',
      simulatedJob(1001, { parallelism: 1001, requireHostsFile: true }),
      /require_hosts_file.*1000 VMs/,
    ],
    ['more than 100,000 tasks in a group', simulatedJob(100_001), /task_groups\[0\]\.task_count/],
    ['a job definition over 1 MB', scriptJob(`: ${'x'.repeat(1_000_000)}`), /job definition is \d+ bytes/],
  ];
  for (const [title, job, message] of cases) {
    it(`refuses ${title} with INVALID_ARGUMENT`, () =>
      rejectsWith(create(client, 'over-limit', job), INVALID_ARGUMENT, message));
  }

  it('accepts a hosts file of 1,000 VMs, and defaults parallelism to min(task count, 5,000)', async () => {
    const hosts = await create(
      client,
      'hosts-1000',
      simulatedJob(2000, { parallelism: 2000, taskCountPerNode: 2, requireHostsFile: true }),
    );
    const wide = await create(client, 'wide-6000', simulatedJob(6000));
    await Promise.all([hosts, wide].map((j) => client.deleteJob({ name: j.name! })));
    assert.equal(String(wide.taskGroups?.[0]?.parallelism), '5000');
  });

  it('plays the other answers: parallelism capped at 5,000, a larger hosts file, 1 MiB', async () => {
    const wide = await create(otherClient, 'wide', simulatedJob(6000, { parallelism: 6000 }));
    const hosts = await create(
      otherClient,
      'hosts',
      simulatedJob(1001, { parallelism: 1001, requireHostsFile: true }),
    );
    const large = await create(otherClient, 'large', scriptJob(`: ${'x'.repeat(1_000_000)}`));
    await Promise.all([wide, hosts, large].map((j) => otherClient.deleteJob({ name: j.name! })));
    assert.equal(String(wide.taskGroups?.[0]?.parallelism), '5000');
  });
});

describe('Spot preemption', () => {
  const preemptible =
    'test "$BATCH_TASK_RETRY_ATTEMPT" -ge 1 || sleep 30; echo attempt=$BATCH_TASK_RETRY_ATTEMPT';

  it('kills the running task with exit code 50001 and retries it within maxRetryCount', async () => {
    emulator.setFaults({ preemption: [{ jobIdPrefix: 'spot-', afterMs: 150 }] });
    const started = Date.now();
    const { name } = await create(client, 'spot-retried', spot(scriptJob(preemptible, { maxRetryCount: 1 })));
    const job = await finished(client, name!);
    assert.equal(job.status?.state, 'SUCCEEDED');
    assert.ok(Date.now() - started < 10_000, 'the preempted attempt did not sleep on');
    const taskStates = await taskEvents(client, name!, 0);
    const failures = taskStates.filter((e) => e.taskState === 'FAILED');
    assert.equal(failures.length, 1);
    assert.equal(failures[0]!.taskExecution?.exitCode, 50001);
    assert.match(failures[0]!.description!, /on zones\/\S+ due to Spot VM preemption with exit code 50001\./);
    assert.match(emulator.taskLog(name!, 0), /attempt=1/);
  });

  it('fails the task when no retry is left, in the words Batch callers match; spares non-Spot jobs', async () => {
    emulator.setFaults({ preemption: [{ label: 'chaos=spot', afterMs: 100 }] });
    const failed = await finished(
      client,
      (await create(client, 'preempted', spot(scriptJob('sleep 30'), { chaos: 'spot' }))).name!,
    );
    assert.equal(failed.status?.state, 'FAILED');
    // Cromwell's GCP Batch backend recognises a preemption by this part of the job's FAILED event.
    assert.match(
      events(failed).at(-1)!.description!,
      /failed due to the following task event: "Task state is updated from \S+ to FAILED on zones\/\S+ due to Spot VM preemption with exit code 50001\."$/,
    );
    const standard = await finished(
      client,
      (await create(client, 'standard', { ...scriptJob('sleep 0.3'), labels: { chaos: 'spot' } })).name!,
    );
    assert.equal(standard.status?.state, 'SUCCEEDED');
  });

  it('retries a preemption listed in a RETRY_TASK policy; an unlisted exit code fails without retry', async () => {
    emulator.setFaults({ preemption: [{ jobIdPrefix: 'policy-', perTask: 2, afterMs: 100 }] });
    const retryOn50001 = {
      maxRetryCount: 3,
      lifecyclePolicies: [{ action: 'RETRY_TASK', actionCondition: { exitCodes: [50001] } }],
    };
    const script = 'test "$BATCH_TASK_RETRY_ATTEMPT" -ge 2 || sleep 30';
    const retried = await finished(
      client,
      (await create(client, 'policy-preempted', spot(scriptJob(script, retryOn50001)))).name!,
    );
    assert.equal(retried.status?.state, 'SUCCEEDED');
    const exitCodes = (await taskEvents(client, retried.name!, 0))
      .filter((e) => e.taskState === 'FAILED')
      .map((e) => e.taskExecution?.exitCode);
    assert.deepEqual(exitCodes, [50001, 50001]);

    const unlisted = await finished(
      client,
      (await create(client, 'policy-exit7', scriptJob('exit 7', retryOn50001))).name!,
    );
    assert.equal(unlisted.status?.state, 'FAILED');
    const failures = (await taskEvents(client, unlisted.name!, 0)).filter((e) => e.taskState === 'FAILED');
    assert.equal(failures.length, 1);
  });

  it('plays the other answer: an unlisted exit code is retried up to maxRetryCount', async () => {
    const job = await finished(
      otherClient,
      (
        await create(
          otherClient,
          'policy-exit7',
          scriptJob('exit 7', {
            maxRetryCount: 2,
            lifecyclePolicies: [{ action: 'RETRY_TASK', actionCondition: { exitCodes: [50001] } }],
          }),
        )
      ).name!,
    );
    assert.equal(job.status?.state, 'FAILED');
    // This emulator lists tasks only 300 ms after creation.
    const [tasks] = await waitFor(
      () => otherClient.listTasks({ parent: `${job.name}/taskGroups/group0` }),
      ([listed]) => listed.length === 1,
    );
    const failures = (tasks[0]!.status?.statusEvents ?? []).filter((e) => String(e.taskState) === 'FAILED');
    assert.equal(failures.length, 3);
  });

  it('limits preemptions per job, across its tasks', async () => {
    emulator.setFaults({ preemption: [{ jobIdPrefix: 'perjob-', perJob: 1, afterMs: 100 }] });
    const job = spot({
      taskGroups: [
        {
          taskCount: 2,
          parallelism: 2,
          taskSpec: { runnables: [{ script: { text: 'sleep 0.5' } }], maxRetryCount: 1 },
        },
      ],
    });
    const done = await finished(client, (await create(client, 'perjob-two', job)).name!);
    assert.equal(done.status?.state, 'SUCCEEDED');
    let preempted = 0;
    for (const index of [0, 1]) {
      const codes = (await taskEvents(client, done.name!, index)).map((e) => e.taskExecution?.exitCode);
      if (codes.includes(50001)) preempted++;
    }
    assert.equal(preempted, 1);
  });
});

describe('why a job waits or fails in SCHEDULED', () => {
  const states = (job: Parameters<typeof events>[0]) =>
    events(job)
      .filter((e) => e.type === 'STATUS_CHANGED')
      .map((e) => /from (\w+) to (\w+)/.exec(e.description!)!.slice(1).join('>'));

  async function noTasks(name: string) {
    const [tasks] = await client.listTasks({ parent: `${name}/taskGroups/group0` });
    assert.equal(tasks.length, 0);
    await rejectsWith(client.getTask({ name: `${name}/taskGroups/group0/tasks/0` }), NOT_FOUND);
  }

  it('rejects a malformed fault through the admin endpoint', async () => {
    const response = await postFaults({ scheduling: [{ kind: 'sometimes' }] });
    assert.equal(response.status, 400);
    assert.throws(() => emulator.setFaults({ preemption: [{ label: 'no-equals' }] } as FaultConfig));
  });

  it('stays SCHEDULED for ever with no further event (a VM service account without its roles)', async () => {
    assert.equal((await postFaults({ scheduling: [{ jobIdPrefix: 'stuck-', kind: 'stuck' }] })).status, 200);
    const { name } = await create(client, 'stuck-sa', scriptJob('echo never'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const job = await getJob(client, name!);
    assert.equal(job.status?.state, 'SCHEDULED');
    assert.deepEqual(states(job), ['QUEUED>SCHEDULED']);
    assert.equal(events(job).length, 1);
    await noTasks(name!);
    const [operation] = await client.cancelJob({ name: name! });
    await operation.promise();
    assert.equal((await getJob(client, name!)).status?.state, 'CANCELLED');
    assert.equal(emulator.taskLog(name!, 0), '');
  });

  it('plays the other answer: a waiting job lists its tasks as PENDING', async () => {
    const { name } = await create(otherClient, 'other-stuck-sa', scriptJob('echo never'));
    await waitFor(
      () => getJob(otherClient, name!),
      (job) => job.status?.state === 'SCHEDULED',
    );
    await new Promise((resolve) => setTimeout(resolve, 400));
    const [tasks] = await otherClient.listTasks({ parent: `${name}/taskGroups/group0` });
    assert.deepEqual(
      tasks.map((t) => String(t.status?.state)),
      ['PENDING'],
    );
  });

  it('waits with CODE_GCE_QUOTA_EXCEEDED events, then runs', async () => {
    await postFaults({ scheduling: [{ label: 'quota=low', kind: 'quota', events: 3, intervalMs: 30 }] });
    const created = await create(client, 'quota-then-run', {
      ...scriptJob('echo ran'),
      labels: { quota: 'low' },
    });
    const job = await finished(client, created.name!);
    assert.equal(job.status?.state, 'SUCCEEDED');
    const quota = events(job).filter((e) => e.description?.includes('CODE_GCE_QUOTA_EXCEEDED'));
    assert.equal(quota.length, 3);
    for (const [i, event] of quota.entries()) {
      assert.equal(event.type, 'OPERATIONAL_INFO');
      assert.match(
        event.description!,
        new RegExp(
          `^VM in Managed Instance Group meets error: Batch Error: code - CODE_GCE_QUOTA_EXCEEDED, description - error count is ${i + 1}, latest message example: Instance '\\S+-group0-0-\\w+' creation failed: Quota 'CPUS' exceeded\\.  Limit: 0\\.0 in region l\\.$`,
        ),
      );
    }
    assert.deepEqual(states(job), ['QUEUED>SCHEDULED', 'SCHEDULED>RUNNING', 'RUNNING>SUCCEEDED']);
    assert.match(emulator.taskLog(job.name!, 0), /ran/);
    const unselected = await finished(
      client,
      (await create(client, 'quota-high', { ...scriptJob('true'), labels: { quota: 'high' } })).name!,
    );
    assert.deepEqual(states(unselected), ['QUEUED>SCHEDULED', 'SCHEDULED>RUNNING', 'RUNNING>SUCCEEDED']);
    assert.equal(events(unselected).length, 3);
  });

  it('waits with quota events for ever when no bound is given', async () => {
    await postFaults({ scheduling: [{ jobIdPrefix: 'quota-forever', kind: 'quota', intervalMs: 20 }] });
    const { name } = await create(client, 'quota-forever', scriptJob('echo never'));
    const job = await waitFor(
      () => getJob(client, name!),
      (j) => events(j).filter((e) => e.type === 'OPERATIONAL_INFO').length >= 5,
    );
    assert.equal(job.status?.state, 'SCHEDULED');
    await noTasks(name!);
    await client.deleteJob({ name: name! });
  });

  it('fails straight from SCHEDULED on CODE_GCE_INVALID_FIELD_VALUE, with no task', async () => {
    await postFaults({ scheduling: [{ jobIdPrefix: 'invalid-', kind: 'invalidField' }] });
    const job = await finished(
      client,
      (await create(client, 'invalid-field', scriptJob('echo never'))).name!,
    );
    assert.equal(job.status?.state, 'FAILED');
    assert.deepEqual(states(job), ['QUEUED>SCHEDULED', 'SCHEDULED>FAILED']);
    const reason = events(job).find((e) => e.type === 'OPERATIONAL_INFO')!;
    assert.match(
      reason.description!,
      /^Job gets non-retryable information Batch Error: code - CODE_GCE_INVALID_FIELD_VALUE, description - Invalid value for field/,
    );
    assert.deepEqual(Object.keys(job.status?.taskGroups ?? {}), []);
    await noTasks(job.name!);
    const unselected = await finished(client, (await create(client, 'valid-field', scriptJob('true'))).name!);
    assert.equal(unselected.status?.state, 'SUCCEEDED');
  });

  it('fails by itself after a long wait in SCHEDULED, through SCHEDULED_PENDING_FAILED', async () => {
    await postFaults({ scheduling: [{ jobIdPrefix: 'timeout-', kind: 'timeout', waitMs: 200 }] });
    const job = await finished(client, (await create(client, 'timeout-wait', scriptJob('echo never'))).name!);
    assert.equal(job.status?.state, 'FAILED');
    assert.deepEqual(states(job), [
      'QUEUED>SCHEDULED',
      'SCHEDULED>SCHEDULED_PENDING_FAILED',
      'SCHEDULED_PENDING_FAILED>FAILED',
    ]);
    await noTasks(job.name!);
  });
});

describe('the emulator command', () => {
  it('takes the new options as flags', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/main.ts',
        'emulator',
        '--step-ms',
        '5',
        '--task-delay-ms',
        '60000',
        '--update-time',
        'everyChange',
        '--retry-unmatched',
        'retry',
        '--page-size-check',
        'resolved',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const host = await waitFor(
        async () => /BATCH_EMULATOR_HOST=(\S+)/.exec(out)?.[1] ?? (child.exitCode !== null ? 'exited' : ''),
        (value) => value !== '',
        60_000,
      );
      assert.notEqual(host, 'exited', out);
      const cli = rawClient(host);
      try {
        const { name } = await create(cli, 'cli-late', simulatedJob(1));
        const [tasks] = await cli.listTasks({ parent: `${name}/taskGroups/group0` });
        assert.equal(tasks.length, 0);
      } finally {
        await cli.close();
      }
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    }
  });
});

describe('logsPolicy PATH', () => {
  it('is a path on the job VM: the log lands under the job folder, never at that path on this machine', async () => {
    const workDir = mkdtempSync(join(tmpdir(), 'drmaa2-emulator-logs-'));
    const own = await startEmulator({ stepMs: 5, workDir });
    const ownClient = rawClient(own.host);
    try {
      const logsPath = `/mnt/disks/drmaa2-logs-${process.pid}/out.log`;
      const created = await create(ownClient, 'logs-path', {
        ...scriptJob('echo to-the-vm-log'),
        logsPolicy: { destination: 'PATH', logsPath },
      });
      await waitFor(
        () => getJob(ownClient, created.name!),
        (job) => TERMINAL.has(String(job.status?.state)),
      );
      assert.equal(existsSync(logsPath), false, 'nothing written outside the emulator');
      const written = readdirSync(workDir, { recursive: true, encoding: 'utf8' }).find((f) =>
        f.endsWith(join('vm', logsPath)),
      );
      assert.ok(written, 'the log is on the emulated VM');
      assert.match(readFileSync(join(workDir, written), 'utf8'), /to-the-vm-log/);
    } finally {
      await ownClient.close();
      await own.stop();
      rmSync(workDir, { recursive: true, force: true });
    }
  });
});
