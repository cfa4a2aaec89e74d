// The Event series cache: a repeat within the window continues its series, an old one starts anew, and the
// cache stays bounded by evicting the least recently used entries first.
import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { EventSeries } from '../../../../src/adapters/kube/eventSeries.js';

const at = (key: string, n: number) => ({ name: `${key}.event`, namespace: 'ns', at: n });

describe('EventSeries', () => {
  it('a repeat within the window raises the count; after it, a new series starts', () => {
    const series = new EventSeries(1000, 10);
    assert.equal(series.continued('a', 0), undefined);
    series.started('a', at('a', 0));
    assert.equal(series.continued('a', 500)?.count, 2);
    assert.equal(series.continued('a', 1400)?.count, 3, 'the window runs from the last repeat');
    assert.equal(series.continued('a', 2400), undefined, 'a full window later: a new Event');
    assert.equal(series.size(), 0);
  });

  it('holds at most its bound, dropping the least recently used', () => {
    const series = new EventSeries(60_000, 3);
    for (const [i, key] of ['a', 'b', 'c'].entries()) series.started(key, at(key, i));
    assert.ok(series.continued('a', 10), 'a is used again, so b is now the oldest');
    series.started('d', at('d', 11));
    assert.equal(series.size(), 3);
    assert.equal(series.continued('b', 12), undefined, 'b was evicted');
    assert.ok(series.continued('a', 13));
    assert.ok(series.continued('c', 14));
  });

  it('expired entries go as new ones come, without a scan of the rest', () => {
    const series = new EventSeries(100, 100_000);
    for (let i = 0; i < 50_000; i++) series.started(`k${i}`, at(`k${i}`, i));
    // Every entry older than the window went as the later ones came.
    assert.equal(series.size(), 100);
    assert.equal(series.continued('k49899', 49_950), undefined);
    assert.equal(series.continued('k49950', 49_960)?.count, 2);
  });
});
