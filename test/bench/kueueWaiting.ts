// `npm run bench:kueue -- --jobs 200`: what Drmaa2Jobs cost while they wait in a real Kueue's queue, and how
// fast they go once Kueue admits them. N jobs wait behind a ClusterQueue without quota; over a quiet window the
// API server's own counters say what the controller (and Kueue) asked of it per waiting job; then the quota is
// raised and the time until every job has its Batch job is measured. Everything runs on loopback and stops by
// itself.
import { Command } from 'commander';
import { dump } from 'js-yaml';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Drmaa2Job } from '../../src/api/drmaa2job.js';
import { startInProcessController } from '../support/inProcessController.js';
import { startKueue } from '../support/kueue.js';
import { clusterQueue, queuedJob, queues, resourceFlavor } from '../support/kueueQueues.js';
import { PROJECT_ROOT } from '../support/peers.js';
import { startPeers } from '../support/startPeers.js';
import { apiServerRequests, difference } from '../support/apiServerMetrics.js';

const int = (text: string) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`not a positive whole number: ${text}`);
  return n;
};
const opts = new Command('bench:kueue')
  .description('Drmaa2Jobs waiting in a real Kueue: API requests per waiting job, then admission to Batch')
  .option('--jobs <n>', 'how many Drmaa2Jobs wait', int, 200)
  .option('--quiet-seconds <n>', 'how long the waiting is measured', int, 30)
  .option('--poll-interval <duration>', 'the controller poll interval', '1s')
  .parse()
  .opts<{ jobs: number; quietSeconds: number; pollInterval: string }>();

const NS = 'bench-kueue';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const peers = await startPeers();
const kueue = await startKueue(peers.controlPlane, { externalFrameworks: ['Drmaa2Job.v1alpha1.drmaa2.io'] });
const controller = await (async () => {
  await peers.controlPlane.apply(readFileSync(join(PROJECT_ROOT, 'deploy', 'kueue', 'rbac.yaml'), 'utf8'));
  await peers.controlPlane.kubectl(['create', 'namespace', NS]);
  const docs = [resourceFlavor('default-flavor'), ...queues(NS, 'bench-cq', 'bench', { cpu: '0' })];
  await peers.controlPlane.apply(docs.map((doc) => dump(doc)).join('---\n'));
  return startInProcessController(peers, {
    session: 'bench-kueue',
    kueue: true,
    pollInterval: opts.pollInterval,
  });
})();

async function list(): Promise<Drmaa2Job[]> {
  const r = await peers.controlPlane.kubectl(['get', 'drmaa2jobs', '-n', NS, '-o', 'json']);
  if (r.code !== 0) throw new Error(r.stderr);
  return (JSON.parse(r.stdout) as { items: Drmaa2Job[] }).items;
}

async function until(what: string, check: (jobs: Drmaa2Job[]) => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check(await list())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000}s`);
    await sleep(500);
  }
}

try {
  const items = Array.from({ length: opts.jobs }, (_, i) =>
    queuedJob(NS, `wait-${i}`, 'true', { queue: 'bench' }),
  );
  const applied = await peers.controlPlane.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }),
  });
  if (applied.code !== 0) throw new Error(applied.stderr);
  // Waiting, each with Kueue's reason: everything the first passes do is over.
  await until(
    'every job waiting with Kueue’s reason',
    (jobs) =>
      jobs.filter((j) => /insufficient quota|insufficient unused quota/.test(j.status?.message ?? ''))
        .length === opts.jobs,
    300_000,
  );
  await sleep(5_000);
  const before = await apiServerRequests(peers.controlPlane.kubectl);
  await sleep(opts.quietSeconds * 1000);
  const moved = difference(before, await apiServerRequests(peers.controlPlane.kubectl));
  const perJobMinute = (n: number) => ((n / opts.jobs) * 60) / opts.quietSeconds;
  console.log(
    `${opts.jobs} Drmaa2Jobs waiting for Kueue, poll interval ${opts.pollInterval}, ${opts.quietSeconds} s measured:`,
  );
  const rows = Object.entries(moved).filter(([key]) => /workloads|drmaa2jobs|events/.test(key));
  for (const [key, n] of rows.sort())
    console.log(
      `  ${key.padEnd(32)} ${String(n).padStart(6)}  (${perJobMinute(n).toFixed(2)} per waiting job per minute)`,
    );
  if (rows.length === 0) console.log('  no request on workloads, drmaa2jobs or events');

  // Room for all: Kueue admits them, the watch brings each admission, the controller submits.
  const raised = Date.now();
  await peers.controlPlane.apply(dump(clusterQueue('bench-cq', { cpu: String(opts.jobs * 2) })));
  await until(
    'every job submitted',
    (jobs) => jobs.filter((j) => j.status?.batchJob).length === opts.jobs,
    600_000,
  );
  const seconds = (Date.now() - raised) / 1000;
  console.log(
    `quota raised for all ${opts.jobs}: every Batch job created ${seconds.toFixed(1)} s later (${(opts.jobs / seconds).toFixed(1)} jobs/s, Kueue's admissions included)`,
  );
} finally {
  await controller.stop();
  await kueue.stop();
  await peers.stop();
}
