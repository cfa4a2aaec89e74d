// Cloud Logging, as the log reader and the controller need it: a page of entries, and a live tail.
import type { LogLine } from '../api/logLine.js';

export interface LogQuery {
  /** The project whose logs are read (`projects/<project>` is the resource name). */
  project: string;
  filter: string;
  order: 'asc' | 'desc';
  /** At most 1,000 (Logging's largest page). */
  pageSize: number;
  pageToken?: string;
}

export interface LogPage {
  entries: LogLine[];
  nextPageToken?: string;
}

/** A live tail: batches of entries as Logging streams them, until closed or failed. */
export interface LogTail extends AsyncIterable<LogLine[]> {
  close(): void;
}

/** Throws BatchError (kinds PermissionDenied, ResourceExhausted, InvalidArgument, ...) on failure. */
export interface LogEntries {
  list(query: LogQuery): Promise<LogPage>;
  /** Entries matching `filter` that arrive after the tail has started. */
  tail(project: string, filter: string): LogTail;
}
