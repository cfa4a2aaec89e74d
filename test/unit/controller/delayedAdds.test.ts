// The work queue's delayed adds: one timer over a heap of due times, in due order, an earlier add of a key
// winning, and stale entries never firing.
import { afterEach, describe, it, vi } from 'vitest';
import assert from 'node:assert/strict';
import { DelayedAdds } from '../../../src/controller/delayedAdds.js';

afterEach(() => {
  vi.useRealTimers();
});

function setup() {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  const fired: string[] = [];
  const adds = new DelayedAdds(
    () => Date.now(),
    (key) => fired.push(key),
  );
  return { adds, fired, at: (ms: number) => Date.now() + ms };
}

describe('DelayedAdds', () => {
  it('fires each key at its time, in due order, with one timer', () => {
    const { adds, fired, at } = setup();
    adds.schedule('c', at(300));
    adds.schedule('a', at(100));
    adds.schedule('b', at(200));
    assert.equal(vi.getTimerCount(), 1, 'one timer for all');
    vi.advanceTimersByTime(150);
    assert.deepEqual(fired, ['a']);
    vi.advanceTimersByTime(200);
    assert.deepEqual(fired, ['a', 'b', 'c']);
    assert.equal(adds.size(), 0);
    assert.equal(vi.getTimerCount(), 0);
  });

  it('an earlier add of a key wins; a later one is ignored', () => {
    const { adds, fired, at } = setup();
    adds.schedule('k', at(1000));
    adds.schedule('k', at(100));
    adds.schedule('k', at(5000));
    vi.advanceTimersByTime(100);
    assert.deepEqual(fired, ['k']);
    vi.advanceTimersByTime(10_000);
    assert.deepEqual(fired, ['k'], 'the replaced entries never fire');
  });

  it('10,000 keys moved earlier again and again stay bounded and fire once each', () => {
    const { adds, fired, at } = setup();
    for (let round = 10; round >= 1; round--)
      for (let i = 0; i < 10_000; i++) adds.schedule(`k${i}`, at(round * 1000 + i));
    assert.equal(adds.size(), 10_000);
    vi.advanceTimersByTime(30_000);
    assert.equal(fired.length, 10_000);
    assert.equal(new Set(fired).size, 10_000);
    assert.equal(fired[0], 'k0');
  });

  it('clear drops everything waiting', () => {
    const { adds, fired, at } = setup();
    adds.schedule('a', at(10));
    adds.clear();
    vi.advanceTimersByTime(100);
    assert.deepEqual(fired, []);
    assert.equal(vi.getTimerCount(), 0);
  });

  it("fires what its timer was armed for even when the queue's clock stands still", () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const fired: string[] = [];
    const adds = new DelayedAdds(
      () => 1_000,
      (key) => fired.push(key),
    );
    adds.schedule('a', adds.now() + 500);
    adds.schedule('b', adds.now() + 900);
    vi.advanceTimersByTime(500);
    assert.deepEqual(fired, ['a']);
    vi.advanceTimersByTime(400);
    assert.deepEqual(fired, ['a', 'b']);
  });
});
