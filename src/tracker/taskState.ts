// The DRMAA2 state of one array index, from its Batch task.
import type { BatchTaskState, Task } from '../api/batch.js';
import type { JobState } from '../api/drmaa2.js';

const STATE_OF_TASK: Record<BatchTaskState, JobState> = {
  STATE_UNSPECIFIED: 'Undetermined',
  PENDING: 'Queued',
  ASSIGNED: 'Queued',
  RUNNING: 'Running',
  SUCCEEDED: 'Done',
  FAILED: 'Failed',
  // The job ended before this task ran (cancelled, or failed elsewhere): it will never run.
  UNEXECUTED: 'Failed',
};

export function taskStateOf(task: Task): { state: JobState; subState: string } {
  const subState = task.status?.state ?? 'STATE_UNSPECIFIED';
  return { state: STATE_OF_TASK[subState] ?? 'Undetermined', subState };
}

/** The exit code of the task's last finished attempt, when Batch reported one. */
export function taskExitCode(task: Task): number | undefined {
  const events = task.status?.statusEvents ?? [];
  for (let i = events.length - 1; i >= 0; i--) {
    const code = events[i]?.taskExecution?.exitCode;
    if (code !== undefined) return code;
  }
  return undefined;
}
