// The controller against Batch as public sources say it behaves (docs/batch-fidelity.md): the real
// kube-apiserver and kubectl, the controller in this process, the emulator through the real
// @google-cloud/batch client, each behaviour switched on in the emulator for the test that needs it.
import { afterAll, afterEach, beforeAll, describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { runController, type RunningController } from '../../src/cli/controller.js';
import { parseConfig } from '../../src/controller/config.js';
import type { Condition, Drmaa2Job } from '../../src/api/drmaa2job.js';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../src/emulator/index.js';
import { startPeers, type Peers } from '../support/startPeers.js';
import { waitUntil } from '../support/wait.js';
import { readDrmaa2Job, waitFinished } from '../support/drmaa2Jobs.js';

const NS = 'fidelity';
let peers: Peers;
let controller: RunningController;

async function startController(emulatorHost: string, session: string): Promise<RunningController> {
  const parsed = parseConfig(
    {
      kubeconfig: peers.controlPlane.kubeconfigController,
      pollInterval: '500ms',
      metricsAddr: '127.0.0.1:0',
      healthAddr: '127.0.0.1:0',
      session,
    },
    { BATCH_EMULATOR_HOST: emulatorHost, STORAGE_EMULATOR_HOST: peers.storageEmulatorHost },
  );
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return runController(parsed.config, pino({ level: process.env.DRMAA2_TEST_LOG ?? 'silent' }));
}

beforeAll(async () => {
  peers = await startPeers();
  assert.equal((await peers.controlPlane.kubectl(['create', 'namespace', NS])).code, 0);
  controller = await startController(peers.emulator.host, 'fidelity');
});

afterAll(async () => {
  await controller?.stop();
  await peers?.stop();
});

let scenarios = 0;

/** One behaviour of Batch, played by an emulator of its own that the running controller is switched to for
 * the test (a controller of one session follows one Batch). */
async function withBatch(
  opts: EmulatorOptions,
  run: (emulator: RunningEmulator) => Promise<void>,
): Promise<void> {
  const emulator = await startEmulator({ stepMs: 20, ...opts });
  await controller.stop();
  controller = await startController(emulator.host, `fidelity-${++scenarios}`);
  try {
    await run(emulator);
  } finally {
    await controller.stop();
    await emulator.stop();
    controller = await startController(peers.emulator.host, 'fidelity');
  }
}

afterEach(() => {
  peers.emulator.setFaults({});
});

/** The first value of `read` that `ok` accepts. */
async function waitFor<T>(
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  opts: { timeoutMs: number; what: string },
): Promise<T> {
  let last: T | undefined;
  await waitUntil(
    opts.what,
    async () => {
      last = await read();
      return ok(last);
    },
    { timeoutMs: opts.timeoutMs, intervalMs: 200 },
  );
  return last!;
}

async function kubectl(args: string[]) {
  return peers.controlPlane.kubectl(args);
}

async function apply(name: string, spec: Record<string, unknown>): Promise<void> {
  const doc = JSON.stringify({
    apiVersion: 'drmaa2.io/v1alpha1',
    kind: 'Drmaa2Job',
    metadata: { name },
    spec,
  });
  const r = await peers.controlPlane.kubectl(['apply', '-n', NS, '-f', '-'], { input: doc });
  assert.equal(r.code, 0, r.stderr);
}

const get = (name: string) => readDrmaa2Job(peers.controlPlane.kubectl, NS, name);

const finished = (name: string, timeout = '120s') =>
  waitFinished(peers.controlPlane.kubectl, NS, name, timeout);

function condition(job: Drmaa2Job, type: string): Condition | undefined {
  return job.status?.conditions?.find((c) => c.type === type);
}

const script = (text: string, extra: Record<string, unknown> = {}) => ({
  jobTemplate: {
    remoteCommand: text,
    jobCategory: '$script$',
    candidateMachines: ['e2-standard-2'],
    ...extra,
  },
});

async function warningsOf(name: string): Promise<string[]> {
  const r = await kubectl(['get', 'events.events.k8s.io', '-n', NS, '-o', 'json']);
  const items = (
    JSON.parse(r.stdout) as { items: { type: string; reason: string; regarding?: { name?: string } }[] }
  ).items;
  return items.filter((e) => e.regarding?.name === name && e.type === 'Warning').map((e) => e.reason);
}

async function readyz(): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${controller.healthPort}/readyz`);
  return { status: response.status, body: await response.text() };
}

describe('a ListJobs that keeps failing', () => {
  it('does not freeze the job: it is read with GetJob, says so in Synced and readiness, and ends', async () => {
    peers.emulator.setFaults({ errors: { ListJobs: { probability: 1, codes: ['INTERNAL'] } } });
    await apply('poll-failing', script('sleep 4'));
    const waiting = await waitFor(
      () => get('poll-failing'),
      (job) => condition(job, 'Synced')?.reason === 'BatchPollFailing',
      { timeoutMs: 60_000, what: 'Synced=False/BatchPollFailing' },
    );
    assert.equal(condition(waiting, 'Synced')?.status, 'False');
    assert.match(condition(waiting, 'Synced')!.message, /failed \d+ times in a row/);
    const ready = await readyz();
    assert.equal(ready.status, 503);
    assert.match(ready.body, /batch poll projects\/\S+ session fidelity: failing: \d+ failures in a row/);
    const metrics = await (await fetch(`http://127.0.0.1:${controller.metricsPort}/metrics`)).text();
    assert.match(metrics, /drmaa2_batch_polls_total\{result="error"\} [1-9]/);
    // The state still moves and the job ends, though no list succeeds.
    const done = await finished('poll-failing');
    assert.equal(done.status?.state, 'Done');
    assert.equal(condition(done, 'Synced')?.status, 'True', 'an ended job needs no poll');
    peers.emulator.setFaults({});
    await waitFor(readyz, (r) => r.status === 200, { timeoutMs: 30_000, what: 'ready again' });
  });
});

