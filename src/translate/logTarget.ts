// Which Batch jobs and tasks hold the output a reader asked for, from a Drmaa2Job as it is stored: the
// status names the Batch job(s) and their UIDs (kept after a TTL deletion, so the logs stay findable), the
// spec says how an array's indexes map to jobs and tasks.
import type { BatchJobRef, Drmaa2Job } from '../api/drmaa2job.js';
import { isPerElement } from './limits.js';
import { taskOfArrayIndex } from './batchLogs.js';

export interface LogRequest {
  /** A task index of the Batch job (of each element's job, for an array that runs one job per element). */
  task?: number;
  /** A DRMAA2 array index. */
  arrayIndex?: number;
  allTasks?: boolean;
}

export interface LogTarget {
  /** The Batch jobs to read, each as the status names it. */
  jobs: BatchJobRef[];
  /** Task indexes to read; absent: every task. */
  taskIndexes?: number[];
  /** Told to the reader when it sees only part of what there is (task 0 of several). */
  note?: string;
}

export type LogTargetResult = { target: LogTarget } | { error: string };

function describe(job: Drmaa2Job): string {
  return `Drmaa2Job ${job.metadata.namespace}/${job.metadata.name}`;
}

export function logTargetOf(job: Drmaa2Job, req: LogRequest): LogTargetResult {
  const status = job.status ?? {};
  const state = status.state ?? 'Undetermined';
  const spec = job.spec;
  if (req.arrayIndex !== undefined && !spec.array)
    return { error: `${describe(job)} is not an array job: --array-index does not apply` };
  if (req.task !== undefined && req.allTasks)
    return { error: '--task and --all-tasks cannot be given together' };

  const perElement = spec.array !== undefined && isPerElement(spec);
  let jobs: BatchJobRef[];
  let taskIndexes: number[] | undefined;
  if (perElement && spec.array) {
    const elements = status.array?.jobs ?? [];
    if (req.arrayIndex !== undefined) {
      const position = taskOfArrayIndex(spec.array, req.arrayIndex);
      if (position === undefined)
        return { error: `${req.arrayIndex} is not an index of the array ${formatArray(spec.array)}` };
      const element = elements[position];
      if (!element) return notSubmitted(job, state, `array index ${req.arrayIndex}`);
      jobs = [element];
    } else {
      jobs = elements;
    }
    if (req.task !== undefined) taskIndexes = [req.task];
  } else {
    if (!status.batchJob) return notSubmitted(job, state);
    jobs = [status.batchJob];
    if (req.arrayIndex !== undefined && spec.array) {
      const task = taskOfArrayIndex(spec.array, req.arrayIndex);
      if (task === undefined)
        return { error: `${req.arrayIndex} is not an index of the array ${formatArray(spec.array)}` };
      taskIndexes = [task];
    } else if (req.task !== undefined) {
      taskIndexes = [req.task];
    }
  }
  if (jobs.length === 0) return notSubmitted(job, state);

  let note: string | undefined;
  if (!taskIndexes && !req.allTasks) {
    const total = status.tasks?.total ?? 1;
    const elements = jobs.length;
    if (total > 1 || elements > 1) {
      taskIndexes = [0];
      note =
        elements > 1
          ? `showing task 0 of each of ${elements} element jobs; --all-tasks shows every task, --array-index one element`
          : `showing task 0 of ${total}; --task N shows another, --all-tasks every task`;
    }
  }
  return { target: { jobs, ...(taskIndexes ? { taskIndexes } : {}), ...(note ? { note } : {}) } };
}

function formatArray(array: NonNullable<Drmaa2Job['spec']['array']>): string {
  return `${array.begin}-${array.end}${(array.step ?? 1) !== 1 ? `:${array.step}` : ''}`;
}

function notSubmitted(job: Drmaa2Job, state: string, what?: string): { error: string } {
  const why = job.status?.message ? ` (${job.status.message})` : '';
  return {
    error: `${describe(job)}${what ? ` ${what}` : ''} has not been submitted to Batch: state ${state}${why}`,
  };
}
