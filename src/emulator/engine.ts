// The emulator's jobs and their lifecycle, as Batch runs them: QUEUED -> SCHEDULED -> RUNNING ->
// SUCCEEDED | FAILED, cancel -> CANCELLATION_IN_PROGRESS -> CANCELLED, delete -> DELETION_IN_PROGRESS -> gone;
// tasks PENDING -> ASSIGNED -> RUNNING -> SUCCEEDED | FAILED (UNEXECUTED when never run), with
// parallelism, retries and lifecycle policies. Status events use Batch's wording.
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { BatchJobState, BatchTaskState, Job, StatusEvent, Task, TaskGroup } from '../api/batch.js';
import { ApiError, notFound } from './apiError.js';
import { Barriers } from './barriers.js';
import { EXIT_OTHER, runTaskAttempt } from './taskRunner.js';

export interface EngineOptions {
  stepMs: number;
  containers: 'run' | 'simulate';
  /** How long a simulated container runs; stepMs when absent. */
  simulatedRunMs?: number;
  workDir: string;
  now?: () => number;
}

interface TaskRecord {
  index: number;
  state: BatchTaskState;
  events: StatusEvent[];
  log: string;
  attempts: number;
}

interface JobRecord {
  job: Job;
  tasks: TaskRecord[];
  abort: AbortController;
  runningSince?: number;
  endedAt?: number;
  dir: string;
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

export class Engine {
  private readonly jobs = new Map<string, JobRecord>();
  private readonly byRequestId = new Map<string, string>();
  private readonly operations = new Map<string, OperationRecord>();
  readonly processes = new Set<ChildProcess>();
  private operationCounter = 0;
  private stopped = false;

