// Where Batch puts a task's output in Cloud Logging, and how to ask for it: one log per project
// (`batch_task_logs`), one entry per line a runnable printed, stdout at severity INFO and stderr at ERROR,
// with the job's UID and the task in the entry's labels (docs/batch-fidelity.md, "Cloud Logging").
// Pure: the filters, the console link, the order of what was read and the excerpt a failed job's status
// carries are computed here from plain data; reading is done by src/logs through the LogEntries port.
import type { Job } from '../api/batch.js';
import type { ArraySpec, LogsRef } from '../api/drmaa2job.js';
import type { LogLine } from '../api/logLine.js';

export type { LogLine } from '../api/logLine.js';

export const BATCH_TASK_LOG_ID = 'batch_task_logs';
export const LOG_LABEL_JOB_UID = 'job_uid';
export const LOG_LABEL_TASK_ID = 'task_id';

/** `projects/<project>/logs/batch_task_logs` */
export function taskLogName(project: string): string {
  return `projects/${project}/logs/${BATCH_TASK_LOG_ID}`;
}

/**
 * The `task_id` label of a task's entries. Readers of Batch's entries (Nextflow's Batch executor among them)
 * match `<job uid>-group<g>-<index>`; the same task appears as `task/<job uid>-group<g>-<index>/0/0` in the
 * lines Batch writes to a logs path. Which of the two Cloud Logging carries is not documented, so a filter asks
 * for either (docs/batch-fidelity.md, "Cloud Logging"): the first is what is known to be written.
 */
export function taskLogIds(jobUid: string, taskIndex: number, groupIndex = 0): [string, string] {
  const plain = `${jobUid}-group${groupIndex}-${taskIndex}`;
  return [plain, `task/${plain}/0/0`];
}

/** The task index in a `task_id` label of either form, or undefined when the label is not one of Batch's. */
export function taskIndexOfLogId(taskId: string): number | undefined {
  const match = /^(?:task\/)?.+-group\d+-(\d+)(?:\/\d+\/\d+)?$/.exec(taskId);
  return match ? Number(match[1]) : undefined;
}

/** What to read: one project's task logs of some Batch jobs, optionally of some of their tasks only. */
export interface LogSelection {
  project: string;
  /** Batch job UIDs (not names: a job's logs outlive it, and a recreated job of the same name is another). */
  jobUids: readonly string[];
  /** Task indexes, for every job selected; absent: every task. */
  taskIndexes?: readonly number[];
  /** RFC 3339: entries at or after this time. */
  since?: string;
  /** RFC 3339: entries strictly after this time (a reader's catch-up after what it has printed). */
  after?: string;
}

/** Cloud Logging's query language wants strings quoted, with `"` and `\` escaped. */
function quoted(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function anyOf(field: string, values: readonly string[]): string {
  const terms = values.map((v) => `${field}=${quoted(v)}`);
  return terms.length === 1 ? terms[0]! : `(${terms.join(' OR ')})`;
}

/** The Cloud Logging filter for a selection. The log name comes first: Logging narrows by it before it
 * looks at labels, which keeps a read of a busy project cheap. */
export function taskLogFilter(sel: LogSelection): string {
  if (sel.jobUids.length === 0) throw new Error('a log selection needs at least one Batch job UID');
  const terms = [`logName=${quoted(taskLogName(sel.project))}`];
  const indexes = sel.taskIndexes;
  if (indexes && indexes.length > 0) {
    terms.push(
      anyOf(
        `labels.${LOG_LABEL_TASK_ID}`,
        sel.jobUids.flatMap((uid) => indexes.flatMap((i) => taskLogIds(uid, i))),
      ),
    );
  } else {
    terms.push(anyOf(`labels.${LOG_LABEL_JOB_UID}`, sel.jobUids));
  }
  if (sel.since) terms.push(`timestamp>=${quoted(sel.since)}`);
  if (sel.after) terms.push(`timestamp>${quoted(sel.after)}`);
  return terms.join(' AND ');
}

/** A link to the same query in the Google Cloud console's Logs Explorer. */
export function logsConsoleUrl(project: string, filter: string): string {
  const query = encodeURIComponent(filter).replace(/[()]/g, (c) => (c === '(' ? '%28' : '%29'));
  return `https://console.cloud.google.com/logs/query;query=${query}?project=${encodeURIComponent(project)}`;
}

/** RFC 3339 timestamps of one format compare as strings only when their fractions have the same length:
 * the nanoseconds are padded before comparing. */
function sortableTime(timestamp: string): string {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(timestamp);
  if (!match) return timestamp;
  const fraction = (match[2] ?? '').padEnd(9, '0');
  if (match[3] === 'Z') return `${match[1]}.${fraction}`;
  // An offset other than Z is rare in Logging's answers; convert through Date (milliseconds are enough).
  const ms = Date.parse(timestamp);
  return Number.isNaN(ms) ? timestamp : `${new Date(ms).toISOString().slice(0, 19)}.${fraction}`;
}

/** Logging's own order: by timestamp, then by insertId (which it documents as the tie-break). */
export function compareLines(a: LogLine, b: LogLine): number {
  const ta = sortableTime(a.timestamp);
  const tb = sortableTime(b.timestamp);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.insertId < b.insertId ? -1 : a.insertId > b.insertId ? 1 : 0;
}

/** Whether a severity is Batch's stderr (or worse): such lines go to the reader's stderr. */
export function isErrorSeverity(severity: string): boolean {
  return ['ERROR', 'CRITICAL', 'ALERT', 'EMERGENCY'].includes(severity);
}

/** `--since 5m` or an RFC 3339 time -> the RFC 3339 time to read from; undefined when malformed. */
export function sinceTime(value: string, now: Date): string | undefined {
  const relative = /^(\d+)(s|m|h)$/.exec(value.trim());
  if (relative) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000 }[relative[2] as 's' | 'm' | 'h'];
    return new Date(now.getTime() - Number(relative[1]) * unit).toISOString();
  }
  const ms = Date.parse(value);
  return /^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(ms) ? new Date(ms).toISOString() : undefined;
}

