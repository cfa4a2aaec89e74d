// An in-memory LogEntries port: entries of one project, listed as Cloud Logging lists them (by time, then
// insertId; pages with tokens), the filter read only for its job_uid/task_id values and its timestamp bounds
// (the real query language is the emulator's, tested through the real client). Tails are fed by hand.
import type { LogLine } from '../../../src/api/logLine.js';
import { compareLines } from '../../../src/translate/batchLogs.js';
import type { LogEntries, LogPage, LogQuery, LogTail } from '../../../src/ports/logEntries.js';
import { batchError } from './fakeBatchJobs.js';
import type { BatchErrorKind } from '../../../src/ports/errors.js';

interface FakeTail extends LogTail {
  filter: string;
  push(lines: LogLine[]): void;
  fail(kind: BatchErrorKind): void;
  closed: boolean;
}

function matches(line: LogLine & { taskId?: string }, filter: string): boolean {
  const uids = [...filter.matchAll(/labels\.job_uid="([^"]*)"/g)].map((m) => m[1]);
  const tasks = [...filter.matchAll(/labels\.task_id="(?:task\/)?(.+?)-group0-(\d+)(?:\/0\/0)?"/g)].map(
    (m) => `${m[1]}#${m[2]}`,
  );
  if (uids.length > 0 && !uids.includes(line.jobUid)) return false;
  if (tasks.length > 0 && !tasks.includes(`${line.jobUid}#${line.taskIndex}`)) return false;
  for (const m of filter.matchAll(/timestamp(>=|>)"([^"]*)"/g)) {
    const bound = { timestamp: m[2]!, insertId: m[1] === '>=' ? '' : '\uffff', severity: '', text: '' };
    if (compareLines(line, bound) < 0) return false;
  }
  return true;
}

export class FakeLogEntries implements LogEntries {
  readonly lines: LogLine[] = [];
  readonly queries: LogQuery[] = [];
  readonly tails: FakeTail[] = [];
  /** Errors the next list calls throw, in order. */
  readonly listFailures: BatchErrorKind[] = [];
  /** Lines listed are those written at least this long ago (Logging's ingestion delay), by `now`. */
  visibleAfter: (line: LogLine) => boolean = () => true;

  add(...lines: LogLine[]): void {
    this.lines.push(...lines);
  }

  async list(query: LogQuery): Promise<LogPage> {
    this.queries.push(query);
    const failure = this.listFailures.shift();
    if (failure) throw batchError(failure);
    const all = this.lines.filter((l) => this.visibleAfter(l) && matches(l, query.filter)).sort(compareLines);
    if (query.order === 'desc') all.reverse();
    const offset = query.pageToken ? Number(query.pageToken) : 0;
    const entries = all.slice(offset, offset + query.pageSize);
    const next = offset + query.pageSize;
    return { entries, ...(next < all.length ? { nextPageToken: String(next) } : {}) };
  }

  tail(_project: string, filter: string): LogTail {
    const queue: LogLine[][] = [];
    let failure: unknown;
    let wake: (() => void) | undefined;
    const tail: FakeTail = {
      filter,
      closed: false,
      push: (lines) => {
        queue.push(lines.filter((l) => matches(l, filter)));
        wake?.();
      },
      fail: (kind) => {
        failure = batchError(kind);
        wake?.();
      },
      close: () => {
        tail.closed = true;
        wake?.();
      },
      [Symbol.asyncIterator]: async function* () {
        for (;;) {
          const next = queue.shift();
          if (next) {
            yield next;
            continue;
          }
          if (failure) throw failure;
          if (tail.closed) return;
          await new Promise<void>((resolve) => (wake = resolve));
        }
      },
    };
    this.tails.push(tail);
    return tail;
  }
}
