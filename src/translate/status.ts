// The next status of a Drmaa2Job, computed purely from what the controller observed in one pass: the
// resource, the phase it is in (held, waiting, invalid, submitted, ...), the Batch job(s) with their tasks,
// and the time. The controller writes the difference as one merge patch, and nothing when there is none.
import { failedTaskOutput, logsRefOf, type FailedOutput } from './batchLogs.js';
import type { Job, Task } from '../api/batch.js';
import type { JobInfo, JobState } from '../api/drmaa2.js';
import type {
  AttemptRecord,
  ArrayStatus,
  ProfileRef,
  BatchJobRef,
  Condition,
  Drmaa2Job,
  Drmaa2JobStatus,
  SubState,
  TaskCounts,
} from '../api/drmaa2job.js';
import { metaTime, setCondition, type ConditionUpdate, type Reason, type SyncProblem } from './conditions.js';

export type { SyncProblem } from './conditions.js';
import { batchReasonOf, preemptionsOf } from './jobInfo.js';
import {
  arrayResults,
  formatIndexRanges,
  formatSpecError,
  jobInfoOf,
  jobStateOf,
  taskCountsOf,
  type SpecError,
} from './index.js';

/** How a native array or the per-element fallback maps Batch tasks/jobs to DRMAA2 array indexes. */
export interface ArrayLayout {
  begin: number;
  step: number;
  indexes: number[];
  mode: 'native' | 'perElement';
}

/** Where the resource stands, as the controller found out in this pass. */
export type Phase =
  /** About to be submitted (or a call failed before the Batch job was created). */
  | { kind: 'pending' }
  | { kind: 'held' }
  | { kind: 'waiting'; until: string }
  | { kind: 'invalid'; errors: SpecError[] }
  /** The spec breaks a rule of its BatchProfile (the errors name the field and the rule). */
  | { kind: 'policy'; errors: SpecError[] }
  /** No profile may be used: the named one does not select the namespace, or none applies where one must. */
  | { kind: 'profileRefused'; reason: 'ProfileNotAllowed' | 'NoProfile'; message: string }
  /** Not submitted until the profiles change: the named one does not exist yet, or two defaults compete. */
  | {
      kind: 'profileWaiting';
      reason: 'ProfileNotFound' | 'ProfileAmbiguous' | 'ProfileInvalid' | 'ProfilesUnknown' | 'QueueRequired';
      message: string;
    }
  | { kind: 'conflict'; message: string }
  | { kind: 'rejected'; message: string }
  /** Not submitted until Kueue admits its Workload, which waits in `queue`. */
  | { kind: 'admissionPending'; queue: string; message?: string; held: boolean }
  /** Kueue took the admission back and the attempt's Batch job(s) have ended: the job waits in `queue` again,
   * and the next admission submits a new Batch job for the next attempt. */
  | { kind: 'requeued'; queue: string; record: AttemptRecord }
  /** spec.terminate was set before anything was submitted. */
  | { kind: 'terminated' }
  /** The Batch job the status names is gone and never reported an end. */
  | { kind: 'lost' }
  /** A Batch job the status (or an earlier pass) named carries another resource's labels. */
  | { kind: 'notOwned'; names: string[] }
  | {
      kind: 'submitted';
      /** The Batch job(s): one, or one per element in the per-element array fallback (index order). */
      jobs: Job[];
      /** Tasks of each job, where the controller listed them (finished jobs, arrays whose counts moved). */
      tasks?: (Task[] | undefined)[];
      array?: ArrayLayout;
      /** The profile the job(s) were submitted under, recorded once at submission. */
      profile?: ProfileRef;
      /** A failed job's failed task and the last lines of its output (or why they are left out). */
      output?: FailedOutput;
    };

export type SubmittedPhase = Extract<Phase, { kind: 'submitted' }>;

/** How many attempt records a status keeps (the newest). */
export const MAX_ATTEMPT_RECORDS = 20;

export interface Observation {
  resource: Drmaa2Job;
  phase: Phase;
  now: Date;
  /** A call failed in this pass; the controller retries with back-off. */
  syncProblem?: SyncProblem;
}

const TERMINAL: ReadonlySet<JobState> = new Set(['Done', 'Failed']);

export function isTerminal(state: JobState | undefined): boolean {
  return state !== undefined && TERMINAL.has(state);
}

