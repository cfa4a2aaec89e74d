// Two controllers with leader election on the real API server (Lease in drmaa2-system, the shipped RBAC):
// only the leader reconciles, the standby takes over when the leader stops, and the emulator's call log shows
// no Batch job created twice.
import { afterAll, beforeAll, expect, test } from 'vitest';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { runController, type RunningController } from '../../src/cli/controller.js';
import { parseConfig } from '../../src/controller/config.js';
import { startPeers, type Peers } from '../support/startPeers.js';

const NS = 'leader';
let peers: Peers;
const running: RunningController[] = [];

async function start(name: string): Promise<RunningController> {
  const parsed = parseConfig(
    {
      kubeconfig: peers.controlPlane.kubeconfigController,
      pollInterval: '500ms',
      metricsAddr: '127.0.0.1:0',
      healthAddr: '127.0.0.1:0',
      session: 'leader',
      leaderElect: true,
    },
    { BATCH_EMULATOR_HOST: peers.emulator.host, STORAGE_EMULATOR_HOST: peers.storageEmulatorHost },
  );
  assert.ok(parsed.ok);
  // The identity comes from POD_NAME, as in a Deployment; each instance here gets its own.
  process.env.POD_NAME = name;
  const controller = await runController(parsed.config, pino({ level: 'silent' }));
  delete process.env.POD_NAME;
  running.push(controller);
  return controller;
}

async function apply(name: string): Promise<void> {
  const manifest = {
    apiVersion: 'drmaa2.io/v1alpha1',
    kind: 'Drmaa2Job',
    metadata: { name, namespace: NS },
    spec: {
      jobTemplate: {
        remoteCommand: 'sleep 0.2',
        jobCategory: '$script$',
        candidateMachines: ['e2-standard-2'],
      },
    },
  };
  const r = await peers.controlPlane.kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
  assert.equal(r.code, 0, r.stderr);
}

async function finished(name: string): Promise<void> {
  const r = await peers.controlPlane.kubectl([
    'wait',
    '--for=condition=Finished',
    `drmaa2job/${name}`,
    '-n',
    NS,
    '--timeout=60s',
  ]);
  assert.equal(r.code, 0, r.stderr);
}

async function until(check: () => boolean, what: string): Promise<void> {
  await expect.poll(check, { message: what, timeout: 30_000, interval: 100 }).toBe(true);
}

beforeAll(async () => {
  peers = await startPeers();
  assert.equal((await peers.controlPlane.kubectl(['create', 'namespace', NS])).code, 0);
});

afterAll(async () => {
  for (const c of running) await c.stop().catch(() => undefined);
  await peers?.stop();
});

test('one leader reconciles; the standby takes over when it stops; nothing is created twice', async () => {
  const a = await start('controller-a');
  const b = await start('controller-b');
  await until(() => a.runner.isWorking() || b.runner.isWorking(), 'a leader is elected');
  assert.equal(a.runner.isWorking() && b.runner.isWorking(), false, 'never two leaders');
  const [leader, standby] = a.runner.isWorking() ? [a, b] : [b, a];
  for (let i = 0; i < 5; i++) await apply(`first-${i}`);
  for (let i = 0; i < 5; i++) await finished(`first-${i}`);
  assert.equal(standby.runner.isWorking(), false);

  await leader.stop();
  await until(() => standby.runner.isWorking(), 'the standby takes over');
  for (let i = 0; i < 3; i++) await apply(`second-${i}`);
  for (let i = 0; i < 3; i++) await finished(`second-${i}`);

  const created = new Map<string, number>();
  for (const call of peers.emulator.callLog()) {
    if (call.method === 'CreateJob' && call.code === 'OK')
      created.set(call.jobId!, (created.get(call.jobId!) ?? 0) + 1);
  }
  assert.equal(created.size, 8, 'one Batch job per resource');
  assert.deepEqual(
    [...created.values()].filter((n) => n > 1),
    [],
    'no duplicate creates',
  );
});
