// The session poller: one paged ListJobs of the session's running Batch jobs per interval, instead of a
// GetJob per job per interval. It remembers the newest view of each listed job, enqueues only the
// resources whose Batch job changed, and serves its memory to the reconciler (JobCache) for as long as the
// memory is fresh. A job that leaves the list (it ended, vanished, or is being cancelled or deleted) is
// enqueued once more and then forgotten: the reconciler reads it with GetJob from then on.
//
// A poll that keeps failing must not freeze what users see: past `maxCacheAgeMs` the memory is not served
// (reconciles read with GetJob, within the read budget), and after a few failures in a row the poller says
// so (`problem()` for the Synced condition, `health()` for the readiness check, the metrics hooks).
import type { Logger } from 'pino';
import type { BatchJobState, Job } from '../api/batch.js';
import { LABEL_NAME, LABEL_NAMESPACE, LABEL_SESSION } from '../api/drmaa2job.js';
import { listAllJobs, type BatchJobs } from '../ports/batchJobs.js';
import type { Clock } from '../ports/clock.js';
import type { SyncProblem } from '../translate/conditions.js';
import { MAX_JOBINFO_TEMPLATE } from '../translate/limits.js';
import { StringPool } from '../translate/stringPool.js';
import type { Source } from './runner.js';

/** The poller's memory of the session's active Batch jobs, so a reconcile needs no GetJob per interval. */
export interface JobCache {
  /** The latest Batch job known under this full name, while it is active; undefined when unknown. */
  get(name: string): Job | undefined;
  /** A job the reconciler read or created itself, fresher than the last list. */
  remember(job: Job): void;
  /** Whether the poll follows this job: it is known, and the last poll succeeded, so the next one either
   * lists it (and enqueues its resource if it changed) or enqueues its resource because it left the list. */
  follows?(name: string): boolean;
  /** Why the cache may not be following Batch (the poll that should follow `jobName` keeps failing);
   * undefined while it is. */
  problem?(jobName?: string): SyncProblem | undefined;
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
  /** How long a listed job is served after the last list that showed it; default 3 periods of the poll
   * (an interval and the time the last poll took: thousands of active jobs take many pages). */
  maxCacheAgeMs?: number;
  /** Called after each poll with the number of ListJobs calls it made (for metrics). */
  onPoll?(pages: number, seconds: number): void;
  /** Called after each failed poll with the error and the failures in a row (for metrics). */
  onPollFailed?(err: Error, failuresInARow: number): void;
}

/** Where the poller hands the keys of resources whose Batch job changed: `left` when the job left the
 * list (it ended, vanished, or is being cancelled or deleted), which users wait for; a job that only
 * moved between listed states is not. */
export type Enqueue = (key: string, left: boolean) => void;

interface Seen {
  job: Job;
  key: string | undefined;
  /** When a list (or the reconciler's own read) last showed this view, in clock milliseconds. */
  at: number;
}

/** The states the poll lists: the values real callers send in `status.state` filters (dsub lists running
 * jobs as RUNNING, QUEUED and SCHEDULED). Jobs in any other state are read with GetJob. */
export const POLLED_JOB_STATES: readonly BatchJobState[] = ['QUEUED', 'SCHEDULED', 'RUNNING'];

/** The session's running Batch jobs: `labels.drmaa2session="s" AND (status.state="QUEUED" OR ...)`, label
 * equality and state equality only, the forms real callers are seen to send. */
export function activeJobsFilter(session: string): string {
  const states = POLLED_JOB_STATES.map((s) => `status.state="${s}"`).join(' OR ');
  return `labels.${LABEL_SESSION}="${session}" AND (${states})`;
}

function isPolled(job: Job): boolean {
  return POLLED_JOB_STATES.includes(job.status?.state ?? 'STATE_UNSPECIFIED');
}

/** Failed polls in a row after which the poller reports a problem: one failure is weather, three are not. */
const FAILING_AFTER = 3;

/** Jobs per page of the session poll: at 10,000 active jobs still fewer than 0.01 reads per job and poll. */
const POLL_PAGE_SIZE = 100;

/** The resource a Batch job belongs to, from the labels the controller gave it. */
export function keyOfJob(job: Job): string | undefined {
  const namespace = job.labels?.[LABEL_NAMESPACE];
  const name = job.labels?.[LABEL_NAME];
  return namespace && name ? `${namespace}/${name}` : undefined;
}

/** What the poller keeps of an active Batch job: everything the status is computed from (state, counts,
 * events, labels, the machine type, the task count, the template the job carries), not the runnables,
 * volumes, per-task environments, network, logs policy or the VMs' copy of the labels, which can be far
 * larger and which the status never reads. */
