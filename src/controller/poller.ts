// The session poller: one paged ListJobs of the session's active Batch jobs per interval, instead of a
// GetJob per job per interval. It remembers the newest view of each active job, enqueues only the
// resources whose Batch job changed, and serves its memory to the reconciler (JobCache). A job that leaves
// the active list (it ended or vanished) is enqueued once more and then forgotten: finished jobs leave
// the poll set, and the list filter keeps them off the pages.
import type { Logger } from 'pino';
import { ACTIVE_JOB_STATES, isActiveJob, type Job } from '../api/batch.js';
import { LABEL_NAME, LABEL_NAMESPACE, LABEL_SESSION } from '../api/drmaa2job.js';
import { listAllJobs, type BatchJobs } from '../ports/batchJobs.js';
import type { Clock } from '../ports/clock.js';
import { MAX_JOBINFO_TEMPLATE } from '../translate/limits.js';
import type { Source } from './runner.js';

/** The poller's memory of the session's active Batch jobs, so a reconcile needs no GetJob per interval. */
export interface JobCache {
  /** The latest Batch job known under this full name, while it is active; undefined when unknown. */
  get(name: string): Job | undefined;
  /** A job the reconciler read or created itself, fresher than the last list. */
  remember(job: Job): void;
}

export interface SessionPollerOptions {
  batch: BatchJobs;
  /** `projects/{project}/locations/{location}` */
  parent: string;
  session: string;
  intervalMs: number;
  clock: Clock;
  logger: Logger;
  pageSize?: number;
  /** The list filter; defaults to activeJobsFilter(session). */
  filter?: string;
  /** Called after each poll with the number of ListJobs calls it made (for metrics). */
  onPoll?(pages: number, seconds: number): void;
}

/** Where the poller hands the keys of resources whose Batch job changed: `ended` when the job left the
 * active list (it ended or vanished), which users wait for; a job that only moved between active states is
 * not. */
export type Enqueue = (key: string, ended: boolean) => void;

interface Seen {
  job: Job;
  key: string | undefined;
}

/** The session's Batch jobs that can still change: `labels.drmaa2session="s" AND (status.state="..." OR ...)`. */
export function activeJobsFilter(session: string): string {
  const states = ACTIVE_JOB_STATES.map((s) => `status.state="${s}"`).join(' OR ');
  return `labels.${LABEL_SESSION}="${session}" AND (${states})`;
}

/** Jobs per page of the session poll: at 10,000 active jobs still fewer than 0.01 reads per job and poll. */
const POLL_PAGE_SIZE = 100;

/** The resource a Batch job belongs to, from the labels the controller gave it. */
export function keyOfJob(job: Job): string | undefined {
  const namespace = job.labels?.[LABEL_NAMESPACE];
  const name = job.labels?.[LABEL_NAME];
  return namespace && name ? `${namespace}/${name}` : undefined;
}

/** What the poller keeps of an active Batch job: everything the status is computed from (state, counts,
 * events, labels, allocation, task count, the template the job carries), not the runnables, volumes and
 * per-task environments, which can be far larger and which the status never reads. */
export function retained(job: Job): Job {
  if (!job.taskGroups) return job;
  return {
    ...job,
    taskGroups: job.taskGroups.map((group) => {
      const copy = group.taskSpec?.environment?.variables?.DRMAA2_JOB_TEMPLATE;
      // JobInfo carries the template only up to this size, so a larger copy is of no use to keep.
      const template = copy && copy.length <= MAX_JOBINFO_TEMPLATE ? copy : undefined;
      const { taskSpec, taskEnvironments: _perTask, ...rest } = group;
      return {
        ...rest,
        ...(taskSpec
          ? { taskSpec: template ? { environment: { variables: { DRMAA2_JOB_TEMPLATE: template } } } : {} }
          : {}),
      };
    }),
  };
}

function updatedAt(job: Job): number {
  const at = Date.parse(job.updateTime ?? '');
  return Number.isNaN(at) ? 0 : at;
}

/** True when `next` says something `known` did not (and is not an older snapshot of it). */
function changed(known: Job | undefined, next: Job): boolean {
  if (!known) return true;
  if (updatedAt(next) < updatedAt(known)) return false;
  return known.status?.state !== next.status?.state || known.updateTime !== next.updateTime;
}

export class SessionPoller implements JobCache, Source {
  private seen = new Map<string, Seen>();
  private running: Promise<void> | undefined;
  private abort: AbortController | undefined;

  constructor(private readonly opts: SessionPollerOptions) {}

  get(name: string): Job | undefined {
    return this.seen.get(name)?.job;
  }

  /** A job the reconciler read or created: kept when newer than what the last list said. Ended jobs are
   * dropped, since the reconciler already acted on their end. */
  remember(job: Job): void {
    if (!job.name) return;
    if (!isActiveJob(job)) {
      this.seen.delete(job.name);
      return;
    }
    const known = this.seen.get(job.name);
    if (known && updatedAt(job) < updatedAt(known.job)) return;
    this.seen.set(job.name, { job: retained(job), key: keyOfJob(job) ?? known?.key });
  }

  /** How many active jobs the poller remembers. */
  size(): number {
    return this.seen.size;
  }

  /** One poll: lists every page, enqueues the resources whose Batch job changed or left the list. */
  async pollOnce(enqueue: Enqueue): Promise<number> {
    const listed = await this.listAll();
    const next = new Map<string, Seen>();
    for (const job of listed.jobs) {
      const name = job.name!;
      const known = this.seen.get(name);
      const key = keyOfJob(job) ?? known?.key;
      if (!changed(known?.job, job)) {
        next.set(name, known!);
        continue;
      }
      next.set(name, { job: retained(job), key });
      if (key) enqueue(key, false);
    }
    for (const [name, known] of this.seen) {
      if (!next.has(name) && known.key) enqueue(known.key, true);
    }
    this.seen = next;
    return listed.pages;
  }

  private async listAll(): Promise<{ jobs: Job[]; pages: number }> {
    // Each listed job carries its whole definition (up to Batch's 1 MB); only its slim form is kept, page by
    // page, and pages are smaller than Batch's default so that one page of large jobs fits the heap.
    return listAllJobs(
      this.opts.batch,
      {
        parent: this.opts.parent,
        filter: this.opts.filter ?? activeJobsFilter(this.opts.session),
        pageSize: this.opts.pageSize ?? POLL_PAGE_SIZE,
      },
      (job) => (job.name ? retained(job) : undefined),
    );
  }

  /** Polls every interval until stop(), handing changes to `enqueue`; a failed poll is logged and retried at
   * the next interval. */
  start(enqueue: Enqueue): void {
    if (this.running) return;
    const abort = new AbortController();
    this.abort = abort;
    this.running = this.loop(enqueue, abort.signal);
  }

  private async loop(enqueue: Enqueue, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const started = this.opts.clock.now().getTime();
      try {
        const pages = await this.pollOnce(enqueue);
        this.opts.onPoll?.(pages, (this.opts.clock.now().getTime() - started) / 1000);
      } catch (err) {
        this.opts.logger.warn({ err: (err as Error).message }, 'Session poll failed; retrying next interval');
      }
      await this.opts.clock.sleep(this.opts.intervalMs, signal).catch(() => undefined);
    }
  }

  /** Stops polling and forgets what it saw (a new leader starts from a fresh list). */
  async stop(): Promise<void> {
    this.abort?.abort();
    await this.running;
    this.running = undefined;
    this.seen.clear();
  }
}
