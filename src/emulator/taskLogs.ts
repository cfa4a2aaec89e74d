// What Batch writes to Cloud Logging for a task whose job's logsPolicy says CLOUD_LOGGING: one entry per line
// a runnable printed, in the project's batch_task_logs log, stdout at INFO and stderr at ERROR, labelled with
// the job's UID, the task and the job's own labels, on the job's monitored resource. docs/batch-fidelity.md,
// "Cloud Logging", gives the source of each choice.
import type { Job } from '../api/batch.js';
import { LOG_LABEL_JOB_UID, LOG_LABEL_TASK_ID, taskLogName } from '../translate/batchLogs.js';
import type { LogSeverity, LogStore } from './logStore.js';

export type OutputStream = 'stdout' | 'stderr';

/** Cloud Logging's largest entry is 256 KiB; a longer line is cut into entries of at most this many
 * characters, which also bounds what is held while a line is still unfinished. */
export const MAX_LINE_CHARS = 256 * 1024;

const SEVERITY: Record<OutputStream, LogSeverity> = { stdout: 'INFO', stderr: 'ERROR' };

/** How the `task_id` label is written: `plain`, `<job uid>-group0-<i>`, as readers of Batch's entries match
 * it, or `taskPath`, `task/<job uid>-group0-<i>/0/0`, the form that prefixes the lines of logs written to a
 * PATH (docs/batch-fidelity.md, "Open questions on Cloud Logging"). */
export type TaskIdLabel = 'plain' | 'taskPath';

export function cloudLogTaskId(jobUid: string, taskIndex: number, form: TaskIdLabel = 'plain'): string {
  const plain = `${jobUid}-group0-${taskIndex}`;
  return form === 'plain' ? plain : `task/${plain}/0/0`;
}

export interface TaskLogWriter {
  write(text: string, stream: OutputStream): void;
  /** Writes what is left of an unfinished line on each stream: the attempt has ended. */
  end(): void;
}

function nameParts(jobName: string): { project: string; location: string } {
  const m = /^projects\/([^/]+)\/locations\/([^/]+)\//.exec(jobName);
  return { project: m?.[1] ?? '', location: m?.[2] ?? '' };
}

/** A writer of one attempt's output to Cloud Logging, or undefined when the job does not send it there. */
export function taskLogWriter(
  store: LogStore,
  job: Job,
  taskIndex: number,
  now: () => number,
  taskIdLabel: TaskIdLabel = 'plain',
): TaskLogWriter | undefined {
  const policy = job.logsPolicy as
    (Job['logsPolicy'] & { cloudLoggingOption?: { useGenericTaskMonitoredResource?: boolean } }) | undefined;
  if (policy?.destination !== 'CLOUD_LOGGING') return undefined;
  const uid = job.uid!;
  const { project, location } = nameParts(job.name!);
  const taskId = cloudLogTaskId(uid, taskIndex, taskIdLabel);
  const resource: { type: string; labels: Record<string, string> } = policy.cloudLoggingOption
    ?.useGenericTaskMonitoredResource
    ? {
        type: 'generic_task',
        labels: { project_id: project, location, namespace: '', job: uid, task_id: taskId },
      }
    : { type: 'batch.googleapis.com/Job', labels: { resource_container: project, location, job_id: uid } };
  // The job's own labels go on its entries; Batch's own keys are not theirs to replace.
  const labels = { ...(job.labels ?? {}), [LOG_LABEL_JOB_UID]: uid, [LOG_LABEL_TASK_ID]: taskId };
  const logName = taskLogName(project);
  const emit = (line: string, stream: OutputStream) =>
    store.write(
      project,
      job.name!,
      {
        logName,
        resource: structuredClone(resource),
        labels: { ...labels },
        severity: SEVERITY[stream],
        textPayload: line,
      },
      now(),
    );
  const partial: Record<OutputStream, string> = { stdout: '', stderr: '' };
  return {
    write(text, stream) {
      const buffered = partial[stream] + text;
      let start = 0;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n', start)) {
        for (; nl - start > MAX_LINE_CHARS; start += MAX_LINE_CHARS)
          emit(buffered.slice(start, start + MAX_LINE_CHARS), stream);
        emit(buffered.slice(start, nl), stream);
        start = nl + 1;
      }
      for (; buffered.length - start >= MAX_LINE_CHARS; start += MAX_LINE_CHARS)
        emit(buffered.slice(start, start + MAX_LINE_CHARS), stream);
      partial[stream] = buffered.slice(start);
    },
    end() {
      for (const stream of ['stdout', 'stderr'] as const) {
        if (partial[stream] !== '') emit(partial[stream], stream);
        partial[stream] = '';
      }
    },
  };
}
