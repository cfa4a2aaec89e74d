// Namespaces take turns in the work queue: one tenant's burst must not hold back another tenant's job.
// Fairness is counted in hand-outs (gets), never in time.
import { afterEach, describe, it, vi } from 'vitest';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { URGENT_RUN, WorkQueue, namespaceOf } from '../../../src/controller/workqueue.js';

const BURST = 10_000;

/** A get that must find a key at once: a queue that loses track of what waits leaves it pending. */
async function getNow(q: WorkQueue): Promise<string> {
  const got = await Promise.race([q.get(), Promise.resolve(undefined)]);
  assert.ok(got !== undefined, `nothing handed out with ${q.len()} keys queued`);
  return got;
}

/** How many gets it takes until `key` is handed out (the gets before it are not marked done). */
async function getsUntil(q: WorkQueue, key: string, limit = BURST + 10): Promise<number> {
  for (let n = 1; n <= limit; n++) if ((await getNow(q)) === key) return n;
  throw new Error(`${key} not handed out in ${limit} gets`);
}

async function take(q: WorkQueue, n: number): Promise<string[]> {
  const keys: string[] = [];
  for (let i = 0; i < n; i++) keys.push(await getNow(q));
  return keys;
}

function countByNamespace(keys: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(namespaceOf(key), (counts.get(namespaceOf(key)) ?? 0) + 1);
  return counts;
}