interface Outcome {
  state: JobState;
  subState: SubState;
  updates: ConditionUpdate[];
  fields: Partial<Drmaa2JobStatus>;
  /** Drop what earlier passes recorded (Batch job, tasks, JobInfo, array): it may be someone else's. */
  forget?: boolean;
}

const NOT_ENDED: ConditionUpdate[] = [
  { type: 'Complete', status: 'False', reason: 'NotSucceeded', message: 'The job has not ended.' },
  { type: 'Failed', status: 'False', reason: 'NoFailure', message: 'The job has not failed.' },
  { type: 'Finished', status: 'False', reason: 'InProgress', message: 'The job has not ended.' },
];

function ended(failedReason: Reason<'Failed'>, message: string): ConditionUpdate[] {
  return [
    { type: 'Complete', status: 'False', reason: 'NotSucceeded', message },
    { type: 'Failed', status: 'True', reason: failedReason, message },
    { type: 'Finished', status: 'True', reason: 'Failed', message },
  ];
}

function notSubmitted(
  state: JobState,
  subState: SubState,
  reason: Reason<'Submitted'>,
  message: string,
): Outcome {
  return {
    state,
    subState,
    updates: [
      { type: 'Submitted', status: 'False', reason, message },
      { type: 'Running', status: 'False', reason: 'NotRunning', message: 'The job has not been submitted.' },
      ...NOT_ENDED,
    ],
    fields: {},
  };
}

/** Failed before any Batch job existed: Submitted=False and Failed=True share the reason. */
function failedUnsubmitted(
  subState: SubState,
  reason:
    | 'InvalidSpec'
    | 'JobNameConflict'
    | 'BatchRejected'
    | 'Terminated'
    | 'BatchJobNotOwned'
    | 'PolicyViolation'
    | 'ProfileNotAllowed'
    | 'NoProfile',
  message: string,
): Outcome {
  return {
    state: 'Failed',
    subState,
    updates: [
      { type: 'Submitted', status: 'False', reason, message },
      { type: 'Running', status: 'False', reason: 'NotRunning', message: 'The job was not submitted.' },
      ...ended(reason, message),
    ],
    fields: {},
  };
}

function lostOutcome(previous: Drmaa2JobStatus): Outcome {
  const name = previous.batchJob?.name ?? 'the Batch job';
  const message = `Batch job ${name} disappeared before it finished.`;
  return {
    state: 'Failed',
    subState: 'BATCH_JOB_LOST',
    updates: [
      { type: 'Submitted', status: 'True', reason: 'BatchJobCreated', message: `Batch job ${name}` },
      { type: 'Running', status: 'False', reason: 'NotRunning', message },
      ...ended('BatchJobLost', message),
    ],
    fields: {},
  };
}

function refOf(job: Job, previous?: BatchJobRef): BatchJobRef {
  const uid = job.uid ?? (previous?.name === job.name ? previous?.uid : undefined);
  return { name: job.name ?? '', ...(uid ? { uid } : {}) };
}

function sumCounts(counts: TaskCounts[]): TaskCounts {
  const total: TaskCounts = { total: 0, pending: 0, running: 0, succeeded: 0, failed: 0 };
  for (const c of counts) {
    total.total += c.total;
    total.pending += c.pending;
    total.running += c.running;
    total.succeeded += c.succeeded;
    total.failed += c.failed;
  }
  return total;
}

/** The DRMAA2 state of several Batch jobs taken together (the per-element array fallback): running while
 * any element runs or some have ended and others not, ended when all ended, failed if any failed. */
export function combinedState(states: readonly JobState[]): JobState {
  if (states.length === 0) return 'Undetermined';
  if (states.every((s) => TERMINAL.has(s))) return states.includes('Failed') ? 'Failed' : 'Done';
  if (states.some((s) => s === 'Running' || TERMINAL.has(s))) return 'Running';
  if (states.every((s) => s === states[0])) return states[0]!;
  return 'Queued';
}

function arrayStatusOf(phase: SubmittedPhase, previous: Drmaa2JobStatus): ArrayStatus | undefined {
  const array = phase.array;
  if (!array) return undefined;
  if (array.mode === 'native') {
    const tasks = phase.tasks?.[0];
    if (!tasks) return previous.array ?? {};
    return arrayResults(tasks, { begin: array.begin, step: array.step });
  }
  const completed: number[] = [];
  const failed: number[] = [];
  phase.jobs.forEach((job, i) => {
    const index = array.indexes[i];
    if (index === undefined) return;
    const { state } = jobStateOf(job);
    if (state === 'Done') completed.push(index);
    if (state === 'Failed') failed.push(index);
  });
  return {
    completedIndexes: formatIndexRanges(completed),
    failedIndexes: formatIndexRanges(failed),
    jobs: phase.jobs.map((job) => refOf(job)),
  };
}

