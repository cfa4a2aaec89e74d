// Which Batch jobs' tasks a pass lists: only where the job itself does not say enough, since ListTasks
// costs a read per page and the job's own status already carries its task counts.
import type { Task } from '../api/batch.js';
import type { Drmaa2Job, Drmaa2JobStatus } from '../api/drmaa2job.js';
import { jobStateOf, taskCountsOf } from '../translate/index.js';
import { isTerminal, type ArrayLayout } from '../translate/status.js';
import type { OwnedJob, OwnedJobs } from './ownedJobs.js';

/** The tasks a pass listed, per job (undefined: not listed, or not listed by Batch yet). `unlisted`: a job
 * ended whose tasks ran (its counts say so) but which Batch does not list yet, so its exit code and
 * per-index results are not known yet. */
export interface TaskListing {
  tasks: (Task[] | undefined)[];
  unlisted: boolean;
}

/** Tasks are listed when a job ended (exit codes for JobInfo), and for a native array whose task counts
 * moved since the last status (per-index results). Per-element arrays take their per-index results from
 * the jobs' states, so only the job that speaks for the whole array (JobInfo) has its tasks listed, once
 * all elements ended. */
export async function tasksOf(
  owned: OwnedJobs,
  resource: Drmaa2Job,
  jobs: OwnedJob[],
  array?: ArrayLayout,
): Promise<TaskListing> {
  const ended = jobs.map((job) => isTerminal(jobStateOf(job).state));
  const wanted = jobs.map((job, i) => {
    if (array?.mode === 'native') return ended[i] || !sameCounts(taskCountsOf(job), resource.status?.tasks);
    return ended[i]!;
  });
  if (array?.mode === 'perElement') {
    const failed = jobs.findIndex((job) => jobStateOf(job).state === 'Failed');
    const speaker = failed >= 0 ? failed : jobs.length - 1;
    wanted.fill(false);
    if (ended.every(Boolean)) wanted[speaker] = true;
  }
  const tasks: (Task[] | undefined)[] = [];
  let unlisted = false;
  for (const [i, job] of jobs.entries()) {
    const listed = wanted[i] ? await owned.listTasks(job) : undefined;
    if (!listed || listed.length > 0) {
      tasks.push(listed);
      continue;
    }
    // Tasks Batch does not list yet are not yet known: the last per-index results stand. A job that ended
    // without any that ran (it failed before its tasks existed) has none to wait for.
    const ran = tasksRan(job);
    if (ended[i] && ran) unlisted = true;
    tasks.push(ended[i] && !ran ? listed : undefined);
  }
  return { tasks, unlisted };
}

/** Whether a job's tasks ran: its counts say so, or it was RUNNING at some point (Batch may leave the counts
 * out while it does not list the tasks). */
function tasksRan(job: OwnedJob): boolean {
  const counts = taskCountsOf(job);
  if (counts.succeeded + counts.failed > 0 || job.status?.runDuration !== undefined) return true;
  return (job.status?.statusEvents ?? []).some((e) => /\bto RUNNING\b/.test(e.description ?? ''));
}

/** How long a pass waits for Batch to list the tasks of a job that ended before it writes the end without
 * them: Batch has been seen not to know a job's tasks for minutes (nextflow-io/nextflow#5422). */
export const UNLISTED_TASKS_WAIT_MS = 5 * 60_000;

/** When each resource first met an ended job with unlisted tasks, so that the wait is bounded. */
export class UnlistedTasks {
  private readonly since = new Map<string, number>();

  /** True while `key` may still wait for its tasks; false once it waited UNLISTED_TASKS_WAIT_MS. */
  mayWait(key: string, now: number): boolean {
    const first = this.since.get(key) ?? now;
    this.since.set(key, first);
    return now - first < UNLISTED_TASKS_WAIT_MS;
  }

  forget(key: string): void {
    this.since.delete(key);
  }
}

function sameCounts(a: ReturnType<typeof taskCountsOf>, b: Drmaa2JobStatus['tasks']): boolean {
  return (
    b !== undefined &&
    a.total === b.total &&
    a.pending === b.pending &&
    a.running === b.running &&
    a.succeeded === b.succeeded &&
    a.failed === b.failed
  );
}
