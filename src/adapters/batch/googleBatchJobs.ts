// The BatchJobs port over the real @google-cloud/batch v1 client.
//
// Retries: the client's own retries are switched off for every call (`retry: null`). Its defaults retry
// reads on UNAVAILABLE for up to ten minutes, which would hide an outage from the controller's per-key
// back-off and from the fault tests; mutating calls are not retried by the client anyway. Each call has a
// deadline (`timeoutMs`, default 30 s), after which it fails with DEADLINE_EXCEEDED.
import { BatchServiceClient, type protos } from '@google-cloud/batch';
import type { CreateJobRequest, Job, Task } from '../../api/batch.js';
import { LIST_PAGE_SIZE, type BatchJobs, type JobPage, type ListJobsQuery } from '../../ports/batchJobs.js';
import { clientOptions, type ClientSettings } from './clientOptions.js';
import { grpcCodeName, toBatchError } from './errors.js';
import { fromWire, toWire } from './wireForm.js';

export type BatchMethod = 'CreateJob' | 'GetJob' | 'ListJobs' | 'CancelJob' | 'DeleteJob' | 'ListTasks';

/** Told about every Batch call once it ended: the method, the gRPC status name (`OK`, `NOT_FOUND`, ...)
 * and how long it took. Meant for metrics; it must not throw. */
export type BatchCallObserver = (method: BatchMethod, code: string, durationMs: number) => void;

export interface BatchJobsOptions extends ClientSettings {
  /** Deadline of each call; default 30 s. */
  timeoutMs?: number;
  observer?: BatchCallObserver;
}

export interface ClosableBatchJobs extends BatchJobs {
  /** Closes the client's channel; the object is unusable afterwards. */
  close(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_TASK_GROUP = 'group0';

type WireJob = protos.google.cloud.batch.v1.IJob;

interface PageResponse {
  nextPageToken?: string | null;
}

export class GoogleBatchJobs implements ClosableBatchJobs {
  private readonly client: BatchServiceClient;
  private readonly timeoutMs: number;
  private readonly observer: BatchCallObserver | undefined;

  constructor(opts: BatchJobsOptions = {}) {
    this.client = new BatchServiceClient(clientOptions(opts));
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.observer = opts.observer;
  }

  async createJob(request: CreateJobRequest): Promise<Job> {
    const wire = {
      parent: request.parent,
      jobId: request.jobId,
      job: toWire(request.job) as WireJob,
      ...(request.requestId ? { requestId: request.requestId } : {}),
    };
    const [job] = await this.call('CreateJob', () => this.client.createJob(wire, this.callOptions()));
    return fromWire<Job>(job);
  }

  async getJob(name: string): Promise<Job> {
    const [job] = await this.call('GetJob', () => this.client.getJob({ name }, this.callOptions()));
    return fromWire<Job>(job);
  }

  async listJobs(query: ListJobsQuery): Promise<JobPage> {
    const request = {
      parent: query.parent,
      ...(query.filter ? { filter: query.filter } : {}),
      ...(query.orderBy ? { orderBy: query.orderBy } : {}),
      ...(query.pageSize ? { pageSize: query.pageSize } : {}),
      ...(query.pageToken ? { pageToken: query.pageToken } : {}),
    };
    const [jobs, , raw] = await this.call('ListJobs', () =>
      this.client.listJobs(request, { ...this.callOptions(), autoPaginate: false }),
    );
    const nextPageToken = (raw as PageResponse | undefined)?.nextPageToken ?? '';
    return { jobs: jobs.map((j) => fromWire<Job>(j)), ...(nextPageToken ? { nextPageToken } : {}) };
  }

  async cancelJob(name: string, requestId?: string): Promise<void> {
    const request = { name, ...(requestId ? { requestId } : {}) };
    // Accepted is enough: the operation's outcome shows in the job's state.
    await this.call('CancelJob', () => this.client.cancelJob(request, this.callOptions()));
  }

  async deleteJob(name: string, reason?: string, requestId?: string): Promise<void> {
    const request = { name, ...(reason ? { reason } : {}), ...(requestId ? { requestId } : {}) };
    await this.call('DeleteJob', () => this.client.deleteJob(request, this.callOptions()));
  }

  async listTasks(jobName: string, group = DEFAULT_TASK_GROUP): Promise<Task[]> {
    const parent = `${jobName}/taskGroups/${group}`;
    const tasks: Task[] = [];
    let pageToken = '';
    do {
      // Every page names its size: Batch refuses a later page whose size differs from the one its token
      // was made with, and an absent size is not the default it used for the first page.
      const request = { parent, pageSize: LIST_PAGE_SIZE, ...(pageToken ? { pageToken } : {}) };
      const [page, , raw] = await this.call('ListTasks', () =>
        this.client.listTasks(request, { ...this.callOptions(), autoPaginate: false }),
      );
      tasks.push(...page.map((t) => fromWire<Task>(t)));
      pageToken = (raw as PageResponse | undefined)?.nextPageToken ?? '';
    } while (pageToken);
    return tasks;
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private callOptions() {
    return { retry: null, timeout: this.timeoutMs };
  }

  private async call<T>(method: BatchMethod, run: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await run();
      this.observe(method, undefined, started);
      return result;
    } catch (err) {
      this.observe(method, err, started);
      throw toBatchError(err);
    }
  }

  private observe(method: BatchMethod, err: unknown, started: number): void {
    if (!this.observer) return;
    try {
      this.observer(method, grpcCodeName(err), performance.now() - started);
    } catch {
      // A metrics hook must never turn a Batch answer into a failure.
    }
  }
}
