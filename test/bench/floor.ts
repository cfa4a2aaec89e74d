// The floor: what a bare client needs to create N resources and write one status each, with the same
// parallelism — the API server's own limit on this machine, without any controller work.
import { performance } from 'node:perf_hooks';
import type { BenchClient } from './kubeClient.js';
import { benchJob, jobName } from './manifest.js';
import { inParallel } from './stats.js';

export interface FloorResult {
  jobs: number;
  seconds: number;
  /** Resources created and status-patched per second. */
  perSecond: number;
}

export async function measureFloor(
  client: BenchClient,
  namespace: string,
  jobs: number,
  parallel: number,
): Promise<FloorResult> {
  const started = performance.now();
  const indexes = Array.from({ length: jobs }, (_, i) => i);
  await inParallel(indexes, parallel, async (i) => {
    await client.create(namespace, benchJob(namespace, jobName(i)));
    await client.patchStatus(namespace, jobName(i), { state: 'Queued', subState: 'PENDING_SUBMISSION' });
  });
  const seconds = (performance.now() - started) / 1000;
  await client.deleteAll(namespace);
  return { jobs, seconds, perSecond: jobs / seconds };
}
