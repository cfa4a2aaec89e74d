// An in-memory Google Batch behind the BatchJobs port, honest about the parts the core relies on:
// ALREADY_EXISTS on a duplicate job ID, NOT_FOUND for unknown jobs, list filtering by labels and state
// (AIP-160 equality terms joined by AND), paging with page tokens, cancel and delete moving the job through
// the in-progress states, and tasks per job. Tests move jobs between states, set tasks and inject errors.
import type { BatchJobState, BatchTaskState, CreateJobRequest, Job, Task } from '../../../src/api/batch.js';
import type { BatchJobs, JobPage, ListJobsQuery } from '../../../src/ports/batchJobs.js';
import { BatchError, type BatchErrorKind } from '../../../src/ports/errors.js';

export type FakeMethod = 'createJob' | 'getJob' | 'listJobs' | 'cancelJob' | 'deleteJob' | 'listTasks';

export interface FakeCall {
  method: FakeMethod;
  arg: unknown;
}

const GRPC_CODES: Record<BatchErrorKind, number> = {
  NotFound: 5,
  AlreadyExists: 6,
  InvalidArgument: 3,
  FailedPrecondition: 9,
  PermissionDenied: 7,
  Unauthenticated: 16,
  ResourceExhausted: 8,
  Unavailable: 14,
  DeadlineExceeded: 4,
  Internal: 13,
  Unknown: 2,
};

const FINISHED: ReadonlySet<BatchJobState> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

const TASK_STATE_FOR_JOB: Partial<Record<BatchJobState, BatchTaskState>> = {
  QUEUED: 'PENDING',
  SCHEDULED: 'ASSIGNED',
  RUNNING: 'RUNNING',
  SUCCEEDED: 'SUCCEEDED',
  FAILED: 'FAILED',
  CANCELLATION_IN_PROGRESS: 'RUNNING',
  CANCELLED: 'UNEXECUTED',
};

export function batchError(kind: BatchErrorKind, message = `injected ${kind}`): BatchError {
  return new BatchError(kind, message, GRPC_CODES[kind]);
}

export interface FakeBatchJobsOptions {
  /** Time source for createTime and status events; defaults to the wall clock. */
  now?: () => Date;
  /** Page size when the query gives none. */
  defaultPageSize?: number;
  /** The most jobs a page holds whatever the query asks (a server's own cap); default no cap. */
  maxPageSize?: number;
}

export class FakeBatchJobs implements BatchJobs {
  /** Every call in order, with its argument. */
  readonly calls: FakeCall[] = [];
  private readonly jobs = new Map<string, Job>();
  private readonly tasks = new Map<string, Task[]>();
  private readonly failures = new Map<FakeMethod, BatchError[]>();
  private readonly now: () => Date;
  private readonly defaultPageSize: number;
  private readonly maxPageSize: number;
  private uidCounter = 0;

  constructor(opts: FakeBatchJobsOptions = {}) {
    this.now = opts.now ?? (() => new Date());
    this.defaultPageSize = opts.defaultPageSize ?? 50;
    this.maxPageSize = opts.maxPageSize ?? Infinity;
  }

  // ------------------------------------------------------------------ the port

  async createJob(request: CreateJobRequest): Promise<Job> {
    this.enter('createJob', request);
    const name = `${request.parent}/jobs/${request.jobId}`;
    if (!/^projects\/[^/]+\/locations\/[^/]+$/.test(request.parent)) {
      throw batchError('InvalidArgument', `invalid parent ${request.parent}`);
    }
    if (this.jobs.has(name)) throw batchError('AlreadyExists', `job ${name} already exists`);
    const job: Job = {
      ...structuredClone(request.job),
      name,
      uid: `uid-${++this.uidCounter}`,
      createTime: this.now().toISOString(),
      updateTime: this.now().toISOString(),
      taskGroups: (request.job.taskGroups ?? []).map((g, i) => ({
        ...structuredClone(g),
        name: `${name}/taskGroups/group${i}`,
      })),
      status: { state: 'QUEUED', statusEvents: [] },
    };
    this.jobs.set(name, job);
    return structuredClone(job);
  }

  async getJob(name: string): Promise<Job> {
    this.enter('getJob', name);
    return structuredClone(this.mustGet(name));
  }

  async listJobs(query: ListJobsQuery): Promise<JobPage> {
    this.enter('listJobs', query);
    const matches = matcher(query.filter);
    const all = [...this.jobs.values()].filter(
      (j) => j.name?.startsWith(`${query.parent}/jobs/`) && matches(j),
    );
    const start = query.pageToken ? Number(query.pageToken) : 0;
    if (!Number.isInteger(start) || start < 0) throw batchError('InvalidArgument', 'invalid page token');
    const asked = query.pageSize && query.pageSize > 0 ? query.pageSize : this.defaultPageSize;
    const size = Math.min(asked, this.maxPageSize);
    const jobs = all.slice(start, start + size).map((j) => structuredClone(j));
    const next = start + size < all.length ? String(start + size) : undefined;
    return { jobs, ...(next ? { nextPageToken: next } : {}) };
  }

