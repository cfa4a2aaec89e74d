// The contract between the runner and a reconciler, after controller-runtime's Reconciler: one call per
// key, a result that says when to look again, errors that back the key off, and one error kind that must
// never be retried.

export interface ReconcileResult {
  /** Look again after this many milliseconds; absent: only a change brings the key back. */
  requeueAfterMs?: number;
}

/** One reconcile of one key (`namespace/name`). Throwing backs the key off; TerminalError drops it. */
export type Reconcile = (key: string) => Promise<ReconcileResult>;

/** An error that retrying cannot fix: the runner logs it and drops the key until it changes again. */
export class TerminalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalError';
  }
}
