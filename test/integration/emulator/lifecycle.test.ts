// The emulator driven through the real @google-cloud/batch client: lifecycle, execution, operations.
import { afterAll, beforeAll, describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BatchServiceClient } from '@google-cloud/batch';
import { startEmulator, type RunningEmulator } from '../../../src/emulator/index.js';
import { PARENT, rawClient, scriptJob, taskEvents, waitFor } from './client.js';

let emulator: RunningEmulator;
let client: BatchServiceClient;
let counter = 0;

beforeAll(async () => {
  emulator = await startEmulator({ stepMs: 5 });
  client = rawClient(emulator.host);
});
afterAll(async () => {
  await client.close();
  await emulator.stop();
});

async function create(job: Record<string, unknown>, jobId = `job-${++counter}`) {
  const [created] = await client.createJob({ parent: PARENT, jobId, job });
  return created;
}

async function finished(name: string) {
  const terminal = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
  return waitFor(
    async () => (await client.getJob({ name }))[0],
    (job) => terminal.has(String(job.status?.state)),
  );
}

describe('job lifecycle', () => {
  it('moves QUEUED -> SCHEDULED -> RUNNING -> SUCCEEDED with Batch status events', async () => {
    const created = await create(scriptJob('echo hello'));
    assert.equal(created.name, `${PARENT}/jobs/job-${counter}`);
    assert.equal(created.status?.state, 'QUEUED');
    assert.ok(created.uid);
    const job = await finished(created.name!);
    assert.equal(job.status?.state, 'SUCCEEDED');
    const transitions = job
      .status!.statusEvents!.filter((e) => e.description?.startsWith('Job state'))
      .map((e) => /from (\w+) to (\w+)/.exec(e.description!)!.slice(1).join('>'));
    assert.deepEqual(transitions, ['QUEUED>SCHEDULED', 'SCHEDULED>RUNNING', 'RUNNING>SUCCEEDED']);
    assert.equal(job.status?.taskGroups?.group0?.counts?.SUCCEEDED, '1');
    assert.match(String(job.status?.runDuration?.seconds ?? '0'), /^\d+$/);
    assert.match(emulator.taskLog(job.name!, 0), /hello/);
  });

  it('a long script runs from a file, as Batch runs it', async () => {
    const job = await finished((await create(scriptJob(`: ${'x'.repeat(300_000)}\necho long-ok`))).name!);
    assert.equal(job.status?.state, 'SUCCEEDED');
    assert.match(emulator.taskLog(job.name!, 0), /long-ok/);
  });

  it("a script's shebang line picks its interpreter; /bin/sh without one", async () => {
    const withShebang = await finished(
      (await create(scriptJob('#!/usr/bin/env node\nconsole.log(6 * 7)'))).name!,
    );
    assert.equal(withShebang.status?.state, 'SUCCEEDED');
    assert.match(emulator.taskLog(withShebang.name!, 0), /42/);
    const plain = await finished((await create(scriptJob('echo "$0"'))).name!);
    assert.match(emulator.taskLog(plain.name!, 0), /runnable-0\.sh/);
  });

  it('an environment too big to exec fails its task, and the emulator carries on', async () => {
    const environment = { variables: { BIG: 'x'.repeat(200_000) } };
    const job = await finished((await create(scriptJob('true', { environment }))).name!);
    assert.equal(job.status?.state, 'FAILED');
    assert.match(emulator.taskLog(job.name!, 0), /E2BIG/);
    const next = await finished((await create(scriptJob('true'))).name!);
    assert.equal(next.status?.state, 'SUCCEEDED');
  });

  it('fails with the script exit code, which the task reports', async () => {
    const job = await finished((await create(scriptJob('exit 3'))).name!);
    assert.equal(job.status?.state, 'FAILED');
    const [tasks] = await client.listTasks({ parent: `${job.name}/taskGroups/group0` });
    assert.equal(tasks[0]?.status?.state, 'FAILED');
    const failure = tasks[0]!.status!.statusEvents!.find((e) => e.taskState === 'FAILED');
    assert.equal(failure?.taskExecution?.exitCode, 3);
  });

  it('ends a task that runs past maxRunDuration with exit code 50005', async () => {
    const job = await finished(
      (await create(scriptJob('sleep 30', { maxRunDuration: { seconds: 0, nanos: 300_000_000 } }))).name!,
    );
    assert.equal(job.status?.state, 'FAILED');
    const events = await taskEvents(client, job.name!, 0);
    assert.equal(events.find((e) => e.taskState === 'FAILED')?.taskExecution?.exitCode, 50005);
  });

  it('gives each task its taskEnvironments entry and Batch variables', async () => {
    const job = await finished(
      (
        await create({
          taskGroups: [
            {
              taskEnvironments: [2, 4, 6].map((id) => ({ variables: { TASK_ID: String(id) } })),
              parallelism: 2,
              taskSpec: {
                runnables: [
                  { script: { text: 'echo "id=$TASK_ID index=$BATCH_TASK_INDEX count=$BATCH_TASK_COUNT"' } },
                ],
              },
            },
          ],
        })
      ).name!,
    );
    assert.equal(job.status?.state, 'SUCCEEDED');
    assert.equal(String(job.taskGroups?.[0]?.taskCount), '3');
    for (const [index, id] of [2, 4, 6].entries()) {
      assert.match(emulator.taskLog(job.name!, index), new RegExp(`id=${id} index=${index} count=3`));
    }
  });

  it('runs 4 parallel tasks behind barriers with a hosts file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'barrier-'));
    const step = (word: string) => ({
      script: { text: `echo "${word} $BATCH_TASK_INDEX $(date +%s%N)" >> ${dir}/trace` },
    });
    const job = await finished(
      (
        await create({
          taskGroups: [
            {
              taskCount: 4,
              parallelism: 4,
              requireHostsFile: true,
              taskSpec: {
                runnables: [
                  {
                    script: { text: 'sleep 0.$BATCH_TASK_INDEX; test "$(wc -l < $BATCH_HOSTS_FILE)" -eq 4' },
                  },
                  step('before'),
                  { barrier: { name: 'middle' } },
                  step('after'),
                ],
              },
            },
          ],
        })
      ).name!,
    );
    assert.equal(job.status?.state, 'SUCCEEDED');
    const lines = readFileSync(join(dir, 'trace'), 'utf8').trim().split('\n');
    assert.equal(lines.length, 8);
    const lastBefore = lines.map((l) => l.startsWith('before')).lastIndexOf(true);
    const firstAfter = lines.findIndex((l) => l.startsWith('after'));
    assert.ok(lastBefore < firstAfter, `every task reached the barrier first:\n${lines.join('\n')}`);
  });

  it('retries per maxRetryCount and stops retrying on a FAIL_TASK exit code', async () => {
    const retried = await finished(
      (await create(scriptJob('test "$BATCH_TASK_RETRY_ATTEMPT" -ge 2 || exit 7', { maxRetryCount: 2 })))
        .name!,
    );
    assert.equal(retried.status?.state, 'SUCCEEDED');
    const stopped = await finished(
      (
        await create(
          scriptJob('exit 9', {
            maxRetryCount: 3,
            lifecyclePolicies: [{ action: 'FAIL_TASK', actionCondition: { exitCodes: [9] } }],
          }),
        )
      ).name!,
    );
    assert.equal(stopped.status?.state, 'FAILED');
    const events = await taskEvents(client, stopped.name!, 0);
    assert.equal(events.filter((e) => e.taskState === 'FAILED').length, 1);
  });

  it('runs a container entrypoint locally and says so', async () => {
    const job = await finished(
      (
        await create({
          taskGroups: [
            {
              taskSpec: {
                runnables: [
                  {
                    container: {
                      imageUri: 'busybox',
                      entrypoint: '/bin/sh',
                      commands: ['-c', 'echo from-container'],
                    },
                  },
                ],
              },
            },
          ],
        })
      ).name!,
    );
    assert.equal(job.status?.state, 'SUCCEEDED');
    assert.match(emulator.taskLog(job.name!, 0), /from-container/);
    const [task] = await client.getTask({ name: `${job.name}/taskGroups/group0/tasks/0` });
    assert.ok(task.status?.statusEvents?.some((e) => /run as a local process/.test(e.description ?? '')));
  });

  it('cancels a running job through a long-running operation and keeps its record', async () => {
    const created = await create(scriptJob('sleep 30'));
    await waitFor(
      async () => (await client.getJob({ name: created.name! }))[0],
      (j) => j.status?.state === 'RUNNING',
    );
    const [operation] = await client.cancelJob({ name: created.name! });
    await operation.promise();
    const [job] = await client.getJob({ name: created.name! });
    assert.equal(job.status?.state, 'CANCELLED');
    await assert.rejects(
      client.cancelJob({ name: created.name! }),
      (err: { code: number }) => err.code === 9,
    );
  });

  it('deletes a job through a long-running operation; then it is NOT_FOUND', async () => {
    const created = await create(scriptJob('sleep 30'));
    const [operation] = await client.deleteJob({ name: created.name! });
    await operation.promise();
    await assert.rejects(client.getJob({ name: created.name! }), (err: { code: number }) => err.code === 5);
  });
});
