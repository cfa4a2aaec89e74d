import { afterEach, describe, it, vi } from 'vitest';
import assert from 'node:assert/strict';
import { MAX_DELAY_MS, URGENT_RUN, WorkQueue } from '../../../src/controller/workqueue.js';

describe('WorkQueue', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a requeue years ahead waits a day, not zero (timers past 2^31-1 ms would fire at once)', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const q = new WorkQueue();
    q.addAfter('far', 729_559_023_000);
    vi.advanceTimersByTime(60_000);
    assert.equal(q.len(), 0, 'not due after a minute');
    vi.advanceTimersByTime(MAX_DELAY_MS);
    assert.equal(q.len(), 1, 'looked at again after a day');
  });

  it('queues a key once, however often it is added', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('a');
    q.add('b');
    assert.equal(q.len(), 2);
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), 'b');
    assert.equal(q.len(), 0);
  });

  it('never hands out a key that is being processed; re-adds it when done', async () => {
    const q = new WorkQueue();
    q.add('a');
    const key = await q.get();
    q.add('a');
    assert.equal(q.len(), 0, 'not queued while in flight');
    q.done(key!);
    assert.equal(q.len(), 1);
    assert.equal(await q.get(), 'a');
  });

  it('urgent keys go first, one other after every run of them, each key once', async () => {
    const q = new WorkQueue();
    for (let i = 0; i < 3; i++) q.add(`new-${i}`);
    for (let i = 0; i < URGENT_RUN + 2; i++) q.add(`changed-${i}`, { urgent: true });
    q.add('new-1', { urgent: true }); // promoted: handed out once, among the urgent ones
    assert.equal(q.len(), 3 + URGENT_RUN + 2);
    const order: string[] = [];
    while (q.len() > 0) order.push((await q.get())!);
    assert.deepEqual(order, [
      ...Array.from({ length: URGENT_RUN }, (_, i) => `changed-${i}`),
      'new-0',
      `changed-${URGENT_RUN}`,
      `changed-${URGENT_RUN + 1}`,
      'new-1',
      'new-2',
    ]);
  });

  it('a key made urgent while in flight comes back as urgent', async () => {
    const q = new WorkQueue();
    q.add('a');
    const key = await q.get();
    q.add('a', { urgent: true });
    q.add('b');
    q.done(key!);
    assert.equal(await q.get(), 'a', 'ahead of b, which was queued first');
    assert.equal(await q.get(), 'b');
  });

  it('backs off exponentially per key with bounded jitter, capped, and forgets', () => {
    const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 1000, jitter: 0.5, random: () => 1 });
    const delays = Array.from({ length: 10 }, () => q.addRateLimited('k'));
    assert.deepEqual(delays.slice(0, 4), [15, 30, 60, 120]);
    assert.equal(delays.at(-1), 1000);
    assert.equal(q.failures('k'), 10);
    q.forget('k');
    assert.equal(q.backoff('k'), 15);
    const noJitter = new WorkQueue({ baseDelayMs: 10, jitter: 0.5, random: () => 0 });
    assert.equal(noJitter.addRateLimited('k'), 10);
    q.shutDown();
    noJitter.shutDown();
  });

  // The queue reads the time from Date.now() and waits with setTimeout: the fake clock moves both.
  it.each([
    ['the earlier add first', [40, 10_000]],
    ['the later add first', [10_000, 40]],
  ])('adds after a delay, the earliest delayed add winning (%s)', async (_, delays) => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const q = new WorkQueue();
    for (const ms of delays) q.addAfter('a', ms);
    vi.advanceTimersByTime(39);
    assert.equal(q.len(), 0, 'not queued before the earliest delay');
    vi.advanceTimersByTime(1);
    assert.equal(q.len(), 1, 'queued once the earliest delay is over');
    assert.equal(await q.get(), 'a');
    q.done('a');
    vi.advanceTimersByTime(20_000);
    assert.equal(q.len(), 0, 'the later add left no second timer behind');
    q.shutDown();
  });

  it('hands a waiting getter the next key, and undefined after shutdown', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.add('x');
    assert.equal(await waiting, 'x');
    const idle = q.get();
    q.shutDown();
    assert.equal(await idle, undefined);
    q.add('y');
    assert.equal(q.len(), 0);
  });

  it('drains when the in-flight keys are done', async () => {
    const q = new WorkQueue();
    q.add('a');
    const key = await q.get();
    let drained = false;
    const done = q.drained().then(() => (drained = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(drained, false);
    q.done(key!);
    await done;
    assert.equal(drained, true);
  });
});