export function retained(job: Job): Job {
  const { allocationPolicy, logsPolicy: _logs, taskGroups, status, ...rest } = job;
  const policy = allocationPolicy?.instances?.[0]?.policy;
  return {
    ...rest,
    ...(status ? { status: retainedStatus(status) } : {}),
    ...(policy ? { allocationPolicy: { instances: [{ policy: retainedPolicy(policy) }] } } : {}),
    ...(taskGroups ? { taskGroups: taskGroups.map(retainedGroup) } : {}),
  };
}

type InstancePolicy = NonNullable<
  NonNullable<NonNullable<Job['allocationPolicy']>['instances']>[number]['policy']
>;

/** The machine type and CPU platform JobInfo reports, nothing else of the VMs' policy. */
function retainedPolicy(policy: InstancePolicy): InstancePolicy {
  return {
    ...(policy.machineType ? { machineType: policy.machineType } : {}),
    ...(policy.minCpuPlatform ? { minCpuPlatform: policy.minCpuPlatform } : {}),
  };
}

/** A task group without its runnables, volumes and per-task environments: only the template copy JobInfo
 * carries, and only up to the size JobInfo carries it. */
function retainedGroup(
  group: NonNullable<Job['taskGroups']>[number],
): NonNullable<Job['taskGroups']>[number] {
  const copy = group.taskSpec?.environment?.variables?.DRMAA2_JOB_TEMPLATE;
  const template = copy && copy.length <= MAX_JOBINFO_TEMPLATE ? copy : undefined;
  const { taskSpec, taskEnvironments: _perTask, ...kept } = group;
  if (!taskSpec) return kept;
  return {
    ...kept,
    taskSpec: template ? { environment: { variables: { DRMAA2_JOB_TEMPLATE: template } } } : {},
  };
}

/** The job's status without the per-group list of VM instances (the machine type comes from the policy). */
function retainedStatus(status: NonNullable<Job['status']>): NonNullable<Job['status']> {
  if (!status.taskGroups) return status;
  const groups: NonNullable<NonNullable<Job['status']>['taskGroups']> = {};
  for (const [name, group] of Object.entries(status.taskGroups))
    groups[name] = group.counts ? { counts: group.counts } : {};
  return { ...status, taskGroups: groups };
}

function updatedAt(job: Job): number {
  const at = Date.parse(job.updateTime ?? '');
  return Number.isNaN(at) ? 0 : at;
}

function sameCounts(a: Job, b: Job): boolean {
  const groupsA = a.status?.taskGroups ?? {};
  const groupsB = b.status?.taskGroups ?? {};
  const names = new Set([...Object.keys(groupsA), ...Object.keys(groupsB)]);
  for (const name of names) {
    const countsA = groupsA[name]?.counts ?? {};
    const countsB = groupsB[name]?.counts ?? {};
    const states = new Set([...Object.keys(countsA), ...Object.keys(countsB)]);
    for (const state of states) {
      const key = state as keyof typeof countsA;
      if ((countsA[key] ?? 0) !== (countsB[key] ?? 0)) return false;
    }
  }
  return true;
}

/** True when `next` says something `known` did not (and is not an older snapshot of it). Whether Batch
 * moves `updateTime` with every task change or event, or only with job-level state changes, is not settled
 * by public sources (docs/batch-fidelity.md), so task counts and the number of status events are compared
 * too: a resource is reconciled on each, not on a timer. The run time alone is no change: the status
 * writes it when the state changes and at the end. */
function changed(known: Job | undefined, next: Job): boolean {
  if (!known) return true;
  if (updatedAt(next) < updatedAt(known)) return false;
  return (
    known.status?.state !== next.status?.state ||
    known.updateTime !== next.updateTime ||
    (known.status?.statusEvents?.length ?? 0) !== (next.status?.statusEvents?.length ?? 0) ||
    !sameCounts(known, next)
  );
}

/** What the poller knows of its own health, for the readiness check and logs. */
export interface PollHealth {
  /** False once the poll failed FAILING_AFTER times in a row. */
  ok: boolean;
  failuresInARow: number;
  lastSuccess?: Date;
  failingSince?: Date;
  lastError?: string;
}

export class SessionPoller implements JobCache, Source {
  private seen = new Map<string, Seen>();
  /** One copy of each recurring string (states, event types, machine types, times) across the jobs kept. */
  private readonly pool = new StringPool(4096);
  private running: Promise<void> | undefined;
  private abort: AbortController | undefined;
  private failures = 0;
  private failingSince: number | undefined;
  private lastError: string | undefined;
  private lastSuccess: number | undefined;
  /** How long the last successful poll took, in ms. */
  private lastDuration = 0;

  constructor(private readonly opts: SessionPollerOptions) {}

  private now(): number {
    return this.opts.clock.now().getTime();
  }

