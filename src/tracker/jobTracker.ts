// The DRMAA2 JobTracker over Google Batch: the TypeScript counterpart of the original Go library, with its
// known faults fixed (terminate cancels instead of deleting, deleteJob only in end states, wait backs off,
// every ID-based operation checks the job session, bucket creation only after a definite not-found).
import { jobNameOf, parentOf, type CreateJobRequest, type Job, type Task } from '../api/batch.js';
import type { JobInfo, JobState, JobTemplate, JobControlAction } from '../api/drmaa2.js';
import { CATEGORY_SCRIPT, CATEGORY_SCRIPT_PATH, TERMINAL_STATES } from '../api/drmaa2.js';
import type { Drmaa2JobSpec } from '../api/drmaa2job.js';
import { LABEL_SESSION } from '../api/drmaa2job.js';
import { listAllJobs, type BatchJobs } from '../ports/batchJobs.js';
import type { Buckets } from '../ports/buckets.js';
import type { Clock } from '../ports/clock.js';
import { isBatchError } from '../ports/errors.js';
import type { Submission, Warning } from '../translate/index.js';
import { jobInfoOf, jobStateOf, templateOf, translateSpec } from '../translate/index.js';
import {
  Drmaa2Error,
  InvalidArgumentError,
  InvalidSpecError,
  InvalidStateError,
  NotInSessionError,
  UnsupportedOperationError,
} from './errors.js';
import { arrayElements, nativeArrayId, parseId, perElementArrayId, type ParsedId } from './jobIds.js';
import { HeldJobs, type HeldJob } from './heldJobs.js';
import { taskExitCode, taskStateOf } from './taskState.js';
import { DEFAULT_BACKOFF, pollUntil, type BackoffOptions } from './wait.js';

export interface JobTrackerOptions {
  batch: BatchJobs;
  buckets: Buckets;
  clock: Clock;
  project: string;
  location: string;
  /** The DRMAA2 job session: written as the `drmaa2session` label, checked on every ID-based call. */
  session: string;
  /** Source of the number that makes generated job IDs unique; default: a counter from a random start. */
  nonce?: () => number;
  /** Told about each translation warning (a template field that has no effect, ...). */
  onWarning?: (warning: Warning) => void;
  /** Back-off of wait(); default 1 s doubling up to 30 s. */
  backoff?: BackoffOptions;
}

export interface StateAndSubState {
  state: JobState;
  subState: string;
}

/** The job categories a template's `jobCategory` may name; anything else is taken as a container image. */
export const JOB_CATEGORIES: readonly string[] = [
  CATEGORY_SCRIPT_PATH,
  CATEGORY_SCRIPT,
  '<container_image_name>',
];

const DELETE_REASON = 'job deleted by user';

function randomStart(): () => number {
  let next = Math.floor(Math.random() * 1_000_000);
  return () => next++;
}

export class JobTracker {
  private readonly batch: BatchJobs;
  private readonly buckets: Buckets;
  private readonly clock: Clock;
  private readonly project: string;
  private readonly location: string;
  private readonly session: string;
  private readonly nonce: () => number;
  private readonly onWarning: ((warning: Warning) => void) | undefined;
  private readonly backoff: BackoffOptions;
  private readonly held = new HeldJobs();
  /** The last state seen per job, which DELETION_IN_PROGRESS keeps reporting. */
  private readonly lastKnown = new Map<string, JobState>();

  constructor(opts: JobTrackerOptions) {
    this.batch = opts.batch;
    this.buckets = opts.buckets;
    this.clock = opts.clock;
    this.project = opts.project;
    this.location = opts.location;
    this.session = opts.session;
    this.nonce = opts.nonce ?? randomStart();
    this.onWarning = opts.onWarning;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
  }

  get parent(): string {
    return parentOf(this.project, this.location);
  }

  // ------------------------------------------------------------------ submission

