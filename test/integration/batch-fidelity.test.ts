// The controller against Batch as public sources say it behaves (docs/batch-fidelity.md): the real
// kube-apiserver and kubectl, the controller in this process, the emulator through the real
// @google-cloud/batch client, each behaviour switched on in the emulator for the test that needs it.
import { afterAll, afterEach, beforeAll, describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { runController, type RunningController } from '../../src/cli/controller.js';
import { parseConfig } from '../../src/controller/config.js';
import type { Condition, Drmaa2Job } from '../../src/api/drmaa2job.js';
import { startPeers, type Peers } from '../support/startPeers.js';
import { waitUntil } from '../support/wait.js';

const NS = 'fidelity';
let peers: Peers;
let controller: RunningController;

beforeAll(async () => {
  peers = await startPeers();
  assert.equal((await peers.controlPlane.kubectl(['create', 'namespace', NS])).code, 0);
  const parsed = parseConfig(
    {
      kubeconfig: peers.controlPlane.kubeconfigController,
      pollInterval: '500ms',
      metricsAddr: '127.0.0.1:0',
      healthAddr: '127.0.0.1:0',
      session: 'fidelity',
    },
    { BATCH_EMULATOR_HOST: peers.emulator.host, STORAGE_EMULATOR_HOST: peers.storageEmulatorHost },
  );
  assert.ok(parsed.ok, JSON.stringify(parsed));
  controller = await runController(parsed.config, pino({ level: process.env.DRMAA2_TEST_LOG ?? 'silent' }));
});

afterAll(async () => {
  await controller?.stop();
  await peers?.stop();
});

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

async function get(name: string): Promise<Drmaa2Job> {
  const r = await kubectl(['get', 'drmaa2job', name, '-n', NS, '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Drmaa2Job;
}

async function finished(name: string, timeout = '120s'): Promise<Drmaa2Job> {
  const r = await kubectl([
    'wait',
    '--for=condition=Finished',
    `drmaa2job/${name}`,
    '-n',
    NS,
    `--timeout=${timeout}`,
  ]);
  assert.equal(r.code, 0, `${name}: ${r.stderr}\n${JSON.stringify((await get(name)).status, null, 1)}`);
  return get(name);
}

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
    assert.match(ready.body, /batch poll: failing: \d+ failures in a row/);
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
