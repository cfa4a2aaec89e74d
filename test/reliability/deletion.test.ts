// Deletion edge cases: deleting a Drmaa2Job while it is being submitted, while it runs, while its Batch job
// is being cancelled, after its Batch job vanished out of band, while the Batch API fails, and deleting the
// whole namespace (kube-controller-manager's namespace controller runs here). Each time the resource goes,
// its Batch job goes with it (unless the policy is Orphan), and nothing waits forever.
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { FINALIZER, LABEL_NAME, LABEL_NAMESPACE, type Drmaa2Job } from '../../src/api/drmaa2job.js';
import { createBatchJobs } from '../../src/adapters/batch/index.js';
import type { ControllerProcess } from '../support/controllerProcess.js';
import type { Peers } from '../support/startPeers.js';
import {
  applyAll,
  controllerFor,
  crashLines,
  eventually,
  getJob,
  jobManifest,
  sleep,
  startSuite,
  stopSuite,
} from './support.js';

const NS = 'deletion';
let peers: Peers;
let controller: ControllerProcess;

beforeAll(async () => {
  peers = await startSuite([NS], { controllerManager: true });
  controller = await controllerFor(peers, 'deletion', ['--concurrency', '4']);
});

afterAll(async () => {
  await stopSuite(peers, controller);
});

function batchJobsOf(namespace: string, name: string) {
  return peers.emulator
    .jobs()
    .filter((j) => j.labels?.[LABEL_NAMESPACE] === namespace && j.labels?.[LABEL_NAME] === name);
}

async function remove(name: string, namespace = NS): Promise<void> {
  const r = await peers.controlPlane.kubectl(['delete', 'drmaa2job', name, '-n', namespace, '--wait=false']);
  assert.equal(r.code, 0, r.stderr);
}

async function gone(name: string, namespace = NS, timeoutMs = 60_000): Promise<void> {
  await eventually(
    `${namespace}/${name} and its Batch job to be gone`,
    async () => {
      const resource = await getJob(peers, namespace, name);
      const batch = batchJobsOf(namespace, name);
      if (!resource && batch.length === 0) return true;
      return `resource ${resource ? 'still there' : 'gone'}, Batch jobs: ${batch.map((j) => j.status?.state).join(',')}`;
    },
    timeoutMs,
    300,
  );
}

async function until(name: string, check: (r: Drmaa2Job) => boolean, what: string): Promise<Drmaa2Job> {
  let found: Drmaa2Job | undefined;
  await eventually(
    `${name} ${what}`,
    async () => {
      found = await getJob(peers, NS, name);
      return found && check(found) ? true : `state ${found?.status?.state}/${found?.status?.subState}`;
    },
    60_000,
    200,
  );
  return found!;
}

test('deleted while the CreateJob call is in flight', async () => {
  peers.emulator.setFaults({ latencyMs: 1500 });
  try {
    await applyAll(peers, [jobManifest(NS, 'while-submitting', { command: 'sleep 30' })]);
    await eventually(
      'CreateJob to be in flight',
      async () =>
        (await getJob(peers, NS, 'while-submitting'))?.metadata.finalizers?.includes(FINALIZER)
          ? true
          : 'no finalizer yet',
      30_000,
      50,
    );
    await remove('while-submitting');
  } finally {
    peers.emulator.setFaults({});
  }
  await gone('while-submitting');
  const creates = peers.emulator
    .callLog()
    .filter((c) => c.method === 'CreateJob' && c.jobId?.startsWith('while-submitting'));
  assert.equal(creates.length, 1, 'the create that was in flight happened, once');
});

test('deleted while running: the Batch job is cancelled, then deleted', async () => {
  await applyAll(peers, [jobManifest(NS, 'while-running', { command: 'sleep 30' })]);
  await until('while-running', (r) => r.status?.state === 'Running', 'to run');
  await remove('while-running');
  await gone('while-running');
  const verbs = peers.emulator
    .callLog()
    .filter((c) => c.jobId?.startsWith('while-running') && c.code === 'OK');
  assert.ok(
    verbs.some((c) => c.method === 'CancelJob'),
    'cancelled first',
  );
  assert.ok(
    verbs.some((c) => c.method === 'DeleteJob'),
    'then deleted',
  );
});

