// The string pool: one copy of each recurring string, a bounded table, values changed in place only for
// an equal string.
import { it } from 'vitest';
import assert from 'node:assert/strict';
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
