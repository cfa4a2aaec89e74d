// Batch Job -> DRMAA2 JobInfo, with the fields the original library filled (id, times, wallclock, slots,
// machines, the accounting annotation, the uid and template extensions), but exit codes and times from
// Batch's structured status data where it has them (docs/state-model.md, JobInfo).
import type { Job, StatusEvent, Task } from '../api/batch.js';
import type { JobInfo, JobState, JobTemplate } from '../api/drmaa2.js';
import { LABEL_JOB_NAME } from '../api/drmaa2job.js';
import { formatDuration, protoSeconds } from './duration.js';
import { MAX_JOBINFO_TEMPLATE } from './limits.js';
import { jobStateOf } from './state.js';

function lastMatching(events: StatusEvent[], pattern: RegExp): string | undefined {
  return events.filter((e) => pattern.test(e.description ?? '')).at(-1)?.eventTime;
}

function firstMatching(events: StatusEvent[], pattern: RegExp): string | undefined {
  return events.find((e) => pattern.test(e.description ?? ''))?.eventTime;
}

/** Batch states its transitions only in English prose; the structured fallback is the first RUNNING event. */
function dispatchTime(events: StatusEvent[]): string | undefined {
  return lastMatching(events, /SCHEDULED to RUNNING/) ?? firstMatching(events, /\bto RUNNING\b/);
}

function finishTime(events: StatusEvent[]): string | undefined {
  return (
    lastMatching(events, /\bRUNNING to (SUCCEEDED|FAILED|CANCELL|DELETION)/) ??
    lastMatching(events, /\bto (SUCCEEDED|FAILED|CANCELLED)\b/)
  );
}

/** The exit code of a failed job, from its tasks only: the proto defines `taskExecution` for task-level
 * events alone, and Batch's job-level events are prose. A task that failed without a non-zero code (lost,
 * killed) still failed: 1. No failed task (the job failed before any ran, or its tasks were not listed):
 * no exit code, and the job's own events say why (batchReasonOf). */
function failedExitCode(tasks: Task[] | undefined): number | undefined {
  const failed = (tasks ?? []).filter((t) => t.status?.state === 'FAILED');
  if (failed.length === 0) return undefined;
  const events = failed.flatMap((t) => t.status?.statusEvents ?? []);
  const code = events
    .filter((e) => e.taskState === 'FAILED' && e.taskExecution?.exitCode !== undefined)
    .at(-1)?.taskExecution?.exitCode;
  return code || 1;
}

/** The failed task a Failed message speaks of: the first failed one by index, with its last exit code. */
export function firstFailedTask(tasks: Task[] | undefined): { index: number; exitCode?: number } | undefined {
  const failed = (tasks ?? [])
    .filter((t) => t.status?.state === 'FAILED')
    .map((t) => ({ task: t, index: Number(/\/tasks\/(\d+)$/.exec(t.name ?? '')?.[1] ?? NaN) }))
    .filter((t) => !Number.isNaN(t.index))
    .sort((a, b) => a.index - b.index);
  const first = failed[0];
  if (!first) return undefined;
  const code = (first.task.status?.statusEvents ?? [])
    .filter((e) => e.taskState === 'FAILED' && e.taskExecution?.exitCode !== undefined)
    .at(-1)?.taskExecution?.exitCode;
  return { index: first.index, ...(code !== undefined ? { exitCode: code } : {}) };
}

/** Batch's exit code for a task whose Spot VM was preempted (cloud.google.com/batch/docs/troubleshooting). */
export const EXIT_PREEMPTED = 50001;

/** How many times the job's tasks were preempted, as their events tell (each attempt's end is an event). */
export function preemptionsOf(tasks: Task[] | undefined): number {
  let count = 0;
  for (const task of tasks ?? []) {
    for (const event of task.status?.statusEvents ?? []) {
      if (event.taskState === 'FAILED' && event.taskExecution?.exitCode === EXIT_PREEMPTED) count++;
    }
  }
  return count;
}