  /** Submits one job; returns its full Batch name. With `submitAsHold` the job is kept here, QueuedHeld,
   * until jobControl(id, 'release') submits it. */
  async addJob(template: JobTemplate): Promise<string> {
    const submission = this.translate({ jobTemplate: template });
    const [request] = submission.requests;
    if (!request || submission.requests.length !== 1) {
      throw new Drmaa2Error(`a single job became ${submission.requests.length} Batch requests`);
    }
    await this.ensureBuckets(submission.buckets);
    if (template.submitAsHold) return this.held.add(request, template);
    return this.create(request);
  }

  /** Submits a DRMAA2 array job (indexes begin, begin+step, ... <= end) and returns its array job ID
   * (format in jobIds.ts). A plain template becomes one native Batch job with a task per index; a
   * multi-task template becomes one Batch job per index. `maxParallel` <= 0 means no limit. */
  async addArrayJob(
    template: JobTemplate,
    begin: number,
    end: number,
    step: number,
    maxParallel: number,
  ): Promise<string> {
    const array = { begin, end, step, ...(maxParallel > 0 ? { maxParallel } : {}) };
    const submission = this.translate({ jobTemplate: template, array });
    await this.ensureBuckets(submission.buckets);
    const names = template.submitAsHold
      ? submission.requests.map((r) => this.held.add(r, template))
      : await this.createAll(submission.requests);
    const native = submission.array?.mode !== 'perElement' && names.length === 1;
    if (!native) return perElementArrayId(names);
    const a = submission.array ?? { begin, end, step };
    return nativeArrayId(names[0]!, a.begin, a.end, a.step);
  }

  /** The per-index IDs of an array job: Batch task names for a native array, job names otherwise. */
  listArrayJobs(arrayJobId: string): string[] {
    return arrayElements(arrayJobId, this.parent);
  }

  // ------------------------------------------------------------------ observation

  async jobState(id: string): Promise<StateAndSubState> {
    const parsed = this.parse(id);
    const held = this.held.get(parsed.job);
    if (held)
      return held.terminated
        ? { state: 'Failed', subState: 'CANCELLED' }
        : { state: 'QueuedHeld', subState: 'HELD' };
    const job = await this.sessionJob(parsed.job);
    const jobState = this.observe(job);
    if (parsed.kind !== 'task') return jobState;
    const tasks = await this.tasksOf(parsed.job);
    return indexState(
      jobState,
      tasks?.find((t) => t.name === parsed.task),
    );
  }

  async jobInfo(id: string): Promise<JobInfo> {
    const parsed = this.parse(id);
    const held = this.held.get(parsed.job);
    if (held) return { id: parsed.job, ...(await this.jobState(parsed.job)) };
    const job = await this.sessionJob(parsed.job);
    const tasks = await this.tasksOf(parsed.job);
    if (parsed.kind === 'task') return this.taskInfo(job, parsed.task, tasks);
    const info = jobInfoOf(job, tasks, this.lastKnown.get(parsed.job));
    this.observe(job);
    return info;
  }

  /** The template the job was submitted with (decoded from the job's DRMAA2_JOB_TEMPLATE variable). */
  async jobTemplate(id: string): Promise<JobTemplate> {
    const parsed = this.parse(id);
    const held = this.held.get(parsed.job);
    if (held) return structuredClone(held.template);
    const template = templateOf(await this.sessionJob(parsed.job));
    if (!template) throw new Drmaa2Error(`job ${parsed.job} carries no DRMAA2 job template`);
    return template;
  }

  /** The names of this session's jobs (Batch jobs labelled with the session, and held ones). */
  async listJobs(): Promise<string[]> {
    const filter = `labels.${LABEL_SESSION}="${this.session}"`;
    const { jobs } = await listAllJobs(this.batch, { parent: this.parent, filter });
    const names = jobs.filter((job) => job.name && this.inSession(job)).map((job) => job.name!);
    return [...names, ...this.held.names()];
  }

  listJobCategories(): string[] {
    return [...JOB_CATEGORIES];
  }

  /** Google Batch has no queues. */
  getAllQueueNames(): string[] {
    return [];
  }

  // ------------------------------------------------------------------ control

