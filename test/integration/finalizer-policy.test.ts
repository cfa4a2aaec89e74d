// deploy/finalizer-policy/ on the real API server: the finalizer is on from each Drmaa2Job's create, so the
// controller writes no finalizer patch before it submits; a server-side re-apply by another field manager
// (as Argo CD does) keeps it; a resource deleted before the controller ever saw it goes without a Batch job.
import { afterAll, beforeAll, describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { runController, type RunningController } from '../../src/cli/controller.js';
import { parseConfig } from '../../src/controller/config.js';
import { FINALIZER, type Drmaa2Job } from '../../src/api/drmaa2job.js';
import { startPeers, type Peers } from '../support/startPeers.js';

const NS = 'policy';
let peers: Peers;
let controller: RunningController | undefined;

async function startController(): Promise<RunningController> {
  const parsed = parseConfig(
    {
      kubeconfig: peers.controlPlane.kubeconfigController,
      pollInterval: '500ms',
      metricsAddr: '127.0.0.1:0',
      healthAddr: '127.0.0.1:0',
      session: 'policy',
    },
    { BATCH_EMULATOR_HOST: peers.emulator.host, STORAGE_EMULATOR_HOST: peers.storageEmulatorHost },
  );
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return runController(parsed.config, pino({ level: process.env.DRMAA2_TEST_LOG ?? 'silent' }));
}

async function kubectl(args: string[], input?: string) {
  return peers.controlPlane.kubectl(args, input === undefined ? {} : { input });
}

function manifest(name: string, hold = false): string {
  return [
    'apiVersion: drmaa2.io/v1alpha1',
    'kind: Drmaa2Job',
    `metadata: {name: ${name}, namespace: ${NS}}`,
    'spec:',
    `  hold: ${hold}`,
    '  jobTemplate: {remoteCommand: "sleep 0.5", jobCategory: "$script$", candidateMachines: [e2-standard-2]}',
  ].join('\n');
}

async function get(name: string): Promise<Drmaa2Job | undefined> {
  const r = await kubectl(['get', 'drmaa2job', name, '-n', NS, '-o', 'json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as Drmaa2Job) : undefined;
}

/** The controller's finalizer patches so far, from its own metrics. */
async function finalizerPatches(running: RunningController): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${running.metricsPort}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('drmaa2_kube_api_calls_total{') && l.includes('verb="patchFinalizers"'));
  return line ? Number(line.split(' ').pop()) : 0;
}

function batchJobsOf(uid: string) {
  return peers.emulator.jobs().filter((j) => j.labels?.['drmaa2-uid'] === uid);
}

beforeAll(async () => {
  peers = await startPeers({ finalizerPolicy: true });
  assert.equal((await kubectl(['create', 'namespace', NS])).code, 0);
});

afterAll(async () => {
  await controller?.stop();
  await peers?.stop();
});

describe('the finalizer policy', () => {
  it('a resource deleted before any controller saw it goes once one runs, without a Batch job', async () => {
    const created = await kubectl(['create', '-o', 'json', '-f', '-'], manifest('early'));
    assert.equal(created.code, 0, created.stderr);
    const job = JSON.parse(created.stdout) as Drmaa2Job;
    assert.deepEqual(job.metadata.finalizers, [FINALIZER], 'on from the create');
    assert.equal((await kubectl(['delete', 'drmaa2job', 'early', '-n', NS, '--wait=false'])).code, 0);
    assert.ok((await get('early'))?.metadata.deletionTimestamp, 'held by the finalizer');
    controller = await startController();
    const gone = await kubectl(['wait', '--for=delete', 'drmaa2job/early', '-n', NS, '--timeout=30s']);
    assert.equal(gone.code, 0, gone.stderr);
    assert.equal(batchJobsOf(job.metadata.uid).length, 0, 'nothing was submitted for it');
  });

  it('the controller submits without a finalizer patch; a re-apply by another manager keeps the finalizer', async () => {
    const running = controller!;
    const before = await finalizerPatches(running);
    const apply = (hold: boolean) =>
      kubectl(
        ['apply', '--server-side', '--field-manager=argocd-controller', '-f', '-'],
        manifest('gitops', hold),
      );
    assert.equal((await apply(true)).code, 0);
    const held = await kubectl([
      'wait',
      '--for=jsonpath={.status.state}=QueuedHeld',
      'drmaa2job/gitops',
      '-n',
      NS,
      '--timeout=30s',
    ]);
    assert.equal(held.code, 0, held.stderr);
    assert.equal((await apply(false)).code, 0, 'released by a second apply');
    const done = await kubectl([
      'wait',
      '--for=condition=Finished',
      'drmaa2job/gitops',
      '-n',
      NS,
      '--timeout=60s',
    ]);
    assert.equal(done.code, 0, done.stderr);
    const job = (await get('gitops'))!;
    assert.equal(job.status?.state, 'Done');
    assert.deepEqual(job.metadata.finalizers, [FINALIZER], 'the apply without it did not take it off');
    assert.equal(batchJobsOf(job.metadata.uid).length, 1);
    assert.equal(await finalizerPatches(running), before, 'no finalizer write on the way to Done');

    assert.equal((await kubectl(['delete', 'drmaa2job', 'gitops', '-n', NS, '--timeout=30s'])).code, 0);
    assert.equal(batchJobsOf(job.metadata.uid).length, 0, 'the Batch job went with it');
    assert.equal(await finalizerPatches(running), before + 1, 'one write: the finalizer coming off');
  });
});
