// Kueue's decisions reach the controller by its watch of the Workloads, not by a timer: with a poll interval
// of a minute, an admission is acted on (the Batch job submitted) and a preemption too (the Batch job
// cancelled, the job requeued, the preemptor submitted) within seconds, each well before a timed look could
// have come. A real Kueue decides; the controller runs as its ServiceAccount with deploy/kueue/.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import type { Drmaa2Job } from '../../src/api/drmaa2job.js';
import type { RunningController } from '../../src/cli/controller.js';
import { apiServerRequests, difference } from '../support/apiServerMetrics.js';
import { readDrmaa2Job } from '../support/drmaa2Jobs.js';
import { startKueue, type Kueue } from '../support/kueue.js';
import { KUEUE_API, queuedJob, queues, resourceFlavor } from '../support/kueueQueues.js';
import { PROJECT_ROOT } from '../support/peers.js';
import { startInProcessController } from '../support/inProcessController.js';
import { startPeers, type Peers } from '../support/startPeers.js';
import { waitUntil } from '../support/wait.js';

const NS = 'kueue-watch';
/** Far below the poll interval (and the resync after it): only the watch can make these waits. */
const POLL_INTERVAL = '60s';
const WITHIN_MS = 25_000;

let peers: Peers;
let kueue: Kueue;
let controller: RunningController;

beforeAll(async () => {
  peers = await startPeers();
  kueue = await startKueue(peers.controlPlane, { externalFrameworks: ['Drmaa2Job.v1alpha1.drmaa2.io'] });
  await peers.controlPlane.apply(readFileSync(join(PROJECT_ROOT, 'deploy', 'kueue', 'rbac.yaml'), 'utf8'));
  expect((await peers.controlPlane.kubectl(['create', 'namespace', NS])).code).toBe(0);
  const docs = [
    resourceFlavor('default-flavor'),
    { apiVersion: KUEUE_API, kind: 'WorkloadPriorityClass', metadata: { name: 'low' }, value: 10 },
    { apiVersion: KUEUE_API, kind: 'WorkloadPriorityClass', metadata: { name: 'high' }, value: 1000 },
    ...queues(NS, 'watch-cq', 'watched', { cpu: '2', preemption: { withinClusterQueue: 'LowerPriority' } }),
  ];
  await peers.controlPlane.apply(docs.map((doc) => dump(doc)).join('---\n'));
  controller = await startInProcessController(peers, {
    session: 'kueue-watch',
    kueue: true,
    pollInterval: POLL_INTERVAL,
  });
});

afterAll(async () => {
  await controller?.stop();
  await kueue?.stop();
  await peers?.stop();
});

const job = (name: string, priorityClass: string, script: string) =>
  queuedJob(NS, name, script, { queue: 'watched', priorityClass });

const get = (name: string) => readDrmaa2Job(peers.controlPlane.kubectl, NS, name);

async function apply(doc: unknown): Promise<void> {
  const r = await peers.controlPlane.kubectl(['apply', '-f', '-'], { input: JSON.stringify(doc) });
  expect(r.code, r.stderr).toBe(0);
}

const batchJobsOf = (resource: Drmaa2Job) =>
  peers.emulator.jobs().filter((j) => j.labels?.['drmaa2-uid'] === resource.metadata.uid);

it('an admission and a preemption are acted on as Kueue decides them, with a poll interval of a minute', async () => {
  // Its first pass makes the Workload, before Kueue has looked at it: only Kueue's admission, seen by the
  // watch, brings it back before the minute is up.
  await apply(job('steady', 'low', 'sleep 600'));
  await waitUntil(
    'steady to be submitted once Kueue admitted it',
    async () => !!(await get('steady')).status?.batchJob,
    {
      timeoutMs: WITHIN_MS,
      intervalMs: 200,
      process: kueue.process(),
    },
  );
  const first = (await get('steady')).status!.batchJob!.name;

  // A higher priority takes the quota: Kueue evicts steady, the watch brings it, its Batch job is cancelled
  // and the Workload requeued, and Kueue admits the urgent one, which the watch brings too.
  await apply(job('urgent', 'high', 'echo urgent'));
  await waitUntil(
    'steady cancelled and requeued, urgent submitted',
    async () => {
      const [steady, urgent] = await Promise.all([get('steady'), get('urgent')]);
      return steady.status?.state === 'Requeued' && !!urgent.status?.batchJob;
    },
    { timeoutMs: WITHIN_MS, intervalMs: 200, process: kueue.process() },
  );
  const steady = await get('steady');
  expect(steady.status?.subState).toBe('PENDING_ADMISSION');
  expect(steady.status?.attempts?.[0]).toMatchObject({ attempt: 0, batchJob: first, reason: 'Preempted' });
  expect(batchJobsOf(steady).map((j) => [j.name, j.status?.state])).toEqual([[first, 'CANCELLED']]);
  expect(batchJobsOf(await get('urgent'))).toHaveLength(1);
  // Requeued, steady costs nothing while it waits: Kueue leaves its Evicted condition True until the next
  // admission, and that must not read as an eviction still to act on (a GET and a status patch each pass).
  const before = await apiServerRequests(peers.controlPlane.kubectl);
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  const moved = difference(before, await apiServerRequests(peers.controlPlane.kubectl));
  expect(moved['GET workloads'] ?? 0, JSON.stringify(moved)).toBe(0);
  expect(moved['PATCH workloads/status'] ?? 0, JSON.stringify(moved)).toBe(0);
  // And the platform team can count it.
  const metrics = await (await fetch(`http://127.0.0.1:${controller.metricsPort}/metrics`)).text();
  expect(metrics).toMatch(/^drmaa2_kueue_requeues_total\{reason="Preempted"\} 1$/m);
});
