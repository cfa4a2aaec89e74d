// The last lines a failed task printed, for its resource's Failed condition: where people look first.
//
// One Cloud Logging read per failed job, on the pass that first sees it fail, and never one that holds the
// status back: Logging's read quota is per project and shared with every reader of it (60 list calls a
// minute), so the controller spends at most its own budget of them (`--log-reads-per-minute`) and a job
// that finds the budget spent says so instead of waiting; a read that fails or takes long is reported the
// same way. A task's output is the tenant's own text: it is left out when the job reads secret_env values
// (which it could have printed and the controller cannot know to hide), when the job or its profile turned
// it off, and it is bounded (outputExcerpt).
import { stateOf, type Job, type Task } from '../api/batch.js';
import type { BatchProfile } from '../api/batchProfile.js';
import type { Drmaa2Job } from '../api/drmaa2job.js';
import type { LogEntries } from '../ports/logEntries.js';
import {
  outputExcerpt,
  taskLogFilter,
  EXCERPT_LINES,
  type ExcerptOmitted,
  type FailedOutput,
} from '../translate/batchLogs.js';
import { firstFailedTask } from '../translate/jobInfo.js';

/** A budget that never waits: a token now, or none. */
export interface InstantBudget {
  tryTake(): boolean;
  answered(err: unknown): void;
}

export interface FailedOutputDeps {
  logs: LogEntries | undefined;
  budget: InstantBudget | undefined;
  /** Told of a read that failed (for the log). */
  onError?(err: unknown): void;
}

/** How far back from the job's end the excerpt is looked for: the failed attempt's own lines. */
const LOOK_BACK_MS = 24 * 3_600_000;

function omitted(task: FailedOutput['task'], why: ExcerptOmitted): FailedOutput {
  return { task, output: { omitted: why } };
}

/** The failed task's output, or why it is left out; undefined when no failed task is known. */
export async function failedOutputOf(
  resource: Drmaa2Job,
  jobs: readonly Job[],
  tasks: readonly (Task[] | undefined)[] | undefined,
  profile: BatchProfile | undefined,
  deps: FailedOutputDeps,
  now: Date,
): Promise<FailedOutput | undefined> {
  const at = jobs.findIndex((job) => stateOf(job) === 'FAILED');
  const job = jobs[at];
  const task = firstFailedTask(tasks?.[at]);
  if (!job || !task) return undefined;
  if (resource.spec.outputInStatus === false || profile?.spec.outputInStatus === false)
    return omitted(task, 'disabled');
  if (resource.spec.jobTemplate.extension?.extensionList?.secret_env !== undefined)
    return omitted(task, 'secrets');
  if (job.logsPolicy?.destination === 'PATH') return omitted(task, 'notCloudLogging');
  const project = /^projects\/([^/]+)\//.exec(job.name ?? '')?.[1];
  if (!deps.logs || !deps.budget || !project || !job.uid) return omitted(task, 'unreadable');
  if (!deps.budget.tryTake()) return omitted(task, 'budget');
  const ended = Date.parse(job.updateTime ?? '') || now.getTime();
  const since = new Date(Math.max(0, Date.parse(job.createTime ?? '') || ended - LOOK_BACK_MS)).toISOString();
  try {
    const page = await deps.logs.list({
      project,
      filter: taskLogFilter({ project, jobUids: [job.uid], taskIndexes: [task.index], since }),
      order: 'desc',
      pageSize: EXCERPT_LINES,
    });
    deps.budget.answered(undefined);
    const excerpt = outputExcerpt(page.entries);
    return excerpt === '' ? omitted(task, 'empty') : { task, output: { excerpt } };
  } catch (err) {
    deps.budget.answered(err);
    deps.onError?.(err);
    return omitted(task, 'unreadable');
  }
}