  async jobControl(id: string, action: JobControlAction): Promise<void> {
    switch (action) {
      case 'terminate':
        return this.terminate(id);
      case 'hold':
        return this.hold(id);
      case 'release':
        return this.release(id);
      case 'suspend':
      case 'resume':
        return this.unsupported(id, action);
      default:
        throw new InvalidArgumentError(`unknown job control action ${JSON.stringify(action)}`);
    }
  }

  /** Waits until the job is in one of `states` (default: Done or Failed) and returns the state it found.
   * Polls with back-off (1 s doubling to 30 s); `timeoutMs` may be Infinity, 0 checks once. A job that
   * disappears ends the wait with the NotFound error; other read errors are retried. */
  async wait(
    id: string,
    timeoutMs: number,
    states: readonly JobState[] = TERMINAL_STATES,
    signal?: AbortSignal,
  ): Promise<StateAndSubState> {
    if (!(timeoutMs >= 0))
      throw new InvalidArgumentError(`timeout must be >= 0 or Infinity, got ${timeoutMs}`);
    const wanted = states.length > 0 ? states : TERMINAL_STATES;
    return pollUntil({
      clock: this.clock,
      timeoutMs,
      backoff: this.backoff,
      poll: () => this.jobState(id),
      done: (s) => wanted.includes(s.state),
      isFatal: (err) => isBatchError(err, 'NotFound') || err instanceof Drmaa2Error,
      describe: (last) => `job ${id} is ${last?.state ?? 'unknown'}, waited for ${wanted.join('|')}`,
      ...(signal ? { signal } : {}),
    });
  }

  /** Removes a finished job (Done or Failed) from Batch; DRMAA2 reaps only jobs in an end state. */
  async deleteJob(id: string): Promise<void> {
    const parsed = this.parse(id);
    if (parsed.kind === 'task') throw this.indexNotControllable('deleted');
    const held = this.held.get(parsed.job);
    if (held) return this.deleteHeld(held);
    const job = await this.sessionJob(parsed.job);
    const { state, subState } = this.observe(job);
    if (subState === 'DELETION_IN_PROGRESS') return;
    if (!TERMINAL_STATES.includes(state)) {
      throw new InvalidStateError(`job ${parsed.job} is ${state}; only Done or Failed jobs can be deleted`);
    }
    await this.batch.deleteJob(parsed.job, DELETE_REASON);
    this.lastKnown.delete(parsed.job);
  }

  // ------------------------------------------------------------------ internals

  private translate(spec: Drmaa2JobSpec): Submission {
    const result = translateSpec(spec, {
      project: this.project,
      location: this.location,
      session: this.session,
      now: this.clock.now(),
      nonce: this.nonce(),
    });
    if (!result.ok) throw new InvalidSpecError(result.errors);
    for (const warning of result.submission.warnings) {
      // The tracker itself honours submitAsHold (the resource uses spec.hold instead, hence the warning).
      if (!warning.path.endsWith('.submitAsHold')) this.onWarning?.(warning);
    }
    return result.submission;
  }

  private async ensureBuckets(buckets: readonly string[]): Promise<void> {
    for (const bucket of new Set(buckets)) await this.buckets.ensureBucket(bucket, this.project);
  }

  private async create(request: CreateJobRequest): Promise<string> {
    const job = await this.batch.createJob(request);
    const name = job.name || jobNameOf(request.parent, request.jobId);
    this.observe(job);
    return name;
  }

  /** Creates every request; when one fails, the ones already created are deleted (no orphans). */
  private async createAll(requests: readonly CreateJobRequest[]): Promise<string[]> {
    const names: string[] = [];
    try {
      for (const request of requests) names.push(await this.create(request));
      return names;
    } catch (err) {
      await Promise.allSettled(names.map((n) => this.batch.deleteJob(n, 'array job submission failed')));
      throw err;
    }
  }

