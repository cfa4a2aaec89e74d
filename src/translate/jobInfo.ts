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

/** A failed task that reports exit code 0 (preempted, lost) still failed: the job then reports 1. */
function failedExitCode(job: Job, tasks: Task[] | undefined): number | undefined {
  const taskEvents = (tasks ?? []).flatMap((t) => t.status?.statusEvents ?? []);
  const events = [...taskEvents, ...(job.status?.statusEvents ?? [])];
  return events.filter((e) => e.taskState === 'FAILED' && e.taskExecution?.exitCode !== undefined).at(-1)
    ?.taskExecution?.exitCode;
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
  const exit = state === 'Failed' ? failedExitCode(job, tasks) || 1 : 0;
  const policy = job.allocationPolicy?.instances?.[0]?.policy;
  const extension: Record<string, string> = {};
  if (job.uid) extension.uid = job.uid;
  const encoded = templateBase64(job);
  if (encoded && encoded.length <= MAX_JOBINFO_TEMPLATE) extension.jobtemplate_base64 = encoded;
  const jobName = job.labels?.[LABEL_JOB_NAME];
  if (jobName) extension.job_name = jobName;
  if (policy?.minCpuPlatform) extension.min_cpu_platform = policy.minCpuPlatform;
  const dispatch = dispatchTime(events);
  const finish = finishTime(events);
  return {
    ...(job.name ? { id: job.name } : {}),
    exitStatus: exit,
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
