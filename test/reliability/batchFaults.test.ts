// Batch faults: the emulator fails 30% of all calls with UNAVAILABLE or DEADLINE_EXCEEDED, adds latency
// spikes, and enforces a per-minute mutation quota far below the controller's ceiling. Every job still
// converges to its right end state with one Batch job; once throttled the controller keeps its calls
// within the quota; Synced=False says why while it struggles and is True again at the end.
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import type { Drmaa2Job } from '../../src/api/drmaa2job.js';
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
  startSuite,
  stopSuite,
} from './support.js';

const NS = 'batch-faults';
const JOBS = size('RELIABILITY_FAULT_JOBS', 60);
const MUTATIONS_PER_MINUTE = size('RELIABILITY_MUTATION_QUOTA', 50);
const READS_PER_MINUTE = 400;
const MUTATIONS = new Set(['CreateJob', 'CancelJob', 'DeleteJob']);
/** How long the jobs may take to end through the faults, and then to be Synced again. */
const FINISH_MS = 420_000;
const RESYNC_MS = 60_000;
/** The controller's start, the two waits, and the reading of the results. */
const TIMEOUT_MS = 60_000 + FINISH_MS + RESYNC_MS + 60_000;

let peers: Peers;
let controller: ControllerProcess | undefined;

beforeAll(async () => {
  peers = await startSuite([NS]);
});

afterAll(async () => {
  await stopSuite(peers, controller);
});

/** Most calls in any sliding minute. */
function maxPerMinute(times: number[]): number {
  let max = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= 60_000) j++;
    max = Math.max(max, i - j + 1);
  }
  return max;
}

function syncedFalseReasons(items: Drmaa2Job[]): string[] {
  return items.flatMap((r) =>
    (r.status?.conditions ?? [])
      .filter((c) => c.type === 'Synced' && c.status === 'False')
      .map((c) => c.reason),
  );
}

test(
  `${JOBS} jobs through 30% UNAVAILABLE/DEADLINE_EXCEEDED, latency spikes and a ${MUTATIONS_PER_MINUTE}/min quota`,
  { timeout: TIMEOUT_MS },
  async () => {
    peers.emulator.setFaults({
      errors: { '*': { probability: 0.3, codes: ['UNAVAILABLE', 'DEADLINE_EXCEEDED'] } },
      latencyMs: 2,
      spikeMs: 1500,
      spikeProbability: 0.05,
    });
    peers.emulator.setQuota({ mutationsPerMinute: MUTATIONS_PER_MINUTE, readsPerMinute: READS_PER_MINUTE });
    const created = new CreatedJobs(peers.emulator);
    controller = await controllerFor(peers, 'faults', ['--concurrency', '8']);
    await applyAll(
      peers,
      Array.from({ length: JOBS }, (_, i) => jobManifest(NS, `job-${i}`, { exitCode: i % 4 === 3 ? 2 : 0 })),
    );

    const seenReasons = new Set<string>();
    await eventually(
      'every job to finish',
      async () => {
        const items = await listJobs(peers, NS);
        for (const reason of syncedFalseReasons(items)) seenReasons.add(reason);
        const open = items.filter((r) => !finished(r)).length;
        return open === 0 && items.length === JOBS ? true : `${open} of ${items.length} not finished`;
      },
      FINISH_MS,
      1000,
    );
    // The struggle is over: calls succeed again, and every resource reports Synced=True.
    peers.emulator.setFaults({});
    await eventually(
      'Synced=True everywhere',
      async () => {
        const items = await listJobs(peers, NS);
        const notSynced = items.filter(
          (r) => !r.status?.conditions?.some((c) => c.type === 'Synced' && c.status === 'True'),
        );
        return notSynced.length === 0
          ? true
          : `${notSynced.length} not Synced (${syncedFalseReasons(notSynced).join(', ')})`;
      },
      RESYNC_MS,
    );

    const items = await listJobs(peers, NS);
    for (const r of items) {
      const index = Number(r.metadata.name.split('-')[1]);
      assert.equal(
        r.status?.state,
        index % 4 === 3 ? 'Failed' : 'Done',
        `${r.metadata.name} ended ${r.status?.state}`,
      );
      assert.equal(
        created.byUid.get(r.metadata.uid)?.size,
        1,
        `${r.metadata.name} has exactly one Batch job`,
      );
    }
    assert.deepEqual(created.duplicates(), []);

    const log = peers.emulator.callLog();
    const injected = log.filter((c) => c.code === 'UNAVAILABLE' || c.code === 'DEADLINE_EXCEEDED').length;
    const refused = log.filter((c) => c.code === 'RESOURCE_EXHAUSTED');
    assert.ok(injected > 10, `faults were injected (${injected})`);
    assert.ok(refused.length > 0, 'the quota was met');
    const throttledAt = refused[0]!.at;
    const attempts = log.filter((c) => MUTATIONS.has(c.method) && c.at > throttledAt).map((c) => c.at);
    const worst = maxPerMinute(attempts);
    // Once throttled, the rate stays under the quota; probing back up may meet a full window a few times.
    assert.ok(
      worst <= Math.ceil(MUTATIONS_PER_MINUTE * 1.1),
      `mutation calls in a minute once throttled: ${worst} (quota ${MUTATIONS_PER_MINUTE})`,
    );

    // While it struggled, the resources said why (conditions seen, and the Warning Events that stay).
    const events = await peers.controlPlane.kubectl(['get', 'events.events.k8s.io', '-n', NS, '-o', 'json']);
    const notes = (JSON.parse(events.stdout) as { items: { reason?: string; note?: string }[] }).items
      .filter((e) => e.reason === 'BatchError')
      .map((e) => e.note ?? '');
    assert.ok(
      notes.some((n) => n.startsWith('BatchUnavailable')),
      'a Warning Event says BatchUnavailable',
    );
    assert.ok(
      notes.some((n) => n.startsWith('BatchQuotaExceeded')),
      'a Warning Event says BatchQuotaExceeded',
    );
    assert.ok(seenReasons.size > 0, 'Synced=False was seen while it struggled');
    assert.deepEqual(crashLines(controller), []);
    created.stop();
    console.log(
      `batch faults: ${JOBS} jobs, ${injected} injected UNAVAILABLE/DEADLINE_EXCEEDED, ${refused.length} RESOURCE_EXHAUSTED, ` +
        `worst minute once throttled ${worst}/${MUTATIONS_PER_MINUTE} mutations, Synced=False reasons seen: ${[...seenReasons].join(', ')}; 0 duplicates, 0 lost`,
    );
  },
);
