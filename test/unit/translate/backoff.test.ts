// The one back-off formula: doubling, capped, spread by a random factor within its range.
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../../src/translate/backoff.js';

describe('backoffDelay', () => {
  it.each([
    [0, 1000],
    [1, 2000],
    [4, 16_000],
    [5, 30_000],
    [60, 30_000],
  ])('attempt %i waits %i ms without spread', (attempt, ms) => {
    expect(backoffDelay(attempt, { initialMs: 1000, maxMs: 30_000 })).toBe(ms);
  });

  it('spreads within [low, high) of the capped delay', () => {
    const b = { initialMs: 1000, maxMs: 30_000, spread: [0.8, 1.2] } as const;
    expect(backoffDelay(10, b, () => 0)).toBe(24_000);
    expect(backoffDelay(10, b, () => 0.5)).toBe(30_000);
    expect(backoffDelay(10, b, () => 0.999)).toBeLessThan(36_000);
    expect(backoffDelay(0, b, () => 0.999)).toBeGreaterThan(1199);
  });
});