  private maxAgeMs(): number {
    return this.opts.maxCacheAgeMs ?? 3 * (this.opts.intervalMs + this.lastDuration);
  }

  /** The job as last listed, unless that list is older than maxCacheAgeMs (then the caller reads it). */
  get(name: string): Job | undefined {
    const known = this.seen.get(name);
    if (!known || this.now() - known.at > this.maxAgeMs()) return undefined;
    return known.job;
  }

  follows(name: string): boolean {
    return this.failures === 0 && this.get(name) !== undefined;
  }

  /** A job the reconciler read or created: kept when newer than what the last list said. Jobs the poll does
   * not list (ended, being cancelled or deleted) are dropped: the reconciler reads those itself. */
  remember(job: Job): void {
    if (!job.name) return;
    if (!isPolled(job)) {
      this.seen.delete(job.name);
      return;
    }
    const known = this.seen.get(job.name);
    if (known && updatedAt(job) < updatedAt(known.job)) return;
    this.seen.set(job.name, {
      job: this.pool.internAll(retained(job)),
      key: keyOfJob(job) ?? known?.key,
      at: this.now(),
    });
  }

  /** Synced=False for the resources whose jobs the poll should follow, once it failed FAILING_AFTER times
   * in a row. */
  problem(): SyncProblem | undefined {
    if (this.failures < FAILING_AFTER) return undefined;
    const since = new Date(this.failingSince!).toISOString();
    return {
      reason: 'BatchPollFailing',
      message: `Listing the session's Batch jobs has failed ${this.failures} times in a row since ${since} (${this.lastError ?? 'unknown error'}); jobs are read one by one with GetJob until it works again.`,
    };
  }

  health(): PollHealth {
    return {
      ok: this.failures < FAILING_AFTER,
      failuresInARow: this.failures,
      ...(this.lastSuccess !== undefined ? { lastSuccess: new Date(this.lastSuccess) } : {}),
      ...(this.failingSince !== undefined ? { failingSince: new Date(this.failingSince) } : {}),
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
    };
  }

  /** How many active jobs the poller remembers. */
  size(): number {
    return this.seen.size;
  }

  /** One poll: lists every page, enqueues the resources whose Batch job changed or left the list. A failed
   * poll changes nothing but the failure count (and throws). */
  async pollOnce(enqueue: Enqueue): Promise<number> {
    let listed: { jobs: Job[]; pages: number };
    const started = this.now();
    try {
      listed = await this.listAll();
    } catch (err) {
      this.failures++;
      this.failingSince ??= started;
      this.lastError = (err as Error).message;
      // The resources of the jobs it followed are looked at once more, now read one by one, and say that the
      // poll fails; until it works again they are looked at every interval.
      if (this.failures === FAILING_AFTER)
        for (const known of this.seen.values()) if (known.key) enqueue(known.key, false);
      throw err;
    }
    this.failures = 0;
    this.failingSince = undefined;
    this.lastError = undefined;
    this.lastSuccess = started;
    this.lastDuration = this.now() - started;
    const next = new Map<string, Seen>();
    for (const job of listed.jobs) {
      const name = job.name!;
      const known = this.seen.get(name);
      const key = keyOfJob(job) ?? known?.key;
      if (known && !changed(known.job, job)) {
        // The list started before this moment: the view is as fresh as the list.
        known.at = Math.max(known.at, started);
        next.set(name, known);
        continue;
      }
      next.set(name, { job: this.pool.internAll(job), key, at: started });
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
      const started = this.now();
      try {
        const pages = await this.pollOnce(enqueue);
        this.opts.onPoll?.(pages, (this.now() - started) / 1000);
      } catch (err) {
        const failures = this.failures;
        this.opts.onPollFailed?.(err as Error, failures);
        // A warning, however long it lasts: the controller goes on (reading with GetJob); the condition,
        // the readiness check and the metrics are where a lasting failure shows.
        this.opts.logger.warn(
          { err: (err as Error).message, failuresInARow: failures },
          'Session poll failed; retrying next interval',
        );
      }
      // One poll per interval, start to start, so that a poll of many pages does not stretch the period by
      // its own length; at least half an interval between polls, so that a poll slower than the interval
      // does not turn into one endless poll.
      const took = this.now() - started;
      const interval = this.opts.intervalMs;
      await this.opts.clock.sleep(Math.max(interval - took, interval / 2), signal).catch(() => undefined);
    }
  }

  /** Stops polling and forgets what it saw (a new leader starts from a fresh list). */
  async stop(): Promise<void> {
    this.abort?.abort();
    await this.running;
    this.running = undefined;
    this.seen.clear();
    this.failures = 0;
    this.failingSince = undefined;
    this.lastError = undefined;
  }
}