/** Room for Batch's own words in a condition message or JobInfo: enough for its longest published event
 * texts, small enough for a status read by the thousand. */
export const MAX_BATCH_REASON = 1024;

/** A job-level event that only states a transition ("Job state is set from SCHEDULED to FAILED for job
 * projects/.../jobs/x."): it says what happened, not why. */
const BARE_TRANSITION = /^Job state is set from [A-Z_]+ to [A-Z_]+ for job \S+?\.?$/;

function bounded(text: string): string {
  return text.length > MAX_BATCH_REASON ? `${text.slice(0, MAX_BATCH_REASON - 3)}...` : text;
}

/** What Batch last said about the job (why it waits, why it failed), bounded: its newest job-level event,
 * or, when that only states a transition, the newest event with more to say since the transition before it
 * (Batch reports a CODE_GCE_INVALID_FIELD_VALUE, then moves the job from SCHEDULED to FAILED). */
export function batchReasonOf(job: Job): string | undefined {
  const events = job.status?.statusEvents ?? [];
  const newest = events.at(-1)?.description?.trim();
  if (!newest) return undefined;
  if (!BARE_TRANSITION.test(newest)) return bounded(newest);
  for (let i = events.length - 2; i >= 0; i--) {
    const text = events[i]!.description?.trim() ?? '';
    if (BARE_TRANSITION.test(text)) break;
    if (text) return bounded(text);
  }
  return bounded(newest);
}

export function templateBase64(job: Job): string | undefined {
  return job.taskGroups?.find((g) => g.taskSpec?.environment?.variables?.DRMAA2_JOB_TEMPLATE)?.taskSpec
    ?.environment?.variables?.DRMAA2_JOB_TEMPLATE;
}

export function templateOf(job: Job): JobTemplate | undefined {
  const encoded = templateBase64(job);
  if (!encoded) return undefined;
  try {
    return JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as JobTemplate;
  } catch {
    return undefined;
  }
}

export function jobInfoOf(job: Job, tasks?: Task[], lastKnown?: JobState): JobInfo {
  const { state, subState } = jobStateOf(job, lastKnown);
  const events = job.status?.statusEvents ?? [];
  const exit = state === 'Failed' ? failedExitCode(tasks) : 0;
  const policy = job.allocationPolicy?.instances?.[0]?.policy;
  const extension: Record<string, string> = {};
  if (job.uid) extension.uid = job.uid;
  const encoded = templateBase64(job);
  if (encoded && encoded.length <= MAX_JOBINFO_TEMPLATE) extension.jobtemplate_base64 = encoded;
  const jobName = job.labels?.[LABEL_JOB_NAME];
  if (jobName) extension.job_name = jobName;
  if (policy?.minCpuPlatform) extension.min_cpu_platform = policy.minCpuPlatform;
  const preemptions = preemptionsOf(tasks);
  if (preemptions > 0) extension.preemptions = String(preemptions);
  const reason = state === 'Failed' ? batchReasonOf(job) : undefined;
  if (reason) extension.batch_reason = reason;
  const dispatch = dispatchTime(events);
  const finish = finishTime(events);
  return {
    ...(job.name ? { id: job.name } : {}),
    ...(exit !== undefined ? { exitStatus: exit } : {}),
    ...(job.labels?.accounting ? { annotation: job.labels.accounting } : {}),
    state,
    subState,
    allocatedMachines: [policy?.machineType ?? 'unknown'],
    slots: job.taskGroups?.[0]?.taskCount ?? 1,
    wallclockTime: formatDuration(protoSeconds(job.status?.runDuration) ?? 0),
    ...(job.createTime ? { submissionTime: job.createTime } : {}),
    ...(dispatch ? { dispatchTime: dispatch } : {}),
    ...(finish && (state === 'Done' || state === 'Failed') ? { finishTime: finish } : {}),
    extension: { extensionList: extension },
  };
}
