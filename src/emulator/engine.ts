// The emulator's jobs and their lifecycle, as Batch runs them: QUEUED -> SCHEDULED -> RUNNING ->
// SUCCEEDED | FAILED, cancel -> CANCELLATION_IN_PROGRESS -> CANCELLED, delete -> DELETION_IN_PROGRESS -> gone;
// tasks PENDING -> ASSIGNED -> RUNNING -> SUCCEEDED | FAILED (UNEXECUTED when never run), with
// parallelism, retries and lifecycle policies, Spot preemption, and the ways a job waits in or fails from
// SCHEDULED. Status events use Batch's wording; job-level events are prose only, task-level ones carry the
// task state and exit code (StatusEvent in the v1 task.proto).
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { BatchJobState, BatchTaskState, Job, StatusEvent, Task, TaskGroup } from '../api/batch.js';
import { ApiError, notFound } from './apiError.js';
import { Barriers } from './barriers.js';
import { selects, type FaultConfig, type PreemptionFault, type SchedulingFault } from './faults.js';
import type { LogStore } from './logStore.js';
import { taskLogWriter, type TaskIdLabel } from './taskLogs.js';
import { EXIT_OTHER, runTaskAttempt } from './taskRunner.js';
import { effectiveParallelism, type LimitOptions } from './validate.js';

export interface EngineOptions {
  stepMs: number;
  containers: 'run' | 'simulate';
  /** How long a simulated container runs; stepMs when absent. */
  simulatedRunMs?: number;
  workDir: string;
  now?: () => number;
  /** What moves a job's updateTime: its own status events only (default), or every task change too. */
  updateTime?: 'jobEvents' | 'everyChange';
  /** For this long after CreateJob the job lists no tasks and GetTask answers NOT_FOUND. */
  taskDelayMs?: number;
  /** status.taskGroups while the tasks are not listed: absent (default), or the actual counts. */
  taskCountsWhileHidden?: 'absent' | 'actual';
  /** With a RETRY_TASK policy, an exit code it does not list: fails the task (default) or is retried up to
   * maxRetryCount. */
  retryUnmatched?: 'fail' | 'retry';
  limits?: LimitOptions;
  /** The job faults in force (read each time one could apply, so that changes take effect at once). */
  faults?: () => FaultConfig;
  /** Where the output of jobs whose logsPolicy says CLOUD_LOGGING goes. */
  logs?: LogStore;
  /** The form of the entries' `task_id` label; `plain` by default. */
  taskIdLabel?: TaskIdLabel;
}

interface TaskRecord {
  index: number;
  state: BatchTaskState;
  events: StatusEvent[];
  log: string;
  attempts: number;
  preemptions: number;
  /** The Batch wording of the event that failed the task for good, and when, for the job's own event. */
  failure?: { description: string; seq: number };
}

interface JobRecord {
  job: Job;
  jobId: string;
  tasks: TaskRecord[];
  abort: AbortController;
  runningSince?: number;
  endedAt?: number;
  dir: string;
  /** Tasks are listed from this time on, unless held. */
  tasksVisibleAt: number;
  /** A job that waits in, or failed from, SCHEDULED has not got its tasks yet. */
  tasksHeld: boolean;
  preemptions: number;
}

export interface OperationRecord {
  name: string;
  verb: 'cancel' | 'delete';
  target: string;
  createdAt: number;
}

const TERMINAL: ReadonlySet<BatchJobState> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
const MAX_LOG = 1 << 20;
const GROUP = 'group0';
/** cloud.google.com/batch/quotas: the wait before a job that never gets resources fails by itself. */
const SCHEDULING_TIMEOUT_MS = 2 * 24 * 3600 * 1000;
const REASON_EVENT = 'OPERATIONAL_INFO';
const SPOT = new Set(['SPOT', 'PREEMPTIBLE']);

const taskNotFound = (name: string) => notFound(`Resource "${name}" was not found`);

