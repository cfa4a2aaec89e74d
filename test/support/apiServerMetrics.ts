// The API server's own request counters (apiserver_request_total), read through kubectl as admin: what the
// benchmarks report per job, and what a test asserts a quiet controller does not ask for.
import type { Kubectl } from './kubectl.js';

/** `VERB resource` -> requests so far. */
export type RequestCounts = Record<string, number>;

export async function apiServerRequests(kubectl: Kubectl): Promise<RequestCounts> {
  const r = await kubectl(['get', '--raw', '/metrics']);
  if (r.code !== 0) throw new Error(`kube-apiserver /metrics: ${r.stderr}`);
  const counts: RequestCounts = {};
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const verb = /verb="([^"]*)"/.exec(line)?.[1] ?? '';
    const resource = /resource="([^"]*)"/.exec(line)?.[1] ?? '';
    const sub = /subresource="([^"]*)"/.exec(line)?.[1];
    const key = `${verb} ${resource}${sub ? `/${sub}` : ''}`;
    counts[key] = (counts[key] ?? 0) + Number(line.split(' ').at(-1));
  }
  return counts;
}

/** after - before, keeping only what moved. */
export function difference(before: RequestCounts, after: RequestCounts): RequestCounts {
  const out: RequestCounts = {};
  for (const [key, n] of Object.entries(after)) {
    const moved = n - (before[key] ?? 0);
    if (moved > 0) out[key] = moved;
  }
  return out;
}
