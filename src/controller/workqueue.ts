// A keyed work queue in the manner of client-go's: a key is queued at most once, at most one reconcile
// per key runs at a time (a key added while it runs is queued again when it is done), failures back off
// per key exponentially with jitter, and delayed adds serve requeueAfter. client-node has none of this.
// Keys added as urgent (something already submitted changed: its Batch job ended, its spec, its deletion) go
// before the others, so that a burst of new resources does not hold back what users wait to see; every
// few urgent keys one other goes too, so neither kind can starve.
import { backoffDelay } from '../translate/backoff.js';
import type { Clock } from '../ports/clock.js';

/** The longest a key waits before it is looked at again, whatever was asked. */
export const MAX_DELAY_MS = 24 * 60 * 60 * 1000;

export interface WorkQueueOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Fraction of the back-off added at random, 0..1. */
  jitter?: number;
  random?: () => number;
  clock?: Pick<Clock, 'now'>;
}

/** Urgent keys handed out in a row before one other key, when both wait. */
export const URGENT_RUN = 4;

export interface AddOptions {
  urgent?: boolean;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  /** Urgent keys in order; a key here may also have a (stale) place in `queue`, skipped when reached. */
  private readonly urgentQueue: string[] = [];
  private readonly urgent = new Set<string>();
  private urgentInARow = 0;
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  /** Keys added while in flight, queued again when done; true when one of those adds was urgent. */
  private readonly dirty = new Map<string, boolean>();
  private readonly failuresByKey = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: ReturnType<typeof setTimeout> }>();
  private readonly addedAt = new Map<string, number>();
  private readonly getters: ((key: string | undefined) => void)[] = [];
  private readonly idle: (() => void)[] = [];
  private shuttingDown = false;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly jitter: number;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(opts: WorkQueueOptions = {}) {
    this.baseDelayMs = opts.baseDelayMs ?? 5;
    this.maxDelayMs = opts.maxDelayMs ?? 300_000;
    this.jitter = opts.jitter ?? 0.2;
    this.random = opts.random ?? Math.random;
    this.now = () => opts.clock?.now().getTime() ?? Date.now();
  }

  add(key: string, opts: AddOptions = {}): void {
    if (this.shuttingDown) return;
    if (this.processing.has(key)) {
      this.dirty.set(key, this.dirty.get(key) === true || opts.urgent === true);
      return;
    }
    if (this.queued.has(key)) {
      if (opts.urgent && !this.urgent.has(key)) this.pushUrgent(key);
      return;
    }
    this.queued.add(key);
    this.addedAt.set(key, this.now());
    const getter = this.getters.shift();
    if (getter) {
      this.queued.delete(key);
      this.processing.add(key);
      getter(key);
      return;
    }
    if (opts.urgent) this.pushUrgent(key);
    else this.queue.push(key);
  }

  private pushUrgent(key: string): void {
    this.urgent.add(key);
    this.urgentQueue.push(key);
  }

  /** The next waiting key, urgent ones first but one other after every URGENT_RUN of them. */
  private next(): string | undefined {
    this.dropStale();
    const otherWaits = this.queue.length > 0;
    const takeUrgent = this.urgentQueue.length > 0 && (!otherWaits || this.urgentInARow < URGENT_RUN);
    const key = takeUrgent ? this.urgentQueue.shift() : this.queue.shift();
    if (key === undefined) return undefined;
    this.urgentInARow = takeUrgent ? this.urgentInARow + 1 : 0;
    this.urgent.delete(key);
    this.queued.delete(key);
    return key;
  }

  /** Drops the places of keys already handed out from the other list (a key promoted to urgent). */
  private dropStale(): void {
    while (this.urgentQueue.length > 0 && !this.queued.has(this.urgentQueue[0]!)) this.urgentQueue.shift();
    while (this.queue.length > 0 && (!this.queued.has(this.queue[0]!) || this.urgent.has(this.queue[0]!)))
      this.queue.shift();
  }

  /** Adds the key after `delayMs`; an earlier pending delayed add of the same key wins. */
  addAfter(key: string, requestedMs: number): void {
    if (this.shuttingDown) return;
    if (requestedMs <= 0) return this.add(key);
    // A timer longer than 2^31-1 ms fires at once; a day is as good: the key is looked at again and waits anew.
    const delayMs = Math.min(requestedMs, MAX_DELAY_MS);
    const at = this.now() + delayMs;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref?.();
    this.timers.set(key, { at, timer });
  }

  /** The back-off the next addRateLimited of this key waits. */
  backoff(key: string): number {
    const failures = this.failuresByKey.get(key) ?? 0;
    const spread = [1, 1 + this.jitter] as const;
    const delay = backoffDelay(
      failures,
      { initialMs: this.baseDelayMs, maxMs: this.maxDelayMs, spread },
      this.random,
    );
    return Math.min(this.maxDelayMs, delay);
  }

  addRateLimited(key: string): number {
    const delay = this.backoff(key);
    this.failuresByKey.set(key, (this.failuresByKey.get(key) ?? 0) + 1);
    this.addAfter(key, delay);
    return delay;
  }

  forget(key: string): void {
    this.failuresByKey.delete(key);
  }

  failures(key: string): number {
    return this.failuresByKey.get(key) ?? 0;
  }

  /** How long the key waited in the queue before it was handed out (ms), for metrics. */
  waited(key: string): number {
    const at = this.addedAt.get(key);
    return at === undefined ? 0 : this.now() - at;
  }

  get(): Promise<string | undefined> {
    const key = this.next();
    if (key !== undefined) {
      this.processing.add(key);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    this.addedAt.delete(key);
    const urgent = this.dirty.get(key);
    if (urgent !== undefined) {
      this.dirty.delete(key);
      this.add(key, { urgent });
    }
    if (this.processing.size === 0) for (const resolve of this.idle.splice(0)) resolve();
  }

  len(): number {
    return this.queued.size;
  }

  /** Stops handing out keys; pending delayed adds are dropped; waiting getters receive undefined. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.queue.length = 0;
    this.urgentQueue.length = 0;
    this.urgent.clear();
    this.queued.clear();
    for (const getter of this.getters.splice(0)) getter(undefined);
  }

  /** Resolves when no reconcile is in flight. */
  drained(): Promise<void> {
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }
}