describe('paging as Batch pages', () => {
  it('a native array of 600 tasks runs to Done (ListTasks past its first page of 500)', async () => {
    await apply('array-600', { ...script('exit 0'), array: { begin: 1, end: 600, maxParallel: 200 } });
    const done = await finished('array-600', '300s');
    assert.equal(done.status?.state, 'Done');
    assert.equal(done.status?.tasks?.succeeded, 600);
    assert.equal(done.status?.array?.completedIndexes, '1-600');
    const listings = peers.emulator.callLog().filter((c) => c.method === 'ListTasks');
    assert.ok(
      listings.every((c) => c.code === 'OK'),
      'no page refused',
    );
  });
});

for (const updateTime of ['jobEvents', 'everyChange'] as const) {
  describe(`updateTime moving on ${updateTime}`, () => {
    it('task counts follow a running array; they do not freeze between job-level events', async () => {
      await withBatch({ updateTime }, async () => {
        const name = `counts-${updateTime.toLowerCase()}`;
        await apply(name, {
          ...script('sleep $(( TASK_ID % 3 + 1 ))'),
          array: { begin: 0, end: 8, maxParallel: 3 },
        });
        const midway = await waitFor(
          () => get(name),
          (job) =>
            job.status?.state === 'Running' &&
            (job.status.tasks?.succeeded ?? 0) > 0 &&
            (job.status.tasks?.succeeded ?? 0) < 9,
          { timeoutMs: 60_000, what: 'some tasks done while the job runs' },
        );
        assert.ok(midway.status?.array?.completedIndexes, 'per-index results while running');
        const done = await finished(name);
        assert.equal(done.status?.tasks?.succeeded, 9);
      });
    });
  });
}

describe('tasks that appear late', () => {
  it('are "not yet": the array ends Done with no Warning and no sync problem on the way', async () => {
    await withBatch({ taskDelayMs: 3000 }, async (emulator) => {
      await apply('late-tasks', { ...script('sleep 1'), array: { begin: 1, end: 4 } });
      const done = await finished('late-tasks');
      assert.equal(done.status?.state, 'Done');
      assert.equal(done.status?.array?.completedIndexes, '1-4');
      assert.deepEqual(await warningsOf('late-tasks'), []);
      const synced = done.status?.conditions?.find((c) => c.type === 'Synced');
      assert.equal(synced?.status, 'True');
      assert.ok(
        emulator.callLog().some((c) => c.method === 'ListTasks'),
        'tasks were listed',
      );
    });
  });
});