export class Engine {
  private readonly jobs = new Map<string, JobRecord>();
  private readonly byRequestId = new Map<string, string>();
  private readonly operations = new Map<string, OperationRecord>();
  readonly processes = new Set<ChildProcess>();
  private operationCounter = 0;
  private failureCounter = 0;
  private stopped = false;

  constructor(private readonly opts: EngineOptions) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  private step(signal?: AbortSignal): Promise<void> {
    return this.sleep(this.opts.stepMs, signal);
  }

  /** Resolves after `ms`, or at once when the signal aborts; `Infinity` waits for the abort only. */
  private sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = Number.isFinite(ms) ? setTimeout(resolve, ms) : undefined;
      signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
  }

  private faults(): FaultConfig {
    return this.opts.faults?.() ?? {};
  }

  // ------------------------------------------------------------------ API

  /** Creates the job, or returns the original one when the same request ID is replayed. */
  create(parent: string, jobId: string, job: Job, requestId: string): Job {
    const name = `${parent}/jobs/${jobId}`;
    const replayed = requestId ? this.byRequestId.get(requestId) : undefined;
    if (replayed && this.jobs.has(replayed)) return this.snapshot(this.jobs.get(replayed)!);
    if (this.jobs.has(name)) throw new ApiError(grpcStatus.ALREADY_EXISTS, `Job ${name} already exists`);
    const group: TaskGroup = job.taskGroups![0]!;
    const taskCount = group.taskEnvironments?.length || group.taskCount || 1;
    const createdAt = this.now();
    const created = new Date(createdAt).toISOString();
    const stored: Job = {
      ...job,
      name,
      uid: `${jobId.slice(0, 40)}-${randomUUID().slice(0, 8)}-${randomUUID().slice(0, 5)}`.slice(0, 63),
      taskGroups: [
        {
          ...group,
          name: `${name}/taskGroups/${GROUP}`,
          taskCount,
          parallelism: effectiveParallelism(group, taskCount, this.opts.limits),
        },
      ],
      status: { state: 'QUEUED', statusEvents: [] },
      createTime: created,
      updateTime: created,
    };
    const record: JobRecord = {
      job: stored,
      jobId,
      tasks: Array.from({ length: taskCount }, (_, index) => ({
        index,
        state: 'PENDING' as BatchTaskState,
        events: [],
        log: '',
        attempts: 0,
        preemptions: 0,
      })),
      abort: new AbortController(),
      dir: join(this.opts.workDir, `${jobId}-${stored.uid!.slice(-5)}`),
      tasksVisibleAt: createdAt + (this.opts.taskDelayMs ?? 0),
      tasksHeld: false,
      preemptions: 0,
    };
    this.jobs.set(name, record);
    if (requestId) this.byRequestId.set(requestId, name);
    void this.drive(record);
    return this.snapshot(record);
  }

  get(name: string): Job {
    return this.snapshot(this.record(name));
  }

  all(): Job[] {
    return [...this.jobs.values()].map((r) => this.snapshot(r));
  }

  cancel(name: string): OperationRecord {
    const record = this.record(name);
    const state = record.job.status!.state!;
    if (TERMINAL.has(state) || state === 'DELETION_IN_PROGRESS') {
      throw new ApiError(
        grpcStatus.FAILED_PRECONDITION,
        `Job ${name} is in state ${state} and cannot be cancelled`,
      );
    }
    if (state !== 'CANCELLATION_IN_PROGRESS') {
      this.setJobState(record, 'CANCELLATION_IN_PROGRESS');
      record.abort.abort();
      void this.step().then(() => this.finishCancel(record));
    }
    return this.operation('cancel', name);
  }

  delete(name: string): OperationRecord {
    const record = this.record(name);
    if (record.job.status!.state !== 'DELETION_IN_PROGRESS') {
      this.setJobState(record, 'DELETION_IN_PROGRESS');
      record.abort.abort();
      void this.step().then(() => this.jobs.delete(name));
    }
    return this.operation('delete', name);
  }

  getOperation(name: string): { record: OperationRecord; done: boolean } {
    const record = this.operations.get(name);
    if (!record) throw notFound(`Operation ${name} not found`);
    const job = this.jobs.get(record.target);
    const done = record.verb === 'delete' ? !job : !job || job.job.status!.state === 'CANCELLED';
    return { record, done };
  }

  tasks(jobName: string): Task[] {
    const record = this.record(jobName);
    if (!this.tasksVisible(record)) return [];
    return record.tasks.map((t) => this.task(record, t));
  }

  getTask(name: string): Task {
    const match = /^(.*)\/taskGroups\/([^/]+)\/tasks\/(\d+)$/.exec(name);
    if (!match || match[2] !== GROUP) throw taskNotFound(name);
    const record = this.jobs.get(match[1]!);
    const task = record?.tasks[Number(match[3])];
    if (!record || !task || !this.tasksVisible(record)) throw taskNotFound(name);
    return this.task(record, task);
  }

  taskLog(jobName: string, index: number): string {
    const task = this.record(jobName).tasks[index];
    if (!task) throw notFound(`Task ${index} of ${jobName} not found`);
    return task.log;
  }

  stop(): void {
    this.stopped = true;
    for (const record of this.jobs.values()) record.abort.abort();
    for (const child of this.processes) {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  // ------------------------------------------------------------------ views

  private record(name: string): JobRecord {
    const record = this.jobs.get(name);
    if (!record) throw notFound(`Job ${name} not found`);
    return record;
  }

  private tasksVisible(record: JobRecord): boolean {
    return !record.tasksHeld && this.now() >= record.tasksVisibleAt;
  }

  private task(record: JobRecord, task: TaskRecord): Task {
    return {
      name: `${record.job.name}/taskGroups/${GROUP}/tasks/${task.index}`,
      status: { state: task.state, statusEvents: [...task.events] },
    };
  }

  private snapshot(record: JobRecord): Job {
    const counts: Partial<Record<BatchTaskState, number>> = {};
    for (const task of record.tasks) counts[task.state] = (counts[task.state] ?? 0) + 1;
    const end = record.endedAt ?? this.now();
    const runDuration =
      record.runningSince !== undefined
        ? `${Math.max(0, (end - record.runningSince) / 1000).toFixed(3)}s`
        : undefined;
    const showCounts = this.tasksVisible(record) || this.opts.taskCountsWhileHidden === 'actual';
    return structuredClone({
      ...record.job,
      status: {
        ...record.job.status,
        ...(showCounts
          ? {
              taskGroups: {
                [GROUP]: { counts, instances: [{ machineType: this.machineType(record), taskPack: 1 }] },
              },
            }
          : {}),
        ...(runDuration ? { runDuration } : {}),
      },
    });
  }

  private machineType(record: JobRecord): string {
    return record.job.allocationPolicy?.instances?.[0]?.policy?.machineType ?? 'e2-standard-2';
  }

  // ------------------------------------------------------------------ state changes

  private operation(verb: 'cancel' | 'delete', target: string): OperationRecord {
    const parent = target.replace(/\/jobs\/[^/]+$/, '');
    const record = {
      name: `${parent}/operations/operation-${++this.operationCounter}`,
      verb,
      target,
      createdAt: this.now(),
    };
    this.operations.set(record.name, record);
    return record;
  }

  /** A job-level event: prose only, no task state or execution (those fields are task-level only). */
  private jobEvent(record: JobRecord, type: string, description: string): void {
    const at = this.iso();
    record.job.status!.statusEvents!.push({ type, description, eventTime: at });
    record.job.updateTime = at;
  }

  /** `from` names the state the description says the job left, when Batch names one the v1 API lacks
   * (SCHEDULED_PENDING_FAILED); `detail` follows the sentence, as Batch appends why a job failed. */
  private setJobState(record: JobRecord, next: BatchJobState, detail = '', from?: string): void {
    const status = record.job.status!;
    const previous = from ?? status.state ?? 'STATE_UNSPECIFIED';
    status.state = next;
    this.jobEvent(
      record,
      'STATUS_CHANGED',
      `Job state is set from ${previous} to ${next} for job ${record.job.name}.${detail}`,
    );
    if (next === 'RUNNING') record.runningSince = this.now();
    if (TERMINAL.has(next) && record.runningSince !== undefined) record.endedAt = this.now();
  }

  private setTaskState(
    record: JobRecord,
    task: TaskRecord,
    next: BatchTaskState,
    exitCode?: number,
    note?: string,
    cause?: string,
  ): string {
    const previous = task.state;
    task.state = next;
    const where = `zones/local/instances/emulator-${record.job.uid}-${task.index}`;
    const suffix = `${cause ? ` ${cause}` : ''}${exitCode !== undefined ? ` with exit code ${exitCode}` : ''}`;
    const wording = `Task state is updated from ${previous} to ${next} on ${where}${suffix}.`;
    const event: StatusEvent = {
      type: 'STATUS_CHANGED',
      description: `${wording}${note ? ` ${note}` : ''}`,
      eventTime: this.iso(),
      taskState: next,
      ...(exitCode !== undefined ? { taskExecution: { exitCode } } : {}),
    };
    task.events.push(event);
    if (this.opts.updateTime === 'everyChange') record.job.updateTime = event.eventTime;
    return wording;
  }

  /** Fails the task for good; the job's FAILED event will quote this event's Batch wording. */
  private failTask(record: JobRecord, task: TaskRecord, exitCode: number, note?: string, cause?: string) {
    const wording = this.setTaskState(record, task, 'FAILED', exitCode, note, cause);
    task.failure = { description: wording, seq: ++this.failureCounter };
  }

  private finishCancel(record: JobRecord): void {
    if (!this.jobs.has(record.job.name!)) return;
    for (const task of record.tasks) {
      if (task.state === 'PENDING' || task.state === 'ASSIGNED')
        this.setTaskState(record, task, 'UNEXECUTED');
      else if (task.state === 'RUNNING') this.failTask(record, task, EXIT_OTHER, 'The job was cancelled.');
    }
    this.setJobState(record, 'CANCELLED');
  }

  private async drive(record: JobRecord): Promise<void> {
    const signal = record.abort.signal;
    await this.step(signal);
    if (signal.aborted) return;
    this.setJobState(record, 'SCHEDULED');
    const fault = (this.faults().scheduling ?? []).find((f) => selects(f, record.jobId, record.job.labels));
    if (fault && !(await this.holdInScheduled(record, fault))) return;
    await this.step(signal);
    if (signal.aborted) return;
    this.setJobState(record, 'RUNNING');
    mkdirSync(record.dir, { recursive: true });
    const hostsFile = join(record.dir, 'hosts');
    writeFileSync(hostsFile, record.tasks.map(() => '127.0.0.1').join('\n') + '\n');
    const group = record.job.taskGroups![0]!;
    const barriers = new Barriers(record.tasks.length);
    const queue = [...record.tasks];
    const worker = async () => {
      for (let task = queue.shift(); task && !signal.aborted; task = queue.shift()) {
        await this.runTask(record, task, group, barriers, hostsFile);
      }
    };
    await Promise.all(Array.from({ length: Math.min(group.parallelism ?? 1, record.tasks.length) }, worker));
    if (signal.aborted || this.stopped) return;
    const first = record.tasks
      .filter((t) => t.state === 'FAILED' && t.failure)
      .sort((a, b) => a.failure!.seq - b.failure!.seq)[0];
    if (!first) return this.setJobState(record, 'SUCCEEDED');
    this.setJobState(
      record,
      'FAILED',
      `Job failed due to task failure. Specifically, task with index ${first.index} failed due to the following task event: "${first.failure!.description}"`,
    );
  }

  /** Plays a scheduling fault; true when the job goes on to run. */
  private async holdInScheduled(record: JobRecord, fault: SchedulingFault): Promise<boolean> {
    const signal = record.abort.signal;
    record.tasksHeld = (fault.tasks ?? 'absent') === 'absent';
    const type = fault.eventType ?? REASON_EVENT;
    switch (fault.kind) {
      case 'stuck':
        await this.sleep(Infinity, signal);
        return false;
      case 'quota': {
        const since = this.now();
        const region = record.job.name!.split('/')[3] ?? 'local';
        const instance = `${record.job.uid}-${GROUP}-0-${randomUUID().slice(0, 4)}`;
        const cause = fault.description ?? `Quota 'CPUS' exceeded.  Limit: 0.0 in region ${region}.`;
        for (let count = 1; ; count++) {
          await this.sleep(fault.intervalMs ?? this.opts.stepMs, signal);
          if (signal.aborted) return false;
          this.jobEvent(
            record,
            type,
            `VM in Managed Instance Group meets error: Batch Error: code - CODE_GCE_QUOTA_EXCEEDED, description - error count is ${count}, latest message example: Instance '${instance}' creation failed: ${cause}`,
          );
          const enough = fault.events !== undefined && count >= fault.events;
          const waited = fault.waitMs !== undefined && this.now() - since >= fault.waitMs;
          if (enough || waited) break;
        }
        record.tasksHeld = false;
        return true;
      }
      case 'invalidField':
        await this.step(signal);
        if (signal.aborted) return false;
        this.jobEvent(
          record,
          type,
          `Job gets non-retryable information Batch Error: code - CODE_GCE_INVALID_FIELD_VALUE, description - ${fault.description ?? "Invalid value for field 'operation': ''. No zone supports all of the provided instance templates."}`,
        );
        this.setJobState(record, 'FAILED');
        return false;
      case 'timeout':
        await this.sleep(fault.waitMs ?? SCHEDULING_TIMEOUT_MS, signal);
        if (signal.aborted) return false;
        if (fault.description) this.jobEvent(record, type, fault.description);
        this.jobEvent(
          record,
          'STATUS_CHANGED',
          `Job state is set from SCHEDULED to SCHEDULED_PENDING_FAILED for job ${record.job.name}.`,
        );
        this.setJobState(record, 'FAILED', '', 'SCHEDULED_PENDING_FAILED');
        return false;
    }
  }

  private isSpot(record: JobRecord): boolean {
    return (record.job.allocationPolicy?.instances ?? []).some((i) =>
      SPOT.has(i.policy?.provisioningModel ?? ''),
    );
  }

  private preemptionFor(record: JobRecord, task: TaskRecord): PreemptionFault | undefined {
    if (!this.isSpot(record)) return undefined;
    return (this.faults().preemption ?? []).find((f) => {
      if (!selects(f, record.jobId, record.job.labels)) return false;
      const perTask = f.perTask ?? (f.perJob === undefined ? 1 : undefined);
      if (perTask !== undefined && task.preemptions >= perTask) return false;
      return f.perJob === undefined || record.preemptions < f.perJob;
    });
  }

  private async runTask(
    record: JobRecord,
    task: TaskRecord,
    group: TaskGroup,
    barriers: Barriers,
    hostsFile: string,
  ) {
    const signal = record.abort.signal;
    this.setTaskState(record, task, 'ASSIGNED');
    await this.step(signal);
    if (signal.aborted) return;
    this.setTaskState(record, task, 'RUNNING');
    const spec = group.taskSpec ?? {};
    const maxRetries = spec.maxRetryCount ?? 0;
    for (;;) {
      const workDir = join(record.dir, `task-${task.index}`);
      mkdirSync(workDir, { recursive: true });
      const preemption = this.preemptionFor(record, task);
      // Reserved now: the tasks of a job start together, and each must see the others' preemptions.
      if (preemption) {
        task.preemptions++;
        record.preemptions++;
      }
      const cloud = this.opts.logs
        ? taskLogWriter(this.opts.logs, record.job, task.index, () => this.now(), this.opts.taskIdLabel)
        : undefined;
      const result = await runTaskAttempt({
        index: task.index,
        runnables: spec.runnables ?? [],
        env: this.environment(record, task, group, hostsFile, workDir),
        workDir,
        containers: this.opts.containers,
        simulateMs: this.opts.simulatedRunMs ?? this.opts.stepMs,
        ...(spec.maxRunDuration ? { maxRunDurationMs: parseFloat(spec.maxRunDuration) * 1000 } : {}),
        ...(preemption ? { preemptAfterMs: preemption.afterMs ?? 0 } : {}),
        barriers,
        signal,
        log: (text, stream) => {
          this.appendLog(record, task, text);
          cloud?.write(text, stream);
        },
        processes: this.processes,
      }).finally(() => cloud?.end());
      task.attempts++;
      if (signal.aborted) return;
      if (preemption && !result.preempted) {
        task.preemptions--;
        record.preemptions--;
      }
      const cause = result.preempted ? 'due to Spot VM preemption' : undefined;
      const note = result.notes.length > 0 ? result.notes.join('; ') + '.' : undefined;
      if (result.exitCode === 0) {
        this.setTaskState(record, task, 'SUCCEEDED', 0, note);
        return;
      }
      if (task.attempts > maxRetries || !this.retryAllowed(spec.lifecyclePolicies ?? [], result.exitCode)) {
        return this.failTask(record, task, result.exitCode, note, cause);
      }
      this.setTaskState(
        record,
        task,
        'FAILED',
        result.exitCode,
        `Retrying (attempt ${task.attempts}).`,
        cause,
      );
      this.setTaskState(record, task, 'RUNNING');
    }
  }

  /** A FAIL_TASK policy that lists the code fails the task; a RETRY_TASK one that lists it retries it. A code
   * no RETRY_TASK policy lists fails the task when `retryUnmatched` is `fail` (the opposite action, as the
   * LifecyclePolicy comment and the retries guide say), or takes the default policy (retry up to
   * maxRetryCount, as the TaskSpec comment says) when it is `retry`. */
  private retryAllowed(
    policies: { action?: string; actionCondition?: { exitCodes?: number[] } }[],
    code: number,
  ) {
    const matches = (p: (typeof policies)[number]) => (p.actionCondition?.exitCodes ?? []).includes(code);
    if (policies.some((p) => p.action === 'FAIL_TASK' && matches(p))) return false;
    const retryPolicies = policies.filter((p) => p.action === 'RETRY_TASK');
    if (retryPolicies.length === 0 || retryPolicies.some(matches)) return true;
    return this.opts.retryUnmatched === 'retry';
  }

  private environment(
    record: JobRecord,
    task: TaskRecord,
    group: TaskGroup,
    hostsFile: string,
    workDir: string,
  ) {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: workDir,
      BATCH_TASK_INDEX: String(task.index),
      BATCH_TASK_COUNT: String(record.tasks.length),
      BATCH_JOB_UID: record.job.uid!,
      BATCH_JOB_ID: record.job.name!.split('/').pop()!,
      BATCH_TASK_RETRY_ATTEMPT: String(task.attempts),
      ...(group.requireHostsFile ? { BATCH_HOSTS_FILE: hostsFile } : {}),
      ...(group.taskSpec?.environment?.variables ?? {}),
      ...(group.taskEnvironments?.[task.index]?.variables ?? {}),
    };
    return env;
  }

  private appendLog(record: JobRecord, task: TaskRecord, text: string): void {
    if (task.log.length < MAX_LOG) task.log += text.slice(0, MAX_LOG - task.log.length);
    const logs = record.job.logsPolicy;
    if (logs?.destination !== 'PATH' || !logs.logsPath) return;
    // The path is one on the job's VM, whose file system here is a folder of the job's own: a job never
    // writes anywhere else on the machine that runs the emulator.
    const file = join(record.dir, 'vm', resolve('/', logs.logsPath));
    try {
      mkdirSync(dirname(file), { recursive: true });
      appendFileSync(file, text);
    } catch {
      // Not writable here; the in-memory log remains.
    }
  }
}
