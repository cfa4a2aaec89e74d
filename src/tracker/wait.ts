// Polling with exponential back-off in the injected clock's time: 1 s, 2 s, 4 s, ... capped at 30 s, so a
// waiting caller costs Batch at most a few reads a minute, never ten a second.
import type { Clock } from '../ports/clock.js';
import { backoffDelay } from '../translate/backoff.js';
import { TimeoutError } from './errors.js';

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 30_000 };

export interface PollSpec<T> {
  clock: Clock;
  /** Infinity waits for ever; 0 checks once. */
  timeoutMs: number;
  backoff: BackoffOptions;
  poll: () => Promise<T>;
  done: (value: T) => boolean;
  /** Errors that end the wait; all others are retried with back-off. */
  isFatal: (err: unknown) => boolean;
  describe: (last: T | undefined) => string;
  signal?: AbortSignal;
}

/** Polls until `done`; the first poll's errors are thrown as they are (the caller asked about a job that
 * cannot be read). Ends with TimeoutError when the time is up. */
export async function pollUntil<T>(spec: PollSpec<T>): Promise<T> {
  const { clock, backoff } = spec;
  const deadline = clock.now().getTime() + spec.timeoutMs;
  let last: T | undefined = await spec.poll();
  if (spec.done(last)) return last;
  for (let attempt = 0; ; attempt++) {
    const remaining = deadline - clock.now().getTime();
    if (remaining <= 0) throw new TimeoutError(`timeout while waiting: ${spec.describe(last)}`);
    await clock.sleep(Math.min(backoffDelay(attempt, backoff), remaining), spec.signal);
    try {
      last = await spec.poll();
    } catch (err) {
      if (spec.isFatal(err)) throw err;
      continue;
    }
    if (spec.done(last)) return last;
  }
}