/**
 * The Batch task that runs one index of a native array: tasks are the indexes in order. Undefined when the
 * index is not one of the array's.
 */
export function taskOfArrayIndex(array: ArraySpec, index: number): number | undefined {
  const step = array.step ?? 1;
  if (index < array.begin || index > array.end || (index - array.begin) % step !== 0) return undefined;
  return (index - array.begin) / step;
}

/** The bounds of a failed task's output in its status: a few lines, a few hundred bytes. */
export const EXCERPT_LINES = 10;
export const EXCERPT_CHARS = 800;
const LINE_CHARS = 200;

/**
 * The last lines of a task's output, oldest first, for a Failed condition's message: at most
 * EXCERPT_LINES lines of at most LINE_CHARS characters each and EXCERPT_CHARS in all (the newest lines are
 * kept when it must be cut). Control characters other than tab are dropped: a terminal's escape sequences
 * in a status would reach whoever runs kubectl.
 */
export function outputExcerpt(newestFirst: readonly LogLine[]): string {
  const kept: string[] = [];
  let size = 0;
  for (const line of newestFirst) {
    if (kept.length >= EXCERPT_LINES) break;
    // eslint-disable-next-line no-control-regex
    let text = line.text.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g, '');
    if (text.length > LINE_CHARS) text = `${text.slice(0, LINE_CHARS - 3)}...`;
    if (size + text.length + 1 > EXCERPT_CHARS) break;
    kept.push(text);
    size += text.length + 1;
  }
  return kept.reverse().join('\n');
}

/** Why a failed job's status carries no excerpt, when it carries none. */
export type ExcerptOmitted = 'disabled' | 'secrets' | 'budget' | 'empty' | 'unreadable' | 'notCloudLogging';

const OMITTED: Record<ExcerptOmitted, string> = {
  disabled: 'output excerpts are turned off for this job',
  secrets: 'no output excerpt: the job reads secret_env values, which its output could carry',
  budget: 'no output excerpt: the Cloud Logging read budget is spent for now',
  empty: 'no output in Cloud Logging yet',
  unreadable: 'its output could not be read from Cloud Logging',
  notCloudLogging: 'its output is written to outputPath, not to Cloud Logging',
};

/** The sentence a Failed message ends with about the failed task and its output. */
export function failedTaskOutput({ task, output }: FailedOutput): string {
  const which = `Task ${task.index} ${task.exitCode !== undefined ? `exited with code ${task.exitCode}` : 'failed'}`;
  if ('excerpt' in output) return `${which}; its last output:\n${output.excerpt}`;
  return `${which}; ${OMITTED[output.omitted]}.`;
}

/** What a Failed message says of the failed task's output: its last lines, or why there are none. */
export interface FailedOutput {
  task: { index: number; exitCode?: number };
  output: { excerpt: string } | { omitted: ExcerptOmitted };
}

/** Jobs at most this many are named in status.logs' filter (a per-element array has up to 100). */
const MAX_LOGGED_JOBS = 100;

/** status.logs of submitted Batch jobs: their task logs' filter and console link. Undefined while a UID is
 * unknown, and for jobs whose logs go to a path (outputPath) instead of Cloud Logging. */
export function logsRefOf(jobs: readonly Job[]): LogsRef | undefined {
  const project = /^projects\/([^/]+)\//.exec(jobs[0]?.name ?? '')?.[1];
  if (!project || jobs.length > MAX_LOGGED_JOBS) return undefined;
  const uids: string[] = [];
  for (const job of jobs) {
    if (!job.uid || job.logsPolicy?.destination === 'PATH') return undefined;
    uids.push(job.uid);
  }
  const filter = taskLogFilter({ project, jobUids: uids });
  return { filter, url: logsConsoleUrl(project, filter) };
}
