// Batch job state -> DRMAA2 state, task counts, and per-index array results. The cancel states are mapped
// (CANCELLATION_IN_PROGRESS is still Running, CANCELLED is Failed) and DELETION_IN_PROGRESS keeps the last
// known state, since a deletion says nothing about how the job ran; the original library called it Running
// (docs/state-model.md).
import type { BatchJobState, Job, Task } from '../api/batch.js';
import type { JobState } from '../api/drmaa2.js';
import type { TaskCounts } from '../api/drmaa2job.js';

const STATE: Record<string, JobState> = {
  QUEUED: 'Queued',
  SCHEDULED: 'Queued',
  RUNNING: 'Running',
  SUCCEEDED: 'Done',
  FAILED: 'Failed',
  CANCELLATION_IN_PROGRESS: 'Running',
  CANCELLED: 'Failed',
};

export function jobStateOf(job: Job, lastKnown?: JobState): { state: JobState; subState: BatchJobState } {
  const batchState = job.status?.state ?? 'STATE_UNSPECIFIED';
  if (batchState === 'DELETION_IN_PROGRESS')
    return { state: lastKnown ?? 'Undetermined', subState: batchState };
  return { state: STATE[batchState] ?? 'Undetermined', subState: batchState };
}

export function taskCountsOf(job: Job): TaskCounts {
  const counts: Record<string, number> = {};
  for (const group of Object.values(job.status?.taskGroups ?? {})) {
    for (const [state, n] of Object.entries(group.counts ?? {}))
      counts[state] = (counts[state] ?? 0) + (n ?? 0);
  }
  const total = job.taskGroups?.[0]?.taskCount ?? Object.values(counts).reduce((a, b) => a + b, 0);
  return {
    total,
    pending: (counts.PENDING ?? 0) + (counts.ASSIGNED ?? 0),
    running: counts.RUNNING ?? 0,
    succeeded: counts.SUCCEEDED ?? 0,
    failed: counts.FAILED ?? 0,
  };
}

/** [1,2,3,7] -> "1-3,7" */
export function formatIndexRanges(indexes: number[]): string {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

export function arrayResults(
  tasks: Task[],
  array: { begin: number; step: number },
): { completedIndexes: string; failedIndexes: string } {
  const completed: number[] = [];
  const failed: number[] = [];
  for (const task of tasks) {
    const i = Number(task.name?.split('/').pop());
    if (!Number.isInteger(i)) continue;
    const index = array.begin + i * array.step;
    if (task.status?.state === 'SUCCEEDED') completed.push(index);
    if (task.status?.state === 'FAILED') failed.push(index);
  }
  return { completedIndexes: formatIndexRanges(completed), failedIndexes: formatIndexRanges(failed) };
}
