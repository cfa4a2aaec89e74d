// Leader failover: two controller processes with leader election; the leader is killed with SIGKILL (it
// cannot release the Lease) twice in a row. The standby takes over once the Lease expires, never while the
// other still reconciles, and the emulator sees no Batch job created twice.
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import type { ControllerProcess, LogLine } from '../support/controllerProcess.js';
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

const NS = 'leader-failover';
const JOBS = size('RELIABILITY_LEADER_JOBS', 40);
const LEASE_SECONDS = 4;
const RETRY_MS = 500;
const ELECTION = [
  '--leader-elect',
  '--lease-duration',
  `${LEASE_SECONDS}s`,
  '--renew-deadline',
  '3s',
  '--retry-period',
  `${RETRY_MS}ms`,
];

interface Lease {
  holderIdentity?: string;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

let peers: Peers;
const controllers: ControllerProcess[] = [];

beforeAll(async () => {
  peers = await startSuite([NS]);
});

afterAll(async () => {
  await stopSuite(peers, ...controllers);
});

async function lease(): Promise<Lease> {
  const r = await peers.controlPlane.kubectl([
    'get',
    'lease',
    'drmaa2-batch-controller',
    '-n',
    'drmaa2-system',
    '-o',
    'json',
  ]);
  if (r.code !== 0) return {};
  return (JSON.parse(r.stdout) as { spec: Lease }).spec;
}

function holderOf(l: Lease): ControllerProcess | undefined {
  return controllers.find((c) => c.running() && l.holderIdentity === `${c.name}_${c.pid()}`);
}

function times(lines: LogLine[], msg: string): number[] {
  return lines.filter((l) => l.msg === msg).map((l) => Number(l.time));
}

/** Kills the leader and waits for the other to take over; returns [old, new]. */
async function failOver(): Promise<[ControllerProcess, ControllerProcess]> {
  const before = await lease();
  const leader = holderOf(before);
  assert.ok(leader, `a running instance holds the Lease (${before.holderIdentity})`);
  await leader.kill();
  const killedAt = Date.now();
  let after: Lease = {};
  await eventually(
    'the standby to take over',
    async () => {
      after = await lease();
      const holder = holderOf(after);
      return holder && holder !== leader ? true : `held by ${after.holderIdentity}`;
    },
    30_000,
    200,
  );
  const standby = holderOf(after)!;
  // The Lease's own record: the new holder acquired it once the old one's last renewal had expired.
  const lastRenew = Date.parse(before.renewTime ?? '');
  const acquired = Date.parse(after.acquireTime ?? '');
  assert.ok(acquired - lastRenew >= LEASE_SECONDS * 1000 - 1000, 'not before the Lease expired');
  assert.ok(
    acquired - lastRenew <= (LEASE_SECONDS + 4) * 1000,
    `taken over within the lease duration and a few retries (${acquired - lastRenew} ms after the last renewal)`,
  );
  assert.ok(acquired >= killedAt - LEASE_SECONDS * 1000);
  assert.equal(after.leaseTransitions, (before.leaseTransitions ?? 0) + 1);
  // No overlap: the killed leader's last reconcile ended before the new leader started reconciling.
  // The Lease can show the new holder before its log line reaches the file: wait for the line.
  let startedNew = -Infinity;
  await eventually(
    'the new leader to log that it started reconciling',
    async () => {
      startedNew = Math.max(...times(standby.logs(), 'Reconciling started'));
      return startedNew >= killedAt ? true : 'not yet';
    },
    10_000,
    100,
  );
  const lastOld = Math.max(...times(leader.logs(), 'Reconciled'), 0);
  assert.ok(lastOld < startedNew, 'the new leader started after the old one did its last reconcile');
  return [leader, standby];
}

test(`two instances, the leader SIGKILLed twice while ${JOBS} jobs flow: one reconciler at a time, no duplicate`, async () => {
  const created = new CreatedJobs(peers.emulator);
  controllers.push(await controllerFor(peers, 'instance-a', ELECTION));
  controllers.push(await controllerFor(peers, 'instance-b', ELECTION));
  await eventually('a leader', async () => (holderOf(await lease()) ? true : 'none'), 30_000, 200);

  await applyAll(
    peers,
    Array.from({ length: JOBS / 2 }, (_, i) => jobManifest(NS, `first-${i}`, { command: 'sleep 1' })),
  );
  await sleep(1000);
  const [firstLeader] = await failOver();
  await firstLeader.restart();
  await applyAll(
    peers,
    Array.from({ length: JOBS / 2 }, (_, i) => jobManifest(NS, `second-${i}`, { command: 'sleep 1' })),
  );
  await sleep(1000);
  await failOver();

  await eventually(
    'every job to finish',
    async () => {
      const items = await listJobs(peers, NS);
      const open = items.filter((r) => !finished(r)).length;
      return open === 0 && items.length === JOBS ? true : `${open} of ${items.length} not finished`;
    },
    120_000,
  );
  const items = await listJobs(peers, NS);
  for (const r of items) {
    assert.equal(r.status?.state, 'Done', r.metadata.name);
    assert.equal(created.byUid.get(r.metadata.uid)?.size, 1, `${r.metadata.name}: one Batch job`);
  }
  // A leader killed between CreateJob and its status write leaves the create to its successor, which repeats
  // it with the same job ID and request ID: Batch answers with the job that exists, nothing is created twice.
  const creates = peers.emulator.callLog().filter((c) => c.method === 'CreateJob' && c.code === 'OK');
  assert.equal(new Set(creates.map((c) => c.jobId)).size, JOBS, 'one Batch job ID per resource');
  assert.equal(peers.emulator.jobs().length, JOBS, 'and one Batch job each');
  assert.deepEqual(created.duplicates(), []);
  for (const c of controllers) assert.deepEqual(crashLines(c), [], `${c.name}: no error-level line`);
  created.stop();
  console.log(
    `leader: ${JOBS} jobs, 2 SIGKILLed leaders, ${creates.length} CreateJob answers for ${JOBS} Batch jobs, 0 duplicates`,
  );
});