describe('WorkQueue fairness between namespaces', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a key is in the namespace before its slash; cluster-scoped keys share one', () => {
    assert.equal(namespaceOf('team-a/job-1'), 'team-a');
    assert.equal(namespaceOf('job-1'), '');
    assert.equal(namespaceOf('/job-1'), '');
  });

  it("one namespace's burst of 10,000 holds another's single key back by at most one hand-out", async () => {
    const q = new WorkQueue();
    for (let i = 0; i < BURST; i++) q.add(`a/job-${i}`);
    q.add('b/job');
    assert.equal(q.len(), BURST + 1);
    const gets = await getsUntil(q, 'b/job');
    assert.ok(gets <= 2, `b/job handed out after ${gets} gets`);
  });

  it('the same when the burst is half handed out and its keys are in flight', async () => {
    const q = new WorkQueue();
    for (let i = 0; i < BURST; i++) q.add(`a/job-${i}`);
    const inFlight = await take(q, BURST / 2);
    q.add('b/job');
    assert.ok((await getsUntil(q, 'b/job')) <= 2);
    for (const key of inFlight) q.done(key);
    assert.equal(q.len(), BURST / 2 - 1, 'nothing lost, nothing re-queued');
  });

  it("a burst's own keys still go first in, first out (past 1,024 takes, where a line compacts)", async () => {
    const q = new WorkQueue();
    const n = 3_000;
    for (let i = 0; i < n; i++) q.add(`a/job-${i}`);
    q.add('b/job');
    const order = (await take(q, n + 1)).filter((key) => key.startsWith('a/'));
    assert.deepEqual(
      order,
      Array.from({ length: n }, (_, i) => `a/job-${i}`),
    );
  });

  it('three namespaces with bursts share the hand-outs evenly', async () => {
    const q = new WorkQueue();
    // Added one burst after the other, as a watch delivers them.
    for (const [ns, n] of [
      ['a', 5_000],
      ['b', 3_000],
      ['c', 1_000],
    ] as const)
      for (let i = 0; i < n; i++) q.add(`${ns}/job-${i}`);
    const counts = new Map<string, number>();
    for (let n = 1; n <= 2_400; n++) {
      const ns = namespaceOf(await getNow(q));
      counts.set(ns, (counts.get(ns) ?? 0) + 1);
      if (n >= 3) assert.equal(counts.size, 3, 'all three served within the first three gets');
      const each = [...counts.values()];
      assert.ok(Math.max(...each) - Math.min(...each) <= 1, `uneven after ${n} gets: ${each.join(', ')}`);
    }
    // c's last 200 go in the next 600 gets; a and b then alternate.
    const rest = countByNamespace(await take(q, 2_000));
    assert.deepEqual([rest.get('a'), rest.get('b'), rest.get('c')], [900, 900, 200]);
  });

  it('urgent keys still go first, one other after every four, each kind taking turns across namespaces', async () => {
    const q = new WorkQueue();
    for (let i = 0; i < 10; i++) q.add(`a/new-${i}`);
    for (let i = 0; i < 10; i++) q.add(`b/new-${i}`);
    for (let i = 0; i < 10; i++) q.add(`a/changed-${i}`, { urgent: true });
    for (let i = 0; i < 10; i++) q.add(`b/changed-${i}`, { urgent: true });
    const order = await take(q, 2 * (URGENT_RUN + 1));
    assert.deepEqual(order, [
      'a/changed-0',
      'b/changed-0',
      'a/changed-1',
      'b/changed-1',
      'a/new-0',
      'a/changed-2',
      'b/changed-2',
      'a/changed-3',
      'b/changed-3',
      'b/new-0',
    ]);
  });

  it("an urgent key in a quiet namespace is not held back by another namespace's urgent burst", async () => {
    const q = new WorkQueue();
    for (let i = 0; i < BURST; i++) q.add(`a/changed-${i}`, { urgent: true });
    for (let i = 0; i < BURST; i++) q.add(`a/new-${i}`);
    q.add('b/changed', { urgent: true });
    q.add('b/new');
    assert.ok((await getsUntil(q, 'b/changed')) <= 2);
    // b/new waits for the next other key's turn (after a run of urgent ones), then for a's line once.
    assert.ok((await getsUntil(q, 'b/new')) <= 2 * (URGENT_RUN + 1));
  });

  it('a key promoted to urgent is handed out once, and its old place costs its namespace no turn', async () => {
    const q = new WorkQueue();
    for (let i = 0; i < 3; i++) q.add(`a/job-${i}`);
    q.add('b/job-0');
    q.add('b/job-1');
    q.add('b/job-0', { urgent: true });
    const order = await take(q, 5);
    assert.deepEqual(order, ['b/job-0', 'a/job-0', 'b/job-1', 'a/job-1', 'a/job-2']);
    assert.equal(q.len(), 0);
  });

  it('the old place of a promoted key does not count as another key waiting', async () => {
    const q = new WorkQueue();
    q.add('a/job');
    q.add('a/job', { urgent: true });
    for (let i = 0; i < URGENT_RUN; i++) q.add(`b/changed-${i}`, { urgent: true });
    // After URGENT_RUN urgent keys an other key's turn comes, but none waits: the urgent ones go on.
    assert.equal((await take(q, URGENT_RUN + 1)).length, URGENT_RUN + 1);
    assert.equal(q.len(), 0);
  });

  it('a key re-added while in flight waits for done(), then is handed out once', async () => {
    const q = new WorkQueue();
    q.add('b/job');
    assert.equal(await getNow(q), 'b/job');
    for (let i = 0; i < 100; i++) q.add(`a/job-${i}`);
    q.add('b/job');
    q.add('b/job', { urgent: true });
    q.add('b/job');
    const whileInFlight = await take(q, 50);
    assert.ok(!whileInFlight.includes('b/job'), 'not handed out while in flight');
    q.done('b/job');
    assert.equal(await getNow(q), 'b/job', 'back as urgent, ahead of the burst');
    const rest = await take(q, q.len());
    assert.ok(!rest.includes('b/job'), 'handed out once');
    assert.equal(q.len(), 0);
  });

  it('a delayed or rate-limited re-add lands in its own namespace, beside the burst, not behind it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const q = new WorkQueue({ baseDelayMs: 10, jitter: 0, random: () => 0 });
    for (let i = 0; i < BURST; i++) q.add(`a/job-${i}`);
    q.addAfter('b/requeued', 1_000);
    q.addRateLimited('c/failed');
    vi.advanceTimersByTime(10);
    assert.ok((await getsUntil(q, 'c/failed')) <= 2);
    vi.advanceTimersByTime(990);
    assert.ok((await getsUntil(q, 'b/requeued')) <= 2);
    q.shutDown();
  });

  it("a namespace's line is dropped when it empties", async () => {
    const q = new WorkQueue();
    for (let i = 0; i < 1_000; i++) q.add(`ns-${i}/job`);
    for (let i = 0; i < 500; i++) q.add(`ns-${i}/job-2`, { urgent: true });
    for (let i = 0; i < 500; i++) q.add(`ns-${i}/job`, { urgent: true });
    await take(q, q.len());
    // Internal, on purpose: what is at stake is memory held for namespaces with nothing queued.
    const lines = q as unknown as Record<'urgentLines' | 'otherLines', { lines: Map<string, unknown> }>;
    assert.equal(lines.urgentLines.lines.size, 0);
    assert.equal(lines.otherLines.lines.size, 0);
    // Every other key promoted: no other key is handed out to walk past their old places.
    for (let i = 0; i < 1_000; i++) q.add(`ns-${i}/job-3`);
    for (let i = 0; i < 1_000; i++) q.add(`ns-${i}/job-3`, { urgent: true });
    assert.equal(lines.otherLines.lines.size, 0);
  });

  it('with everything queued at once, namespaces that still have keys have been served alike', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat({ max: 30 }), { minLength: 1, maxLength: 6 }),
        fc.nat(),
        async (sizes, seed) => {
          const q = new WorkQueue();
          const keys = sizes.flatMap((n, ns) => Array.from({ length: n }, (_, i) => `ns-${ns}/job-${i}`));
          // Interleaved at random, as independent tenants create them; each namespace's keys stay in order.
          const lines = sizes.map((_, ns) => keys.filter((k) => namespaceOf(k) === `ns-${ns}`));
          let r = seed;
          while (lines.some((l) => l.length > 0)) {
            const open = lines.filter((l) => l.length > 0);
            r = (r * 1_103_515_245 + 12_345) % 2 ** 31;
            q.add(open[r % open.length]!.shift()!);
          }
          const served = new Map<string, number>();
          const left = new Map(sizes.map((n, ns) => [`ns-${ns}`, n]));
          for (let n = 0; n < keys.length; n++) {
            const ns = namespaceOf(await getNow(q));
            served.set(ns, (served.get(ns) ?? 0) + 1);
            left.set(ns, left.get(ns)! - 1);
            const stillWaiting = [...left].filter(([, k]) => k > 0).map(([name]) => served.get(name) ?? 0);
            if (stillWaiting.length > 0)
              assert.ok(Math.max(...stillWaiting) - Math.min(...stillWaiting) <= 1);
          }
          assert.equal(q.len(), 0);
        },
      ),
    );
  });

  it('loses and duplicates no key under random adds, gets and dones', async () => {
    const key = fc
      .tuple(fc.constantFrom('a', 'b', 'c', ''), fc.nat({ max: 5 }))
      .map(([ns, i]) => (ns ? `${ns}/job-${i}` : `cluster-${i}`));
    const command = fc.oneof(
      fc.record({ op: fc.constant('add' as const), key, urgent: fc.boolean() }),
      fc.record({ op: fc.constant('get' as const) }),
      fc.record({ op: fc.constant('done' as const), pick: fc.nat() }),
    );
    const flush = async () => {
      for (let i = 0; i < 3; i++) await Promise.resolve();
    };
    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 80 }), async (commands) => {
        const q = new WorkQueue();
        // The model: what client-go's queue promises, with no order at all.
        const queued = new Set<string>();
        const processing = new Set<string>();
        const dirty = new Set<string>();
        const waiting: { key?: string }[] = [];
        const handOut = (got: string | undefined) => {
          assert.ok(got !== undefined, 'a get with keys queued returned nothing');
          assert.ok(queued.has(got), `${got} handed out without being queued`);
          assert.ok(!processing.has(got), `${got} handed out while in flight`);
          queued.delete(got);
          processing.add(got);
        };
        const add = async (k: string) => {
          if (processing.has(k)) dirty.add(k);
          else queued.add(k);
          await flush();
          const waiter = waiting[0];
          if (waiter && queued.size > 0) {
            assert.equal(waiter.key, k, 'a waiting get receives the key added next');
            waiting.shift();
            handOut(k);
          }
        };
        for (const c of commands) {
          if (c.op === 'add') {
            q.add(c.key, { urgent: c.urgent });
            await add(c.key);
          } else if (c.op === 'get') {
            if (queued.size > 0) handOut(await getNow(q));
            else if (waiting.length === 0) {
              const waiter: { key?: string } = {};
              void q.get().then((k) => (waiter.key = k));
              waiting.push(waiter);
            }
          } else if (processing.size > 0) {
            const k = [...processing][c.pick % processing.size]!;
            q.done(k);
            processing.delete(k);
            if (dirty.delete(k)) await add(k);
          }
          assert.equal(q.len(), queued.size);
        }
        // Drain: every key queued or in flight comes out exactly as often as the model says.
        while (processing.size > 0 || queued.size > 0) {
          for (const k of [...processing]) {
            q.done(k);
            processing.delete(k);
            if (dirty.delete(k)) await add(k);
          }
          while (queued.size > 0) handOut(await getNow(q));
        }
        assert.equal(q.len(), 0);
        q.shutDown();
      }),
    );
  });
});
