// A Clock whose time moves only when told. In `auto` mode (the default) every sleep advances the time by
// its duration at once, so code that polls with back-off runs in virtual time; in manual mode sleeps wait
// until the test calls advance(). Either way the test can count and inspect the sleeps.
import type { Clock } from '../../../src/ports/clock.js';

interface Sleeper {
  until: number;
  resolve: () => void;
}

interface Scheduled {
  at: number;
  run: () => void;
}

export interface FakeClockOptions {
  start?: Date | string;
  /** true: sleep() advances the time itself; false: sleep() waits for advance(). */
  auto?: boolean;
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}

export class FakeClock implements Clock {
  private current: number;
  private readonly auto: boolean;
  private sleepers: Sleeper[] = [];
  private scheduled: Scheduled[] = [];
  /** Every sleep's requested duration, in order. */
  readonly sleeps: number[] = [];

  constructor(opts: FakeClockOptions = {}) {
    this.current = new Date(opts.start ?? '2025-01-01T00:00:00Z').getTime();
    this.auto = opts.auto ?? true;
  }

  now(): Date {
    return new Date(this.current);
  }

  /** The current time in epoch milliseconds. */
  nowMs(): number {
    return this.current;
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw abortError(signal);
    this.sleeps.push(ms);
    if (this.auto) {
      await Promise.resolve();
      this.moveTo(this.current + Math.max(0, ms));
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const sleeper: Sleeper = { until: this.current + Math.max(0, ms), resolve };
      this.sleepers.push(sleeper);
      signal?.addEventListener(
        'abort',
        () => {
          this.sleepers = this.sleepers.filter((s) => s !== sleeper);
          reject(abortError(signal));
        },
        { once: true },
      );
    });
  }

  /** Moves the time forward, running scheduled actions and waking sleepers whose time has come. */
  advance(ms: number): void {
    this.moveTo(this.current + ms);
  }

  /** Runs `run` once the clock reaches `afterMs` from now (during a sleep or an advance). */
  schedule(afterMs: number, run: () => void): void {
    this.scheduled.push({ at: this.current + afterMs, run });
    this.scheduled.sort((a, b) => a.at - b.at);
  }

  /** How many sleeps are waiting (manual mode). */
  get pendingSleeps(): number {
    return this.sleepers.length;
  }

  private moveTo(target: number): void {
    for (let next = this.scheduled[0]; next && next.at <= target; next = this.scheduled[0]) {
      this.scheduled.shift();
      this.current = Math.max(this.current, next.at);
      next.run();
    }
    this.current = Math.max(this.current, target);
    const due = this.sleepers.filter((s) => s.until <= this.current);
    this.sleepers = this.sleepers.filter((s) => s.until > this.current);
    for (const s of due) s.resolve();
  }
}
