// Runs the controller: the watch feeds keys into a work queue, N workers reconcile them (one in flight per
// key), results come back as delayed re-adds (requeueAfter) or per-key back-off (errors). With leader
// election only the leader takes keys and polls Batch; a leader that loses the lease stops taking keys at
// once. Shutdown stops taking keys, lets in-flight reconciles finish, then releases the lease.
import type { Logger } from 'pino';
import { parseKey, type Drmaa2Job } from '../api/drmaa2job.js';
import type { JobWatch } from '../ports/jobWatch.js';
import type { LeaderCallbacks } from './leaderElector.js';
import { TerminalError, type Reconcile } from './reconcileContract.js';
import { isUrgent } from './priority.js';
import { WorkQueue, type WorkQueueOptions } from './workqueue.js';

/** The part of the controller's metrics the runner feeds. */
export interface RunnerMetrics {
  reconcileDone(result: 'success' | 'error' | 'requeue', seconds: number): void;
  setQueueDepth(n: number): void;
  queueLatency(seconds: number): void;
  setJobsByState(counts: Partial<Record<string, number>>): void;
  /** Drmaa2Jobs by the BatchProfile they were submitted under (`none`: not under one). */
  setJobsByProfile?(counts: Partial<Record<string, number>>): void;
}

/** Leader election as the runner uses it (LeaderElector). */
export interface Elector {
  run(callbacks: LeaderCallbacks): Promise<void>;
  stop(): Promise<void>;
}

/** Something besides the watch that brings keys, as controller-runtime's sources do (the session poller):
 * the runner starts it while this instance leads, handing it the queue, and stops it when it no longer does.
 * `urgent` keys (a Batch job that ended) go before new resources. */
export interface Source {
  start(enqueue: (key: string, urgent: boolean) => void): void;
  stop(): Promise<void>;
}

export interface RunnerOptions {
  watch: JobWatch;
  reconcile: Reconcile;
  concurrency: number;
  logger: Logger;
  sources?: Source[];
  elector?: Elector;
  metrics?: RunnerMetrics;
  queue?: WorkQueueOptions;
  /** How often the jobs-by-state gauge is refreshed from the watch's cache. */
  stateReportMs?: number;
}

export class Runner {
  private queue: WorkQueue | undefined;
  private workers: Promise<void>[] = [];
  private stopping: Promise<void> | undefined;
  private stateTimer: ReturnType<typeof setInterval> | undefined;
  private electing: Promise<void> | undefined;
  private broken: Error | undefined;

  constructor(private readonly opts: RunnerOptions) {
    opts.watch.onKey((key) => this.queue?.add(key, { urgent: this.isUrgent(key) }));
  }

  /** Starts watching; reconciles at once without an elector, else when this instance becomes leader. */
  async start(): Promise<void> {
    await this.opts.watch.start();
    this.opts.logger.info({ keys: this.opts.watch.keys().length }, 'Watch synced');
    if (this.opts.metrics) {
      this.stateTimer = setInterval(() => this.reportStates(), this.opts.stateReportMs ?? 15_000);
      this.stateTimer.unref?.();
    }
    const elector = this.opts.elector;
    if (!elector) {
      this.startWorking();
      return;
    }
    this.electing = elector.run({
      onStartedLeading: () => this.startWorking(),
      onStoppedLeading: () => void this.stopWorking(),
    });
  }

  private isUrgent(key: string): boolean {
    const job = this.cached(key);
    return job !== undefined && isUrgent(job);
  }

  /** The watch cache's copy of the resource a key names. */
  private cached(key: string): Drmaa2Job | undefined {
    const parsed = parseKey(key);
    return parsed ? this.opts.watch.get(parsed.namespace, parsed.name) : undefined;
  }

  /** True while this instance takes keys (it leads, or runs without election). */
  isWorking(): boolean {
    return this.queue !== undefined;
  }

  /** How long a key now being reconciled waited in the queue (ms; 0 for any other key): longer than a poll
   * interval, and the controller is behind. */
  waited(key: string): number {
    return this.queue?.waited(key) ?? 0;
  }

  /** Ready when the watch has synced, whether leading or standing by. */
  ready(): boolean {
    return this.opts.watch.hasSynced() && !this.stopping;
  }

  /** Healthy unless a worker loop broke, which only a restart mends. */
  healthy(): boolean {
    return this.broken === undefined;
  }

  private startWorking(): void {
    if (this.queue || this.stopping) return;
    const queue = new WorkQueue(this.opts.queue);
    this.queue = queue;
    for (const key of this.opts.watch.keys()) queue.add(key);
    const workers = Math.max(1, this.opts.concurrency);
    this.workers = Array.from({ length: workers }, () =>
      this.work(queue).catch((err: unknown) => {
        this.broken = err as Error;
        this.opts.logger.error({ err: (err as Error).message }, 'Worker stopped unexpectedly');
      }),
    );
    for (const source of this.opts.sources ?? []) source.start((key, urgent) => queue.add(key, { urgent }));
    this.opts.logger.info({ concurrency: workers }, 'Reconciling started');
  }

  private async stopWorking(): Promise<void> {
    const queue = this.queue;
    if (!queue) return;
    this.queue = undefined;
    queue.shutDown();
    const sources = (this.opts.sources ?? []).map((source) => source.stop());
    await queue.drained();
    await Promise.all([...this.workers, ...sources]);
    this.workers = [];
    this.opts.logger.info('Reconciling stopped');
  }

  private async work(queue: WorkQueue): Promise<void> {
    for (let key = await queue.get(); key !== undefined; key = await queue.get()) {
      this.opts.metrics?.queueLatency(queue.waited(key) / 1000);
      this.opts.metrics?.setQueueDepth(queue.len());
      try {
        await this.reconcileOne(queue, key);
      } finally {
        queue.done(key);
      }
    }
  }

  private async reconcileOne(queue: WorkQueue, key: string): Promise<void> {
    const { metrics, logger } = this.opts;
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    try {
      const result = await this.opts.reconcile(key);
      queue.forget(key);
      if (result.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
      metrics?.reconcileDone(result.requeueAfterMs !== undefined ? 'requeue' : 'success', seconds());
      logger.debug({ key, requeueAfterMs: result.requeueAfterMs }, 'Reconciled');
    } catch (err) {
      metrics?.reconcileDone('error', seconds());
      logger.debug({ key, err: (err as Error).message }, 'Reconciled with an error');
      if (err instanceof TerminalError) {
        queue.forget(key);
        logger.error({ key, err: err.message }, 'Reconcile failed for good; not retried');
        return;
      }
      const retryInMs = Math.round(queue.addRateLimited(key));
      logger.warn({ key, err: (err as Error).message, retryInMs }, 'Reconcile failed; retrying');
    }
  }

  private reportStates(): void {
    const counts: Record<string, number> = {};
    const byProfile: Record<string, number> = {};
    for (const key of this.opts.watch.keys()) {
      const status = this.cached(key)?.status;
      const state = status?.state ?? 'Unset';
      counts[state] = (counts[state] ?? 0) + 1;
      const profile = status?.profile?.name ?? 'none';
      byProfile[profile] = (byProfile[profile] ?? 0) + 1;
    }
    this.opts.metrics?.setJobsByState(counts);
    this.opts.metrics?.setJobsByProfile?.(byProfile);
  }

  /** Graceful shutdown: stop taking keys, finish in-flight reconciles, release the lease, stop watching. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    clearInterval(this.stateTimer);
    await this.stopWorking();
    await this.opts.elector?.stop();
    await this.electing;
    this.opts.watch.stop();
  }
}