describe('why a job waits or failed', () => {
  it('a quota wait shows in the Running condition and in kubectl get -o wide, then the job runs', async () => {
    await withBatch(
      {
        faults: { scheduling: [{ kind: 'quota', jobIdPrefix: 'quota-wait', waitMs: 4000, intervalMs: 500 }] },
      },
      async () => {
        await apply('quota-wait', script('exit 0'));
        const waiting = await waitFor(
          () => get('quota-wait'),
          (job) => /CODE_GCE_QUOTA_EXCEEDED/.test(job.status?.message ?? ''),
          { timeoutMs: 60_000, what: 'the quota event in status.message' },
        );
        assert.equal(waiting.status?.state, 'Queued');
        assert.match(condition(waiting, 'Running')!.message, /SCHEDULED\. Batch: .*CODE_GCE_QUOTA_EXCEEDED/);
        const wide = await kubectl(['get', 'drmaa2job', 'quota-wait', '-n', NS, '-o', 'wide']);
        assert.match(wide.stdout.split('\n')[0]!, /MESSAGE/);
        const done = await finished('quota-wait');
        assert.equal(done.status?.state, 'Done');
        assert.equal(done.status?.message, undefined);
      },
    );
  });

  it("a job Batch fails from SCHEDULED reports Batch's reason, with no made-up exit status", async () => {
    await withBatch(
      { faults: { scheduling: [{ kind: 'invalidField', jobIdPrefix: 'bad-field' }] } },
      async () => {
        await apply('bad-field', script('exit 0'));
        const failed = await finished('bad-field');
        assert.equal(failed.status?.state, 'Failed');
        assert.equal(failed.status?.jobInfo?.exitStatus, undefined);
        assert.match(condition(failed, 'Failed')!.message, /CODE_GCE_INVALID_FIELD_VALUE/);
        assert.match(
          failed.status?.jobInfo?.extension?.extensionList?.batch_reason ?? '',
          /CODE_GCE_INVALID_FIELD_VALUE/,
        );
        assert.match(failed.status?.message ?? '', /CODE_GCE_INVALID_FIELD_VALUE/);
      },
    );
  });

  it("a failed task: the exit code from its task, not from the job's events", async () => {
    await withBatch({}, async (emulator) => {
      await apply('exit-code', script('exit 7'));
      const failed = await finished('exit-code');
      assert.equal(failed.status?.jobInfo?.exitStatus, 7);
      const job = emulator.jobs().find((j) => j.name === failed.status?.batchJob?.name)!;
      assert.ok(
        job.status!.statusEvents!.every((e) => e.taskExecution === undefined),
        'job-level events carry no exit code',
      );
    });
  });
});

for (const retryUnmatched of ['fail', 'retry'] as const) {
  describe(`Spot preemption (unlisted exit codes ${retryUnmatched === 'fail' ? 'fail' : 'are retried'})`, () => {
    it('a spot job preempted twice runs to Done and counts both; a failing script is not retried', async () => {
      await withBatch(
        {
          retryUnmatched,
          faults: { preemption: [{ jobIdPrefix: `spot-twice-${retryUnmatched}`, perTask: 2, afterMs: 100 }] },
        },
        async (emulator) => {
          const spot = { extension: { extensionList: { spot: 'true' } } };
          await apply(`spot-twice-${retryUnmatched}`, script('sleep 1', spot));
          await apply(
            `spot-fails-${retryUnmatched}`,
            script('echo attempt-$BATCH_TASK_RETRY_ATTEMPT; exit 3', spot),
          );
          const done = await finished(`spot-twice-${retryUnmatched}`);
          assert.equal(done.status?.state, 'Done');
          assert.equal(done.status?.preemptions, 2);
          assert.equal(done.status?.jobInfo?.extension?.extensionList?.preemptions, '2');
          const failed = await finished(`spot-fails-${retryUnmatched}`);
          assert.equal(failed.status?.jobInfo?.exitStatus, 3);
          const log = emulator.taskLog(failed.status!.batchJob!.name, 0);
          assert.deepEqual(log.match(/attempt-\d+/g), ['attempt-0'], 'its own failure is not retried');
        },
      );
    });
  });
}