function failedReasonOf(jobs: readonly Job[], terminate: boolean): Reason<'Failed'> {
  if (jobs.some((j) => j.status?.state === 'FAILED')) return 'TasksFailed';
  return terminate ? 'Terminated' : 'Cancelled';
}

/** Why the job failed: the exit code its tasks reported, where one did, and Batch's own last word on the
 * job (which names the failed task, or the reason no task ran, such as an invalid field value). */
function failedMessage(
  reason: Reason<'Failed'>,
  info: JobInfo,
  batchReason: string | undefined,
  output: FailedOutput | undefined,
): string {
  const said = batchReason ? ` Batch: ${batchReason}` : '';
  if (reason === 'TasksFailed') {
    const exit =
      info.exitStatus !== undefined
        ? ` (exit status ${info.exitStatus})`
        : ' (no task reported an exit code)';
    // The output goes last: it is the tenant's text, and what the controller says must not hide behind it.
    return `The Batch job failed${exit}.${said}${output ? ` ${failedTaskOutput(output)}` : ''}`;
  }
  if (reason === 'Terminated') return 'The job was terminated (spec.terminate): the Batch job was cancelled.';
  return `The Batch job was cancelled.${said}`;
}

/** Why a submitted job is not running: its Batch state and Batch's newest word on it (a quota wait, a VM
 * that cannot be created, ...), so that `kubectl describe` says why it waits. */
function notRunningMessage(subState: string, batchReason: string | undefined, hint = ''): string {
  return `The Batch job is ${subState}.${batchReason ? ` Batch: ${batchReason}` : ''}${hint}`;
}

/** A job SCHEDULED this long with nothing said since gets a hint: Batch reports no event when the VMs'
 * service account lacks the roles its agent needs, and the job waits for ever (nextflow-io/nextflow#5622). */
export const SILENT_SCHEDULED_MS = 10 * 60_000;

/** When a job that waits in SCHEDULED with nothing said since gets the hint (a time in ms), whether or not
 * it is due yet; undefined for any other job. A status that changes by time alone needs a pass at that time. */
export function silentHintDueMs(job: Job): number | undefined {
  if (job.status?.state !== 'SCHEDULED') return undefined;
  const last = job.status.statusEvents?.at(-1);
  if (!last || !/\bto SCHEDULED\b/.test(last.description ?? '')) return undefined;
  const since = Date.parse(last.eventTime ?? '');
  return Number.isNaN(since) ? undefined : since + SILENT_SCHEDULED_MS;
}

function silentlyScheduledHint(job: Job, now: Date): string {
  const due = silentHintDueMs(job);
  if (due === undefined || now.getTime() < due) return '';
  const last = job.status!.statusEvents!.at(-1)!;
  // A fixed text: the status is not rewritten each minute the job waits.
  return ` No VM has reported for over ${SILENT_SCHEDULED_MS / 60_000} minutes since ${last.eventTime}: check that the job's service account has the roles Batch's agent needs (roles/batch.agentReporter) and that its VMs can reach Batch.`;
}

/** The one-line answer to "why is it in this state" kept in status.message (a wide column): the message
 * of the condition that explains the state, bounded. */
const MAX_STATUS_MESSAGE = 2048;

function summaryOf(state: JobState, updates: readonly ConditionUpdate[]): string | undefined {
  const explaining =
    state === 'Failed'
      ? updates.find((u) => u.type === 'Failed')
      : state === 'Queued' || state === 'QueuedHeld'
        ? (updates.find((u) => u.type === 'Submitted' && u.status === 'False') ??
          updates.find((u) => u.type === 'Running' && u.status === 'False'))
        : undefined;
  const message = explaining?.message;
  if (!message) return undefined;
  return message.length > MAX_STATUS_MESSAGE ? `${message.slice(0, MAX_STATUS_MESSAGE - 3)}...` : message;
}

