// Keeps the controller inside Batch's per-region quota (mutations and reads per minute, counted over a
// sliding minute). Each kind of call draws from a token bucket whose rate starts at the configured ceiling.
// A RESOURCE_EXHAUSTED answer means someone (this controller or another client of the project) used the
// quota up: the bucket's rate drops to 90% of what got through in the last minute (a margin below the share
// other clients leave), and calls of that kind pause for a jittered cool-down that doubles from 1 s up to 60 s.
// Each minute without another such answer raises the rate by half, up to the ceiling again. The error itself
// still reaches the caller, so the resource shows why it waits.
//
// Written here rather than taken from a library: the limiters on npm count their own calls only, while a
// quota shared with other clients has to be learned from the server's answers.
import type { CreateJobRequest, Job, Task } from '../api/batch.js';
import type { BatchJobs, JobPage, ListJobsQuery } from '../ports/batchJobs.js';
import type { Clock } from '../ports/clock.js';
import { isBatchError } from '../ports/errors.js';
import { backoffDelay } from '../translate/backoff.js';

/** `logRead`: Cloud Logging list calls, whose quota is apart from Batch's. */
export type QuotaKind = 'mutation' | 'read' | 'logRead';

export interface BatchThrottleOptions {
  mutationsPerMinute: number;
  readsPerMinute: number;
  clock: Clock;
  random?: () => number;
  /** Told when a kind's rate changes (for logs and metrics). */
  onRateChange?(kind: QuotaKind, perMinute: number, coolDownMs: number): void;
}

const MINUTE_MS = 60_000;
/** The pause after RESOURCE_EXHAUSTED: 1 s doubling up to 60 s, at random between half of it and all. */
const COOL_DOWN = { initialMs: 1_000, maxMs: 60_000, spread: [0.5, 1] } as const;
/** What got through last minute, less a margin: the quota is a sliding window and other clients share it. */
const LEARNED_SHARE = 0.9;

/** One kind of call's budget: a token bucket plus what the server's answers taught it. */
export class QuotaBucket {
  private perMinute: number;
  private tokens: number;
  private refilledAt: number;
  private pausedUntil = 0;
  /** RESOURCE_EXHAUSTED answers since the last call that went through. */
  private exhaustions = 0;
  private lastExhausted = -Infinity;
  private raisedAt = -Infinity;
  /** Times of calls that got through (not refused for quota), for the learned rate. */
  private readonly accepted: number[] = [];
  /** Callers waiting for a token, served in order. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly kind: QuotaKind,
    private readonly ceiling: number,
    private readonly clock: Clock,
    private readonly random: () => number,
    private readonly onRateChange?: BatchThrottleOptions['onRateChange'],
  ) {
    this.perMinute = ceiling;
    this.tokens = this.capacity();
    this.refilledAt = clock.now().getTime();
  }

  /** The rate now, calls per minute. */
  rate(): number {
    return this.perMinute;
  }

  /** A second's worth of calls may go at once; never less than one. */
  private capacity(): number {
    return Math.max(1, Math.ceil(this.perMinute / 60));
  }

  private refill(now: number): void {
    const elapsed = now - this.refilledAt;
    this.refilledAt = now;
    this.tokens = Math.min(this.capacity(), this.tokens + (elapsed * this.perMinute) / MINUTE_MS);
    const calmSince = Math.max(this.lastExhausted, this.raisedAt);
    if (this.perMinute < this.ceiling && now - calmSince >= MINUTE_MS) {
      this.raisedAt = now;
      this.setRate(Math.min(this.ceiling, Math.ceil(this.perMinute * 1.5)), 0);
    }
  }

