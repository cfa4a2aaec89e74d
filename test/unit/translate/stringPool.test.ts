// The string pool: one copy of each recurring string, a bounded table, values changed in place only for
// an equal string.
import { it } from 'vitest';
import assert from 'node:assert/strict';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { StringPool } from '../../../src/translate/stringPool.js';

it('hands back the copy it holds for an equal string', () => {
  const pool = new StringPool(16);
  const first = pool.intern(['The job has', 'not ended.'].join(' '));
  const second = JSON.parse('"The job has not ended."') as string;
  assert.equal(pool.intern(second), first);
  // Equal strings are indistinguishable in JavaScript, so the copy is proven by the objects that hold it:
  // interning every value of many parsed objects leaves them equal to the originals.
  const objects = Array.from({ length: 50 }, (_, i) =>
    JSON.parse(
      JSON.stringify({ name: `job-${i}`, status: { reason: 'InProgress', list: ['a', { b: 'c' }] } }),
    ),
  );
  const copies = structuredClone(objects);
  for (const o of objects) pool.internAll(o);
  assert.deepEqual(objects, copies);
});

it('never holds more strings than its slots, and leaves long strings alone', () => {
  const pool = new StringPool(8);
  const held = (pool as unknown as { slots: (string | undefined)[] }).slots;
  for (let i = 0; i < 1000; i++) pool.intern(`value-${i}`);
  assert.equal(held.length, 8);
  const long = 'x'.repeat(201);
  pool.intern(long);
  assert.ok(!held.includes(long));
});

it('walks arrays and nested objects, and stops at a cycle', () => {
  const pool = new StringPool();
  const cyclic: Record<string, unknown> = { a: 'x', list: ['y', { z: 'w' }] };
  cyclic.self = cyclic;
  assert.equal(pool.internAll(cyclic), cyclic);
  assert.deepEqual((cyclic.list as unknown[])[1], { z: 'w' });
});

it('holds one copy of a recurring string: parsed copies kept through the pool cost no heap of their own', () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const text = JSON.stringify({ message: `The job has not ended yet, ${'and it waits '.repeat(8)}` });
  /** Heap growth, in bytes, of holding 20,000 freshly parsed copies of one message. */
  const growth = (keep: (s: string) => string): number => {
    gc();
    const before = getHeapStatistics().used_heap_size;
    const held = Array.from({ length: 20_000 }, () =>
      keep((JSON.parse(text) as { message: string }).message),
    );
    gc();
    const after = getHeapStatistics().used_heap_size;
    assert.equal(held.length, 20_000);
    return after - before;
  };
  const pool = new StringPool();
  const plain = growth((s) => s);
  const pooled = growth((s) => pool.intern(s));
  // 20,000 copies of a 120-character string are over 2.4 MB; the array of references alone is 160 KB.
  assert.ok(plain > 2_000_000, `unpooled copies grow the heap (${plain} B)`);
  assert.ok(pooled < plain / 4, `pooled: ${pooled} B against ${plain} B`);
});
