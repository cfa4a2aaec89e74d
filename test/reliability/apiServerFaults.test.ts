// API server faults: kube-apiserver restarted mid-run, etcd restarted mid-run, and the controller's watch
// expired (410 Gone) by an etcd compaction past its resourceVersion. The controller recovers by itself each
// time: nothing lost, nothing submitted twice. The API server runs without its watch cache and ends watches
// after a few seconds, so the informer re-watches from its last resourceVersion as it would after any
// dropped connection, and meets the compaction.
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import type { ControllerProcess } from '../support/controllerProcess.js';
import type { Peers } from '../support/startPeers.js';
import {
  applyAll,
  controllerFor,
  crashLines,
  CreatedJobs,
  eventually,
  finished,
  jobManifest,
  listJobs,
  size,
  sleep,
  startSuite,
  stopSuite,
} from './support.js';

const NS = 'apiserver-faults';
const JOBS = size('RELIABILITY_APISERVER_JOBS', 30);

let peers: Peers;
let controller: ControllerProcess;
let created: CreatedJobs;
let applied = 0;

beforeAll(async () => {
  peers = await startSuite([NS], { apiServerArgs: ['--watch-cache=false', '--min-request-timeout=3'] });
  created = new CreatedJobs(peers.emulator);
  controller = await controllerFor(peers, 'apiserver-faults', ['--concurrency', '8']);
});

afterAll(async () => {
  created?.stop();
  await stopSuite(peers, controller);
});

/** Applies `n` more jobs: some finish at once, some run for a few seconds. */
async function applyMore(n: number, prefix: string): Promise<void> {
  const manifests = Array.from({ length: n }, (_, i) =>
    jobManifest(NS, `${prefix}-${i}`, { command: i % 3 === 0 ? 'sleep 3' : 'true' }),
  );
  await applyAll(peers, manifests);
  applied += n;
}

async function allFinished(): Promise<void> {
  await eventually(
    'every job to finish',
    async () => {
      const items = await listJobs(peers, NS);
      const open = items.filter((r) => !finished(r) || r.status?.state !== 'Done').length;
      return open === 0 && items.length === applied ? true : `${open} of ${items.length} not Done`;
    },
    180_000,
    1000,
  );
  const items = await listJobs(peers, NS);
  for (const r of items)
    assert.equal(created.byUid.get(r.metadata.uid)?.size, 1, `${r.metadata.name}: one Batch job`);
  assert.deepEqual(created.duplicates(), []);
}

async function etcdCall(path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${peers.controlPlane.etcdUrl}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as Record<string, unknown>;
}

/** Writes a key outside Kubernetes' prefix twice (moving etcd's revision on) and compacts up to the newest
 * revision, so that every version before the first write is gone. */
async function compactEtcd(): Promise<number> {
  let revision = 0;
  for (let i = 0; i < 2; i++) {
    const put = await etcdCall('/v3/kv/put', {
      key: Buffer.from('/drmaa2-test/revision-bump').toString('base64'),
      value: Buffer.from(String(Date.now() + i)).toString('base64'),
    });
    revision = Number((put.header as { revision: string }).revision);
  }
  await etcdCall('/v3/kv/compaction', { revision: String(revision), physical: true });
  return revision;
}

async function listCount(): Promise<number> {
  const r = await peers.controlPlane.kubectl(['get', '--raw', '/metrics']);
  assert.equal(r.code, 0, r.stderr);
  let total = 0;
  for (const line of r.stdout.split('\n')) {
    if (
      line.startsWith('apiserver_request_total{') &&
      /resource="drmaa2jobs"/.test(line) &&
      /verb="LIST"/.test(line)
    ) {
      total += Number(line.split(' ').at(-1));
    }
  }
  return total;
}

test('kube-apiserver restarted mid-run', async () => {
  await applyMore(JOBS, 'apiserver');
  await sleep(1500);
  await peers.controlPlane.restartApiServer();
  await applyMore(10, 'after-apiserver');
  await allFinished();
});

test('etcd restarted mid-run', async () => {
  await applyMore(JOBS, 'etcd');
  await sleep(1500);
  await peers.controlPlane.restartEtcd();
  await applyMore(10, 'after-etcd');
  await allFinished();
});

test('the watch expires (410 Gone): the informer lists again and misses nothing', async () => {
  await applyMore(5, 'before-410');
  await allFinished();
  const list = await peers.controlPlane.kubectl([
    'get',
    '--raw',
    '/apis/drmaa2.io/v1alpha1/drmaa2jobs?limit=1',
  ]);
  const seenVersion = (JSON.parse(list.stdout) as { metadata: { resourceVersion: string } }).metadata
    .resourceVersion;
  const listsBefore = await listCount();
  await compactEtcd();

  // The version the controller last saw is gone: a watch from it is answered 410.
  const watch = await peers.controlPlane.kubectl([
    'get',
    '--raw',
    `/apis/drmaa2.io/v1alpha1/drmaa2jobs?watch=1&resourceVersion=${seenVersion}&timeoutSeconds=1`,
  ]);
  assert.match(watch.stdout + watch.stderr, /"code":410/, 'a watch from the old version is expired');

  // Its watch ends within seconds (--min-request-timeout); re-watching meets the 410 and it lists again.
  await eventually(
    'the controller to list again',
    async () => ((await listCount()) > listsBefore ? true : 'no LIST yet'),
    30_000,
  );
  await applyMore(10, 'after-410');
  await allFinished();
  assert.deepEqual(crashLines(controller), [], 'no error-level log line and no crash output');
  assert.equal(controller.exits().length, 0, 'the controller never exited');
  console.log(
    `apiserver faults: ${applied} jobs through a kube-apiserver restart, an etcd restart and a 410; ` +
      `${created.total()} Batch jobs, 0 duplicates, 0 lost`,
  );
});