  async cancelJob(name: string, requestId?: string): Promise<void> {
    this.enter('cancelJob', { name, requestId });
    const job = this.mustGet(name);
    const state = job.status?.state ?? 'STATE_UNSPECIFIED';
    if (state === 'CANCELLATION_IN_PROGRESS') return;
    if (FINISHED.has(state) || state === 'DELETION_IN_PROGRESS') {
      throw batchError('FailedPrecondition', `job ${name} is ${state} and cannot be cancelled`);
    }
    this.setState(name, 'CANCELLATION_IN_PROGRESS');
  }

  async deleteJob(name: string, reason?: string, requestId?: string): Promise<void> {
    this.enter('deleteJob', { name, reason, requestId });
    this.mustGet(name);
    this.setState(name, 'DELETION_IN_PROGRESS');
  }

  async listTasks(jobName: string, group = 'group0'): Promise<Task[]> {
    this.enter('listTasks', { jobName, group });
    const job = this.mustGet(jobName);
    if (group !== 'group0') throw batchError('NotFound', `task group ${group} not found`);
    return structuredClone(this.tasks.get(jobName) ?? defaultTasks(job));
  }

  // ------------------------------------------------------------------ test controls

  /** Moves a job to `state`, recording a STATUS_CHANGED event like Batch's. */
  setState(name: string, state: BatchJobState): void {
    const job = this.mustGet(name);
    const from = job.status?.state ?? 'STATE_UNSPECIFIED';
    const eventTime = this.now().toISOString();
    const event = {
      type: 'STATUS_CHANGED',
      description: `Job state is set from ${from} to ${state}.`,
      eventTime,
    };
    job.status = { ...job.status, state, statusEvents: [...(job.status?.statusEvents ?? []), event] };
    job.updateTime = eventTime;
  }

  /** Ends what cancel and delete started: CANCELLATION_IN_PROGRESS -> CANCELLED, DELETION_IN_PROGRESS -> gone. */
  settle(): void {
    for (const [name, job] of this.jobs) {
      if (job.status?.state === 'CANCELLATION_IN_PROGRESS') this.setState(name, 'CANCELLED');
      if (job.status?.state === 'DELETION_IN_PROGRESS') this.remove(name);
    }
  }

  /** Changes the stored job in place (status details, labels, ...). */
  update(name: string, change: (job: Job) => void): void {
    change(this.mustGet(name));
  }

  setTasks(jobName: string, tasks: Task[]): void {
    this.tasks.set(jobName, structuredClone(tasks));
  }

  /** Puts a job straight into the store, as if created by someone else. */
  put(job: Job & { name: string }): void {
    this.jobs.set(job.name, structuredClone(job));
  }

  remove(name: string): void {
    this.jobs.delete(name);
    this.tasks.delete(name);
  }

  has(name: string): boolean {
    return this.jobs.has(name);
  }

  job(name: string): Job | undefined {
    const job = this.jobs.get(name);
    return job ? structuredClone(job) : undefined;
  }

  names(): string[] {
    return [...this.jobs.keys()];
  }

  /** The next `times` calls of `method` fail with `error` (before doing anything). */
  failNext(method: FakeMethod, error: BatchError, times = 1): void {
    const queue = this.failures.get(method) ?? [];
    for (let i = 0; i < times; i++) queue.push(error);
    this.failures.set(method, queue);
  }

  callsOf(method: FakeMethod): FakeCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  // ------------------------------------------------------------------ internals

  private enter(method: FakeMethod, arg: unknown): void {
    this.calls.push({ method, arg: structuredClone(arg) });
    const injected = this.failures.get(method)?.shift();
    if (injected) throw injected;
  }

  private mustGet(name: string): Job {
    const job = this.jobs.get(name);
    if (!job) throw batchError('NotFound', `job ${name} not found`);
    return job;
  }
}

function defaultTasks(job: Job): Task[] {
  const count = job.taskGroups?.[0]?.taskCount ?? 1;
  const state = TASK_STATE_FOR_JOB[job.status?.state ?? 'STATE_UNSPECIFIED'] ?? 'STATE_UNSPECIFIED';
  const group = job.taskGroups?.[0]?.name ?? `${job.name}/taskGroups/group0`;
  return Array.from({ length: count }, (_, i) => ({ name: `${group}/tasks/${i}`, status: { state } }));
}

const TERM = /^\s*([a-zA-Z0-9_.-]+)\s*=\s*"((?:[^"\\]|\\.)*)"\s*$/;

/** AIP-160 equality terms (`labels.k="v"`, `status.state="RUNNING"`, `name="..."`) joined by AND. */
function matcher(filter: string | undefined): (job: Job) => boolean {
  if (!filter?.trim()) return () => true;
  const terms = filter.split(/\s+AND\s+/).map((term) => {
    const match = TERM.exec(term);
    if (!match) throw batchError('InvalidArgument', `unsupported filter term: ${term}`);
    return { path: match[1]!, value: match[2]!.replace(/\\(.)/g, '$1') };
  });
  return (job) => terms.every((t) => fieldOf(job, t.path) === t.value);
}

function fieldOf(job: Job, path: string): string | undefined {
  if (path.startsWith('labels.')) return job.labels?.[path.slice('labels.'.length)];
  if (path === 'status.state') return job.status?.state;
  if (path === 'name') return job.name;
  throw batchError('InvalidArgument', `unsupported filter field: ${path}`);
}