  private async terminate(id: string): Promise<void> {
    const parsed = this.parse(id);
    if (parsed.kind === 'task') throw this.indexNotControllable('terminated');
    const held = this.held.get(parsed.job);
    if (held) {
      held.terminated = true;
      return;
    }
    const { state, subState } = this.observe(await this.sessionJob(parsed.job));
    if (subState === 'CANCELLATION_IN_PROGRESS' || subState === 'CANCELLED') return;
    if (subState === 'DELETION_IN_PROGRESS')
      throw new InvalidStateError(`job ${parsed.job} is being deleted`);
    if (TERMINAL_STATES.includes(state))
      throw new InvalidStateError(`job ${parsed.job} has already ended (${state})`);
    await this.batch.cancelJob(parsed.job);
  }

  private async unsupported(id: string, action: JobControlAction): Promise<never> {
    const parsed = this.parse(id);
    if (!this.held.get(parsed.job)) await this.sessionJob(parsed.job);
    throw new UnsupportedOperationError(
      `${action} is not supported by Google Batch: a Batch job cannot be paused or resumed`,
    );
  }

  private async hold(id: string): Promise<void> {
    const parsed = this.parse(id);
    const held = this.held.get(parsed.job);
    if (held?.terminated) throw new InvalidStateError(`job ${parsed.job} was terminated before submission`);
    if (held) return;
    await this.sessionJob(parsed.job);
    throw new InvalidStateError(
      `job ${parsed.job} is already submitted to Google Batch, which cannot hold a submitted job; ` +
        'hold is possible only before submission (submit with submitAsHold)',
    );
  }

  private async release(id: string): Promise<void> {
    const parsed = this.parse(id);
    const held = this.held.get(parsed.job);
    if (held?.terminated) throw new InvalidStateError(`job ${parsed.job} was terminated before submission`);
    if (held) {
      await this.create(held.request);
      this.held.remove(parsed.job);
      return;
    }
    await this.sessionJob(parsed.job);
    throw new InvalidStateError(`job ${parsed.job} is not held: it was already submitted to Google Batch`);
  }

  private deleteHeld(held: HeldJob): void {
    if (!held.terminated) {
      throw new InvalidStateError(`job ${held.name} is QueuedHeld; only Done or Failed jobs can be deleted`);
    }
    this.held.remove(held.name);
  }

  private indexNotControllable(what: string): UnsupportedOperationError {
    return new UnsupportedOperationError(
      `a single index of a native array job cannot be ${what} in Google Batch; use the array job`,
    );
  }

  private parse(id: string): ParsedId {
    if (typeof id !== 'string') throw new InvalidArgumentError('a job ID is a string');
    return parseId(id, this.parent);
  }

  /** Reads the job and makes sure it belongs to this session; NotFound passes through as a BatchError. */
  private async sessionJob(name: string): Promise<Job> {
    const job = await this.batch.getJob(name);
    if (!this.inSession(job))
      throw new NotInSessionError(`job ${name} not found in job session ${this.session}`);
    return job;
  }

  private inSession(job: Job): boolean {
    return (job.labels?.[LABEL_SESSION] ?? '') === this.session;
  }

  private observe(job: Job): StateAndSubState {
    const name = job.name ?? '';
    const result = jobStateOf(job, this.lastKnown.get(name));
    if (name) this.lastKnown.set(name, result.state);
    return result;
  }

  private async tasksOf(job: string): Promise<Task[] | undefined> {
    try {
      return await this.batch.listTasks(job);
    } catch (err) {
      // A job being deleted may have lost its tasks already; its info is still worth returning.
      if (isBatchError(err, 'NotFound')) return undefined;
      throw err;
    }
  }

  private taskInfo(job: Job, task: string, tasks: Task[] | undefined): JobInfo {
    const found = tasks?.find((t) => t.name === task);
    const { state, subState } = indexState(this.observe(job), found);
    const exitStatus = found ? taskExitCode(found) : undefined;
    return { id: task, state, subState, slots: 1, ...(exitStatus !== undefined ? { exitStatus } : {}) };
  }
}

/** An array index's state: its task's, or, before Batch lists the task, pending unless the job has ended. */
function indexState(jobState: StateAndSubState, task: Task | undefined): StateAndSubState {
  if (task) return taskStateOf(task);
  return TERMINAL_STATES.includes(jobState.state) ? jobState : { state: 'Queued', subState: 'PENDING' };
}