function submittedOutcome(observation: Observation, phase: SubmittedPhase): Outcome {
  const previous = observation.resource.status ?? {};
  const lastKnown = previous.state;
  const each = phase.jobs.map((job) => jobStateOf(job, lastKnown));
  const single = each.length === 1;
  const state = single ? each[0]!.state : combinedState(each.map((s) => s.state));
  // The job that speaks for the whole: the first failed one, else the last one.
  const failedAt = each.findIndex((s) => s.state === 'Failed');
  const speaker = failedAt >= 0 && state === 'Failed' ? failedAt : each.length - 1;
  const subState = single ? each[0]!.subState : state === 'Running' ? 'RUNNING' : each[speaker]!.subState;
  const computed = jobInfoOf(phase.jobs[speaker]!, phase.tasks?.[speaker], lastKnown);
  // Preemptions are seen only in listed tasks: the count never goes back when a pass lists none.
  const listed = (phase.tasks ?? []).reduce((n, tasks) => n + preemptionsOf(tasks), 0);
  const preemptions = Math.max(listed, previous.preemptions ?? 0);
  const extensionList = { ...computed.extension?.extensionList };
  if (preemptions > 0) extensionList.preemptions = String(preemptions);
  // A running job's run time moves every second. Written whenever it moved, it would cost one status write
  // per running job per look (at 10,000 running, once a minute is 167 writes a second, more than an API
  // server shared with its clients takes); it is written when the state changes and at the end, and while
  // the job runs, now minus dispatchTime is the live figure.
  const kept = previous.jobInfo;
  const wallclockTime =
    !isTerminal(state) && kept?.state === state && kept.subState === subState && kept.wallclockTime
      ? kept.wallclockTime
      : computed.wallclockTime;
  const info: JobInfo = { ...computed, state, subState, wallclockTime, extension: { extensionList } };
  const batchReason = batchReasonOf(phase.jobs[speaker]!);
  const first = phase.jobs[0]!.name ?? '';
  const more = phase.jobs.length > 1 ? ` and ${phase.jobs.length - 1} more` : '';
  const cancelling = each.some((s) => s.subState === 'CANCELLATION_IN_PROGRESS');
  const updates: ConditionUpdate[] = [
    { type: 'Submitted', status: 'True', reason: 'BatchJobCreated', message: `Batch job ${first}${more}` },
    state === 'Running' && !cancelling
      ? { type: 'Running', status: 'True', reason: 'TasksRunning', message: 'The Batch job is running.' }
      : {
          type: 'Running',
          status: 'False',
          reason: 'NotRunning',
          message: notRunningMessage(
            subState || state,
            state === 'Queued' ? batchReason : undefined,
            state === 'Queued' ? silentlyScheduledHint(phase.jobs[speaker]!, observation.now) : '',
          ),
        },
  ];
  if (state === 'Done') {
    updates.push(
      { type: 'Complete', status: 'True', reason: 'Succeeded', message: 'Every task succeeded.' },
      { type: 'Failed', status: 'False', reason: 'NoFailure', message: 'The job has not failed.' },
      { type: 'Finished', status: 'True', reason: 'Succeeded', message: 'The job ended successfully.' },
    );
  } else if (state === 'Failed') {
    const reason = failedReasonOf(phase.jobs, observation.resource.spec.terminate === true);
    updates.push(...ended(reason, failedMessage(reason, info, batchReason, phase.output)));
  } else {
    updates.push(...NOT_ENDED);
  }
  const array = arrayStatusOf(phase, previous);
  const logs = logsRefOf(phase.jobs);
  return {
    state,
    subState,
    updates,
    fields: {
      batchJob: refOf(phase.jobs[0]!, previous.batchJob),
      tasks: sumCounts(phase.jobs.map((job) => taskCountsOf(job))),
      jobInfo: info,
      ...(array ? { array } : {}),
      ...(preemptions > 0 ? { preemptions } : {}),
      ...(phase.profile && !previous.profile ? { profile: phase.profile } : {}),
      ...(logs ? { logs } : {}),
    },
  };
}

