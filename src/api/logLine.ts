// A Cloud Logging entry of a Batch task's output, as readers of task logs see it.
export interface LogLine {
  /** RFC 3339, as Logging gives it (nanoseconds kept, so that order survives a round trip). */
  timestamp: string;
  insertId: string;
  severity: string;
  text: string;
  jobUid?: string;
  taskIndex?: number;
}
