// Exponential back-off, the one formula every retry loop of the project uses: the delay doubles from
// `initialMs` with each attempt up to `maxMs`, then a random factor from `spread` spreads callers that
// failed together apart (so they do not all come back at once).

export interface Backoff {
  initialMs: number;
  maxMs: number;
  /** The random factor's range, [low, high); default [1, 1] (no spread). */
  spread?: readonly [number, number];
}

/** The delay before retry number `attempt` (0 for the first retry). */
export function backoffDelay(attempt: number, backoff: Backoff, random: () => number = Math.random): number {
  const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt, 52));
  const [low, high] = backoff.spread ?? [1, 1];
  return base * (low + (high - low) * random());
}