  constructor(private readonly opts: EngineOptions) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  private step(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(resolve, this.opts.stepMs);
      signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
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
    const created = this.iso();
    const stored: Job = {
      ...job,
      name,
      uid: `${jobId.slice(0, 40)}-${randomUUID().slice(0, 8)}-${randomUUID().slice(0, 5)}`.slice(0, 63),
      taskGroups: [
        {
          ...group,
          name: `${name}/taskGroups/${GROUP}`,
          taskCount,
          parallelism: group.parallelism || taskCount,
        },
      ],
      status: { state: 'QUEUED', statusEvents: [] },
      createTime: created,
      updateTime: created,
    };
    const record: JobRecord = {
      job: stored,
      tasks: Array.from({ length: taskCount }, (_, index) => ({
        index,
        state: 'PENDING' as BatchTaskState,
        events: [],
        log: '',
        attempts: 0,
      })),
      abort: new AbortController(),
      dir: join(this.opts.workDir, `${jobId}-${stored.uid!.slice(-5)}`),
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
    return record.tasks.map((t) => this.task(record, t));
  }

  getTask(name: string): Task {
    const match = /^(.*)\/taskGroups\/([^/]+)\/tasks\/(\d+)$/.exec(name);
    if (!match || match[2] !== GROUP) throw notFound(`Task ${name} not found`);
    const record = this.jobs.get(match[1]!);
    const task = record?.tasks[Number(match[3])];
    if (!record || !task) throw notFound(`Task ${name} not found`);
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
    return structuredClone({
      ...record.job,
      status: {
        ...record.job.status,
        taskGroups: {
          [GROUP]: { counts, instances: [{ machineType: this.machineType(record), taskPack: 1 }] },
        },
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

  private setJobState(record: JobRecord, next: BatchJobState): void {
    const status = record.job.status!;
    const previous = status.state ?? 'STATE_UNSPECIFIED';
    status.state = next;
    const at = this.iso();
    status.statusEvents!.push({
      type: 'STATUS_CHANGED',
      description: `Job state is set from ${previous} to ${next} for job ${record.job.name}.`,
      eventTime: at,
    });
    record.job.updateTime = at;
    if (next === 'RUNNING') record.runningSince = this.now();
    if (TERMINAL.has(next) && record.runningSince !== undefined) record.endedAt = this.now();
  }

  private setTaskState(
    record: JobRecord,
    task: TaskRecord,
    next: BatchTaskState,
    exitCode?: number,
    note?: string,
  ): void {
    const previous = task.state;
    task.state = next;
    const where = `zones/local/instances/emulator-${record.job.uid}-${task.index}`;
    const suffix = exitCode !== undefined ? ` with exit code ${exitCode}` : '';
    const event: StatusEvent = {
      type: 'STATUS_CHANGED',
      description: `Task state is updated from ${previous} to ${next} on ${where}${suffix}.${note ? ` ${note}` : ''}`,
      eventTime: this.iso(),
      taskState: next,
      ...(exitCode !== undefined ? { taskExecution: { exitCode } } : {}),
    };
    task.events.push(event);
    // Batch reports task failures among the job's own events too.
    if (next === 'FAILED') record.job.status!.statusEvents!.push(event);
    record.job.updateTime = event.eventTime;
  }

  private finishCancel(record: JobRecord): void {
    if (!this.jobs.has(record.job.name!)) return;
    for (const task of record.tasks) {
      if (task.state === 'PENDING' || task.state === 'ASSIGNED')
        this.setTaskState(record, task, 'UNEXECUTED');
      else if (task.state === 'RUNNING')
        this.setTaskState(record, task, 'FAILED', EXIT_OTHER, 'The job was cancelled.');
    }
    this.setJobState(record, 'CANCELLED');
  }

  private async drive(record: JobRecord): Promise<void> {
    const signal = record.abort.signal;
    await this.step(signal);
    if (signal.aborted) return;
    this.setJobState(record, 'SCHEDULED');
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
    const failed = record.tasks.some((t) => t.state === 'FAILED');
    this.setJobState(record, failed ? 'FAILED' : 'SUCCEEDED');
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
      const result = await runTaskAttempt({
        index: task.index,
        runnables: spec.runnables ?? [],
        env: this.environment(record, task, group, hostsFile, workDir),
        workDir,
        containers: this.opts.containers,
        simulateMs: this.opts.simulatedRunMs ?? this.opts.stepMs,
        ...(spec.maxRunDuration ? { maxRunDurationMs: parseFloat(spec.maxRunDuration) * 1000 } : {}),
        barriers,
        signal,
        log: (text) => this.appendLog(record, task, text),
        processes: this.processes,
      });
      task.attempts++;
      if (signal.aborted) return;
      const note = result.notes.length > 0 ? result.notes.join('; ') + '.' : undefined;
      if (result.exitCode === 0) return this.setTaskState(record, task, 'SUCCEEDED', 0, note);
      if (task.attempts > maxRetries || !this.retryAllowed(spec.lifecyclePolicies ?? [], result.exitCode)) {
        return this.setTaskState(record, task, 'FAILED', result.exitCode, note);
      }
      this.setTaskState(record, task, 'FAILED', result.exitCode, `Retrying (attempt ${task.attempts}).`);
      this.setTaskState(record, task, 'RUNNING');
    }
  }

  private retryAllowed(
    policies: { action?: string; actionCondition?: { exitCodes?: number[] } }[],
    code: number,
  ) {
    const matches = (p: (typeof policies)[number]) => (p.actionCondition?.exitCodes ?? []).includes(code);
    if (policies.some((p) => p.action === 'FAIL_TASK' && matches(p))) return false;
    const retryPolicies = policies.filter((p) => p.action === 'RETRY_TASK');
    return retryPolicies.length === 0 || retryPolicies.some(matches);
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
    try {
      mkdirSync(dirname(logs.logsPath), { recursive: true });
      appendFileSync(logs.logsPath, text);
    } catch {
      // A logs path of a real VM (e.g. a mounted bucket) may not exist here; the in-memory log remains.
    }
  }
}
