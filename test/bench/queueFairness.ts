// `node --import tsx test/bench/queueFairness.ts`: the work queue alone, no API server. How many hand-outs one
// namespace's burst costs another namespace's job, and what the queue itself costs per key at platform scale.
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { WorkQueue, namespaceOf } from '../../src/controller/workqueue.js';
import { percentile } from './stats.js';

export type Queue = Pick<WorkQueue, 'add' | 'get' | 'done' | 'len'>;

export interface QueueFairnessResult {
  burst: number;
  /** Hand-outs before the single key of namespace b, with `burst` keys of namespace a queued first. */
  behindBurst: number;
  /** The same when all of them are urgent. */
  behindUrgentBurst: number;
  /** Bursts of 5:3:1 in three namespaces: the largest minus the smallest share of the first 3,000 hand-outs. */
  threeWaySpread: number;
  keys: number;
  /** Median ms over the runs: `keys` adds in 100 namespaces, then as many get + done. */
  fillAndDrainMs: number;
  /** The same in one namespace. */
  oneNamespaceMs: number;
  /** `keys` cycles of add, get, done with 1,000 keys in 100 namespaces waiting throughout. */
  steadyMs: number;
}

async function getsBefore(q: Queue, key: string): Promise<number> {
  for (let n = 0; q.len() > 0; n++) if ((await q.get()) === key) return n;
  throw new Error(`${key} was never handed out`);
}

async function drain(q: Queue): Promise<void> {
  while (q.len() > 0) q.done((await q.get())!);
}

async function medianMs(runs: number, once: () => Promise<void>): Promise<number> {
  await once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await once();
    times.push(performance.now() - started);
  }
  return percentile(times, 50);
}

export async function measureQueueFairness(
  make: () => Queue,
  { burst = 10_000, keys = 50_000, runs = 5 } = {},
): Promise<QueueFairnessResult> {
  const behind = async (urgent: boolean) => {
    const q = make();
    for (let i = 0; i < burst; i++) q.add(`a/job-${i}`, { urgent });
    q.add('b/job', { urgent });
    return getsBefore(q, 'b/job');
  };

  const q = make();
  for (const [ns, n] of [
    ['a', 5_000],
    ['b', 3_000],
    ['c', 1_000],
  ] as const)
    for (let i = 0; i < n; i++) q.add(`${ns}/job-${i}`);
  const shares = new Map([
    ['a', 0],
    ['b', 0],
    ['c', 0],
  ]);
  for (let i = 0; i < 3_000; i++) {
    const ns = namespaceOf((await q.get())!);
    shares.set(ns, shares.get(ns)! + 1);
  }

  const key = (i: number) => `ns-${i % 100}/job-${i}`;
  return {
    burst,
    behindBurst: await behind(false),
    behindUrgentBurst: await behind(true),
    threeWaySpread: Math.max(...shares.values()) - Math.min(...shares.values()),
    keys,
    fillAndDrainMs: await medianMs(runs, async () => {
      const q = make();
      for (let i = 0; i < keys; i++) q.add(key(i));
      await drain(q);
    }),
    oneNamespaceMs: await medianMs(runs, async () => {
      const q = make();
      for (let i = 0; i < keys; i++) q.add(`a/job-${i}`);
      await drain(q);
    }),
    steadyMs: await medianMs(runs, async () => {
      const q = make();
      for (let i = 0; i < 1_000; i++) q.add(key(i));
      for (let i = 1_000; i < keys + 1_000; i++) {
        q.add(key(i));
        q.done((await q.get())!);
      }
    }),
  };
}

export function queueFairnessLines(r: QueueFairnessResult): string[] {
  const perKey = (ms: number) => `${ms.toFixed(1)} ms (${((ms * 1e6) / r.keys).toFixed(0)} ns a key)`;
  return [
    `hand-outs before b's one key, ${r.burst} keys of a queued first: ${r.behindBurst}`,
    `the same, all urgent: ${r.behindUrgentBurst}`,
    `bursts of 5,000/3,000/1,000 in three namespaces, first 3,000 hand-outs, largest - smallest share: ${r.threeWaySpread}`,
    `${r.keys} adds in 100 namespaces, then get + done each: ${perKey(r.fillAndDrainMs)}`,
    `the same in one namespace: ${perKey(r.oneNamespaceMs)}`,
    `${r.keys} cycles of add, get, done with 1,000 waiting: ${perKey(r.steadyMs)}`,
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const line of queueFairnessLines(await measureQueueFairness(() => new WorkQueue()))) console.log(line);
}