function outcomeOf(observation: Observation): Outcome {
  const phase = observation.phase;
  switch (phase.kind) {
    case 'pending':
      return notSubmitted('Queued', 'PENDING_SUBMISSION', 'Pending', 'The Batch job is being created.');
    case 'held':
      return notSubmitted(
        'QueuedHeld',
        'HELD',
        'Held',
        'spec.hold is true: set it to false to submit the job.',
      );
    case 'waiting':
      return notSubmitted(
        'Queued',
        'PENDING_SUBMISSION',
        'WaitingForStartTime',
        `Waiting for spec.jobTemplate.startTime ${phase.until}.`,
      );
    case 'invalid':
      return failedUnsubmitted('INVALID_SPEC', 'InvalidSpec', phase.errors.map(formatSpecError).join('; '));
    case 'policy':
      return failedUnsubmitted(
        'POLICY_VIOLATION',
        'PolicyViolation',
        phase.errors.map(formatSpecError).join('; '),
      );
    case 'profileRefused':
      return failedUnsubmitted(
        phase.reason === 'NoProfile' ? 'NO_PROFILE' : 'PROFILE_NOT_ALLOWED',
        phase.reason,
        phase.message,
      );
    case 'profileWaiting':
      return notSubmitted('Queued', 'PENDING_SUBMISSION', phase.reason, phase.message);
    case 'requeued': {
      const previous = observation.resource.status ?? {};
      const { record } = phase;
      const outcome = notSubmitted(
        'Requeued',
        'PENDING_ADMISSION',
        'PendingAdmission',
        `Kueue took the admission back (${record.reason}${record.message ? `: ${record.message}` : ''}); ` +
          `${record.batchJob ? `Batch job ${record.batchJob} was cancelled and ` : ''}the job waits in LocalQueue ${phase.queue} for admission again (attempt ${record.attempt + 1}).`,
      );
      return {
        ...outcome,
        forget: true,
        fields: {
          attempt: record.attempt + 1,
          attempts: [...(previous.attempts ?? []), record].slice(-MAX_ATTEMPT_RECORDS),
          ...(previous.profile ? { profile: previous.profile } : {}),
        },
      };
    }
    case 'admissionPending':
      return phase.held
        ? notSubmitted(
            'QueuedHeld',
            'HELD',
            'Held',
            `spec.hold is true: its Workload is inactive in LocalQueue ${phase.queue} (it takes no quota) until it is set to false.`,
          )
        : notSubmitted(
            (observation.resource.status?.attempt ?? 0) > 0 ? 'Requeued' : 'Queued',
            'PENDING_ADMISSION',
            'PendingAdmission',
            `Waiting for Kueue to admit its Workload in LocalQueue ${phase.queue}${phase.message ? `: ${phase.message}` : '.'}`,
          );
    case 'conflict':
      return failedUnsubmitted('JOB_NAME_CONFLICT', 'JobNameConflict', phase.message);
    case 'rejected':
      return failedUnsubmitted('BATCH_REJECTED', 'BatchRejected', phase.message);
    case 'terminated':
      return failedUnsubmitted(
        'TERMINATED',
        'Terminated',
        'spec.terminate was set before the job was submitted; nothing was submitted.',
      );
    case 'lost':
      return lostOutcome(observation.resource.status ?? {});
    case 'notOwned': {
      const names = phase.names.slice(0, 3).join(', ') + (phase.names.length > 3 ? ', ...' : '');
      return {
        ...failedUnsubmitted(
          'BATCH_JOB_NOT_OWNED',
          'BatchJobNotOwned',
          `Batch job ${names} does not carry this resource's labels (drmaa2-uid, drmaa2-namespace): it is not read, cancelled or deleted for this resource.`,
        ),
        forget: true,
      };
    }
    case 'submitted':
      return submittedOutcome(observation, phase);
  }
}

function syncedUpdate(problem: SyncProblem | undefined): ConditionUpdate {
  if (problem) return { type: 'Synced', status: 'False', reason: problem.reason, message: problem.message };
  return {
    type: 'Synced',
    status: 'True',
    reason: 'Reconciled',
    message: 'The controller handled the latest generation.',
  };
}

/** The status the resource should have after this pass. Fields the pass did not observe (tasks, jobInfo,
 * array, batchJob of an earlier pass) are carried over; finishedAt is set once, when the job first ends. */