  /** A token now, or none: for a read that is better left out than waited for. */
  tryTake(): boolean {
    const now = this.clock.now().getTime();
    this.refill(now);
    if (this.pausedUntil > now || this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Waits for a token; callers are served one after another so none starves. */
  take(): Promise<void> {
    const turn = this.queue.then(() => this.waitForToken());
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async waitForToken(): Promise<void> {
    for (;;) {
      const now = this.clock.now().getTime();
      this.refill(now);
      const paused = this.pausedUntil - now;
      if (paused > 0) {
        await this.clock.sleep(paused);
        continue;
      }
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.clock.sleep(Math.ceil(((1 - this.tokens) * MINUTE_MS) / this.perMinute));
    }
  }

  /** Records the answer to a call that took a token. */
  answered(err: unknown): void {
    const now = this.clock.now().getTime();
    if (!isBatchError(err, 'ResourceExhausted')) {
      this.accepted.push(now);
      this.forgetBefore(now - MINUTE_MS);
      if (err === undefined) this.exhaustions = 0;
      return;
    }
    this.forgetBefore(now - MINUTE_MS);
    this.lastExhausted = now;
    const learned = Math.max(1, Math.floor(this.accepted.length * LEARNED_SHARE));
    const wait = Math.round(backoffDelay(this.exhaustions, COOL_DOWN, this.random));
    this.pausedUntil = Math.max(this.pausedUntil, now + wait);
    this.exhaustions++;
    this.setRate(Math.min(this.perMinute, learned), wait);
  }

  private setRate(perMinute: number, coolDownMs: number): void {
    this.perMinute = perMinute;
    this.tokens = Math.min(this.tokens, this.capacity());
    this.onRateChange?.(this.kind, perMinute, coolDownMs);
  }

  private forgetBefore(at: number): void {
    while (this.accepted.length > 0 && this.accepted[0]! <= at) this.accepted.shift();
  }
}

/** The BatchJobs port with every call drawn from its kind's QuotaBucket. */
export class ThrottledBatchJobs implements BatchJobs {
  readonly mutations: QuotaBucket;
  readonly reads: QuotaBucket;

  constructor(
    private readonly inner: BatchJobs,
    opts: BatchThrottleOptions | { mutations: QuotaBucket; reads: QuotaBucket },
  ) {
    if ('mutations' in opts) {
      this.mutations = opts.mutations;
      this.reads = opts.reads;
      return;
    }
    const random = opts.random ?? Math.random;
    this.mutations = new QuotaBucket(
      'mutation',
      opts.mutationsPerMinute,
      opts.clock,
      random,
      opts.onRateChange,
    );
    this.reads = new QuotaBucket('read', opts.readsPerMinute, opts.clock, random, opts.onRateChange);
  }

  /** The same budget over another client (another caller's credentials): the ceilings bound the
   * controller's calls as a whole, whichever identity makes them. */
  over(inner: BatchJobs): ThrottledBatchJobs {
    return new ThrottledBatchJobs(inner, { mutations: this.mutations, reads: this.reads });
  }

  private async through<T>(bucket: QuotaBucket, call: () => Promise<T>): Promise<T> {
    await bucket.take();
    try {
      const result = await call();
      bucket.answered(undefined);
      return result;
    } catch (err) {
      bucket.answered(err);
      throw err;
    }
  }

  createJob(request: CreateJobRequest): Promise<Job> {
    return this.through(this.mutations, () => this.inner.createJob(request));
  }

  cancelJob(name: string, requestId?: string): Promise<void> {
    return this.through(this.mutations, () => this.inner.cancelJob(name, requestId));
  }

  deleteJob(name: string, reason?: string, requestId?: string): Promise<void> {
    return this.through(this.mutations, () => this.inner.deleteJob(name, reason, requestId));
  }

  getJob(name: string): Promise<Job> {
    return this.through(this.reads, () => this.inner.getJob(name));
  }

  listJobs(query: ListJobsQuery): Promise<JobPage> {
    return this.through(this.reads, () => this.inner.listJobs(query));
  }

  listTasks(jobName: string, group?: string): Promise<Task[]> {
    return this.through(this.reads, () => this.inner.listTasks(jobName, group));
  }
}
