// Which Batch jobs' tasks a pass lists: only where the job itself does not say enough, since ListTasks
// costs a read per page and the job's own status already carries its task counts.
import type { Task } from '../api/batch.js';
import type { Drmaa2Job, Drmaa2JobStatus } from '../api/drmaa2job.js';
import { jobStateOf, taskCountsOf } from '../translate/index.js';
import { isTerminal, type ArrayLayout } from '../translate/status.js';
import type { OwnedJob, OwnedJobs } from './ownedJobs.js';

/** Tasks are listed when a job ended (exit codes for JobInfo), and for a native array whose task counts
 * moved since the last status (per-index results). Per-element arrays take their per-index results from
 * the jobs' states, so only the job that speaks for the whole array (JobInfo) has its tasks listed, once
 * all elements ended. */
export async function tasksOf(
  owned: OwnedJobs,
  resource: Drmaa2Job,
  jobs: OwnedJob[],
  array?: ArrayLayout,
): Promise<(Task[] | undefined)[]> {
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
  for (const [i, job] of jobs.entries()) {
    const listed = wanted[i] ? await owned.listTasks(job) : undefined;
    // Tasks Batch does not list yet are not yet known: the last per-index results stand. A job that ended
    // without any (it failed before its tasks existed) has none to wait for.
    tasks.push(listed && listed.length === 0 && !ended[i] ? undefined : listed);
  }
  return tasks;
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