export function nextStatus(observation: Observation): Drmaa2JobStatus {
  const { resource, now } = observation;
  const previous = resource.status ?? {};
  const generation = resource.metadata.generation;
  const outcome = outcomeOf(observation);
  let conditions: Condition[] = previous.conditions ?? [];
  for (const update of [syncedUpdate(observation.syncProblem), ...outcome.updates]) {
    conditions = setCondition(conditions, update, generation, now);
  }
  const message = summaryOf(outcome.state, outcome.updates);
  const status: Drmaa2JobStatus = {
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    state: outcome.state,
    subState: outcome.subState,
    ...(message ? { message } : {}),
    ...(outcome.forget ? {} : carried(previous)),
    // The attempts are the resource's own history: kept whatever else is forgotten.
    ...(previous.attempt ? { attempt: previous.attempt } : {}),
    ...(previous.attempts ? { attempts: previous.attempts } : {}),
    ...outcome.fields,
    ...(isTerminal(outcome.state) ? { finishedAt: previous.finishedAt ?? metaTime(now) } : {}),
    conditions,
  };
  // The Batch job was deleted after ttlSecondsAfterFinished: the record says so from then on.
  if (previous.batchJob?.deleted && status.batchJob) status.batchJob = { ...status.batchJob, deleted: true };
  return status;
}

function carried(previous: Drmaa2JobStatus): Partial<Drmaa2JobStatus> {
  return {
    ...(previous.batchJob ? { batchJob: previous.batchJob } : {}),
    ...(previous.tasks ? { tasks: previous.tasks } : {}),
    ...(previous.jobInfo ? { jobInfo: previous.jobInfo } : {}),
    ...(previous.array ? { array: previous.array } : {}),
    ...(previous.preemptions ? { preemptions: previous.preemptions } : {}),
    ...(previous.profile ? { profile: previous.profile } : {}),
  };
}

/** The current status with only the Synced condition changed: what the controller writes when a call
 * failed and it will retry, so users see why the job makes no progress. */
export function withSyncProblem(resource: Drmaa2Job, problem: SyncProblem, now: Date): Drmaa2JobStatus {
  const previous = resource.status ?? {};
  const update = syncedUpdate(problem);
  return {
    ...previous,
    conditions: setCondition(previous.conditions ?? [], update, resource.metadata.generation, now),
  };
}

/** The current status stamped with the resource's current generation and Synced=True: what a job that
 * already ended gets when its spec changes (only the TTL and the deletion policy still matter then). */
export function resynced(resource: Drmaa2Job, now: Date): Drmaa2JobStatus {
  const previous = resource.status ?? {};
  const generation = resource.metadata.generation;
  return {
    ...previous,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    conditions: setCondition(previous.conditions ?? [], syncedUpdate(undefined), generation, now),
  };
}

// ---------------------------------------------------------------------------------------- diffing

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  if (!isObject(a) || !isObject(b)) return false;
  const keysA = Object.keys(a).filter((k) => a[k] !== undefined);
  const keysB = Object.keys(b).filter((k) => b[k] !== undefined);
  return keysA.length === keysB.length && keysA.every((k) => deepEqual(a[k], b[k]));
}

/** RFC 7386 merge patch that turns `from` into `to`: changed keys with their new value, removed keys as
 * null, lists whole. Undefined when the two are equal. */
function mergePatch(from: unknown, to: unknown): Json | undefined {
  if (!isObject(from) || !isObject(to))
    return deepEqual(from, to) ? undefined : (structuredClone(to) as Json);
  const patch: Record<string, Json> = {};
  for (const [key, value] of Object.entries(to)) {
    if (value === undefined) continue;
    const diff = from[key] === undefined ? (structuredClone(value) as Json) : mergePatch(from[key], value);
    if (diff !== undefined) patch[key] = diff;
  }
  for (const [key, value] of Object.entries(from)) {
    if (value !== undefined && to[key] === undefined) patch[key] = null;
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}

/** A status merge patch: the changed fields of a Drmaa2JobStatus, with null for removed ones. */
export type StatusPatch = Drmaa2JobStatus;

/** The merge patch that turns status `from` into `to`, or undefined when nothing changed, so the
 * controller sends at most one patch per pass and none when the status is already right. */
export function statusPatch(from: Drmaa2JobStatus | undefined, to: Drmaa2JobStatus): StatusPatch | undefined {
  return mergePatch(from ?? {}, to) as StatusPatch | undefined;
}

/** Deep equality of two statuses as JSON (key order and undefined members ignored). */
export function statusEqual(a: Drmaa2JobStatus | undefined, b: Drmaa2JobStatus | undefined): boolean {
  return deepEqual(a ?? {}, b ?? {});
}

/** Applies a merge patch as the API server does (RFC 7386). */
export function applyMergePatch<T>(target: T, patch: unknown): T {
  if (!isObject(patch)) return structuredClone(patch) as T;
  const result: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result as T;
}