test('deleted while its Batch job is being cancelled (terminate)', async () => {
  await applyAll(peers, [jobManifest(NS, 'while-cancelling', { command: 'sleep 30' })]);
  await until('while-cancelling', (r) => r.status?.state === 'Running', 'to run');
  peers.emulator.setFaults({ latencyMs: 400 });
  try {
    const patch = await peers.controlPlane.kubectl([
      'patch',
      'drmaa2job',
      'while-cancelling',
      '-n',
      NS,
      '--type=merge',
      '-p',
      '{"spec":{"terminate":true}}',
    ]);
    assert.equal(patch.code, 0, patch.stderr);
    await eventually(
      'the cancel to start',
      async () =>
        peers.emulator
          .callLog()
          .some((c) => c.method === 'CancelJob' && c.jobId?.startsWith('while-cancelling'))
          ? true
          : 'no cancel yet',
      30_000,
      50,
    );
    await remove('while-cancelling');
  } finally {
    peers.emulator.setFaults({});
  }
  await gone('while-cancelling');
});

test('deleted after its Batch job vanished out of band', async () => {
  await applyAll(peers, [jobManifest(NS, 'vanished', { command: 'sleep 30' })]);
  const running = await until('vanished', (r) => r.status?.state === 'Running', 'to run');
  // Someone else removes the Batch job with the real client.
  const batch = createBatchJobs({ projectId: 'emulator', emulatorHost: peers.emulator.host });
  try {
    await batch.cancelJob(running.status!.batchJob!.name);
    await eventually(
      'the cancel to end',
      async () => (batchJobsOf(NS, 'vanished')[0]?.status?.state === 'CANCELLED' ? true : 'not yet'),
      30_000,
      100,
    );
    await batch.deleteJob(running.status!.batchJob!.name);
  } finally {
    await batch.close();
  }
  await eventually(
    'the Batch job to be gone',
    async () => (batchJobsOf(NS, 'vanished').length === 0 ? true : 'still there'),
    30_000,
    100,
  );
  await remove('vanished');
  await gone('vanished');
});

test('deleted while the Batch API fails: the finalizer stays until Batch answers again', async () => {
  await applyAll(peers, [jobManifest(NS, 'batch-down', { command: 'sleep 30' })]);
  await until('batch-down', (r) => r.status?.state === 'Running', 'to run');
  peers.emulator.setFaults({ errors: { '*': { probability: 1, codes: ['UNAVAILABLE'] } } });
  try {
    await remove('batch-down');
    const waiting = await until(
      'batch-down',
      (r) => r.status?.conditions?.some((c) => c.type === 'Synced' && c.status === 'False') ?? false,
      'to report that it cannot sync',
    );
    const synced = waiting.status!.conditions!.find((c) => c.type === 'Synced')!;
    assert.equal(synced.reason, 'BatchUnavailable');
    assert.ok(waiting.metadata.deletionTimestamp, 'deletion requested');
    assert.ok(
      waiting.metadata.finalizers?.includes(FINALIZER),
      'the finalizer holds while Batch cannot confirm',
    );
    assert.equal(batchJobsOf(NS, 'batch-down').length, 1, 'the Batch job is still there');
  } finally {
    peers.emulator.setFaults({});
  }
  await gone('batch-down', NS, 120_000);
});

test('the namespace is deleted with jobs in it', async () => {
  const ns = 'doomed';
  assert.equal((await peers.controlPlane.kubectl(['create', 'namespace', ns])).code, 0);
  await applyAll(peers, [
    jobManifest(ns, 'running-1', { command: 'sleep 30' }),
    jobManifest(ns, 'running-2', { command: 'sleep 30' }),
    jobManifest(ns, 'done-1'),
    jobManifest(ns, 'kept', { command: 'sleep 30', deletionPolicy: 'Orphan' }),
  ]);
  await eventually(
    'all four to be submitted',
    async () => {
      const names = ['running-1', 'running-2', 'done-1', 'kept'];
      const submitted = names.filter((n) => batchJobsOf(ns, n).length === 1).length;
      return submitted === 4 ? true : `${submitted} of 4`;
    },
    60_000,
    200,
  );
  await sleep(500);
  const r = await peers.controlPlane.kubectl(['delete', 'namespace', ns, '--wait=false']);
  assert.equal(r.code, 0, r.stderr);
  await eventually(
    'the namespace to be gone',
    async () => {
      const got = await peers.controlPlane.kubectl(['get', 'namespace', ns]);
      return got.code !== 0 && /NotFound/.test(got.stderr) ? true : 'still there';
    },
    120_000,
    1000,
  );
  for (const name of ['running-1', 'running-2', 'done-1'])
    assert.equal(batchJobsOf(ns, name).length, 0, `${name}'s Batch job deleted`);
  assert.equal(batchJobsOf(ns, 'kept').length, 1, 'the Orphan policy kept its Batch job');
  assert.deepEqual(crashLines(controller), []);
});
