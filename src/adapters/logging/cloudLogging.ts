// The LogEntries port over @google-cloud/logging. Pages come from Logging#getEntries, whose raw answer is
// read for the entries' timestamps: the library turns them into Dates, which keep milliseconds only, and two
// lines of one task a microsecond apart would then tie. The tail is opened on the library's own generated
// client (Logging#loggingService) rather than Logging#tailEntries, which adds the client's own project to
// the resource names and does not send the buffer window it is given.
import type { Duplex } from 'node:stream';
import type { Logging } from '@google-cloud/logging';
import type { LogLine } from '../../api/logLine.js';
import type { LogEntries, LogPage, LogQuery, LogTail } from '../../ports/logEntries.js';
import { LOG_LABEL_JOB_UID, LOG_LABEL_TASK_ID, taskIndexOfLogId } from '../../translate/batchLogs.js';
import { toBatchError } from '../batch/errors.js';
import { loggingClientOptions, type LoggingClientSettings } from './clientOptions.js';

interface RawTimestamp {
  seconds?: number | string | { toString(): string };
  nanos?: number;
}

interface RawEntry {
  timestamp?: RawTimestamp | null;
  insertId?: string | null;
  severity?: string | number | null;
  textPayload?: string | null;
  jsonPayload?: unknown;
  labels?: Record<string, string> | null;
}

const SEVERITY_NAMES: Record<number, string> = {
  0: 'DEFAULT',
  100: 'DEBUG',
  200: 'INFO',
  300: 'NOTICE',
  400: 'WARNING',
  500: 'ERROR',
  600: 'CRITICAL',
  700: 'ALERT',
  800: 'EMERGENCY',
};

/** RFC 3339 with the nanoseconds Logging stored. */
function rfc3339(ts: RawTimestamp | null | undefined): string {
  const seconds = Number(String(ts?.seconds ?? 0));
  const nanos = ts?.nanos ?? 0;
  const base = new Date(seconds * 1000).toISOString().slice(0, 19);
  return `${base}.${String(nanos).padStart(9, '0')}Z`;
}

export function lineOf(raw: RawEntry): LogLine {
  const taskId = raw.labels?.[LOG_LABEL_TASK_ID];
  const taskIndex = taskId !== undefined ? taskIndexOfLogId(taskId) : undefined;
  const jobUid = raw.labels?.[LOG_LABEL_JOB_UID];
  const severity =
    typeof raw.severity === 'number'
      ? (SEVERITY_NAMES[raw.severity] ?? 'DEFAULT')
      : (raw.severity ?? 'DEFAULT');
  const text =
    raw.textPayload ??
    (raw.jsonPayload !== undefined && raw.jsonPayload !== null ? JSON.stringify(raw.jsonPayload) : '');
  return {
    timestamp: rfc3339(raw.timestamp),
    insertId: raw.insertId ?? '',
    severity,
    text,
    ...(jobUid !== undefined ? { jobUid } : {}),
    ...(taskIndex !== undefined ? { taskIndex } : {}),
  };
}

export interface CloudLoggingOptions extends Omit<LoggingClientSettings, 'projectId'> {
  /** How long Logging may hold entries back to order them in a tail; Logging's default is 2 s. */
  bufferWindowSeconds?: number;
  /** Deadline of each list call; default 30 s. */
  timeoutMs?: number;
}

export class CloudLogEntries implements LogEntries {
  /** One client per project: the library's requests name the project the client was made for. */
  private readonly clients = new Map<string, Promise<Logging>>();

  constructor(private readonly opts: CloudLoggingOptions = {}) {}

  private client(project: string): Promise<Logging> {
    let made = this.clients.get(project);
    if (!made) {
      made = import('@google-cloud/logging').then(
        ({ Logging }) => new Logging(loggingClientOptions({ ...this.opts, projectId: project })),
      );
      this.clients.set(project, made);
    }
    return made;
  }

  async list(query: LogQuery): Promise<LogPage> {
    const logging = await this.client(query.project);
    try {
      const [, , response] = await logging.getEntries({
        resourceNames: [`projects/${query.project}`],
        filter: query.filter,
        orderBy: `timestamp ${query.order}`,
        pageSize: query.pageSize,
        ...(query.pageToken ? { pageToken: query.pageToken } : {}),
        autoPaginate: false,
        gaxOptions: { timeout: this.opts.timeoutMs ?? 30_000 },
      });
      const raw = (response ?? {}) as { entries?: RawEntry[]; nextPageToken?: string | null };
      return {
        entries: (raw.entries ?? []).map(lineOf),
        ...(raw.nextPageToken ? { nextPageToken: raw.nextPageToken } : {}),
      };
    } catch (err) {
      throw toBatchError(err);
    }
  }

  tail(project: string, filter: string): LogTail {
    const batches: LogLine[][] = [];
    let failure: unknown;
    let ended = false;
    let wake: (() => void) | undefined;
    let stream: Duplex | undefined;
    let closed = false;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    const opened = this.client(project).then((logging) => {
      if (closed) return;
      const s = logging.loggingService.tailLogEntries() as unknown as Duplex;
      stream = s;
      s.on('data', (chunk: { entries?: RawEntry[] }) => {
        batches.push((chunk.entries ?? []).map(lineOf));
        notify();
      });
      s.on('error', (err: unknown) => {
        // A cancel of our own is how close() ends the stream, not a failure.
        if (!closed) failure = toBatchError(err);
        ended = true;
        notify();
      });
      s.on('end', () => {
        ended = true;
        notify();
      });
      s.write({
        resourceNames: [`projects/${project}`],
        filter,
        bufferWindow: { seconds: this.opts.bufferWindowSeconds ?? 2 },
      });
    });
    opened.catch((err: unknown) => {
      failure = toBatchError(err);
      ended = true;
      notify();
    });
    const close = () => {
      if (closed) return;
      closed = true;
      ended = true;
      (stream as unknown as { cancel?: () => void } | undefined)?.cancel?.();
      stream?.destroy();
      notify();
    };
    return {
      close,
      [Symbol.asyncIterator]: async function* () {
        try {
          for (;;) {
            const next = batches.shift();
            if (next) {
              yield next;
              continue;
            }
            if (failure !== undefined) throw failure;
            if (ended) return;
            await new Promise<void>((resolve) => (wake = resolve));
          }
        } finally {
          close();
        }
      },
    };
  }

  async close(): Promise<void> {
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(
      all.map(async (made) => {
        try {
          await (await made).loggingService.close();
        } catch {
          // A client that never came to be has nothing to close.
        }
      }),
    );
  }
}
