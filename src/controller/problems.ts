// Errors as the reconciler classifies them: which become a Synced=False reason (and are retried with
// back-off), and which must never be retried.
import type { Logger } from 'pino';
import type { Drmaa2Job } from '../api/drmaa2job.js';
import { isBatchError, isKubeError } from '../ports/errors.js';
import type { SyncProblem } from '../translate/conditions.js';
import { TerminalError, type ReconcileResult } from './reconcileContract.js';
import type { ResourceWrites } from './resourceWrites.js';

/** A status write that met a newer resourceVersion is retried once the watch delivered the newer object,
 * which takes a moment; retrying at once would only conflict again. */
const CONFLICT_REQUEUE_MS = 200;

/** Making sure a stage-out bucket exists failed (the Buckets port throws BatchError kinds). */
export class StageOutError extends Error {
  constructor(
    readonly bucket: string,
    cause: unknown,
  ) {
    super(`stage-out bucket ${bucket}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'StageOutError';
  }
}

/** The Synced=False reason and message for an error that is retried; undefined for other errors. */
export function syncProblemOf(err: unknown): SyncProblem | undefined {
  if (err instanceof StageOutError) return { reason: 'StorageError', message: err.message };
  if (isBatchError(err)) {
    if (err.kind === 'ResourceExhausted') return { reason: 'BatchQuotaExceeded', message: err.message };
    if (err.kind === 'Unavailable' || err.kind === 'DeadlineExceeded') {
      return { reason: 'BatchUnavailable', message: err.message };
    }
    return { reason: 'BatchError', message: `${err.kind}: ${err.message}` };
  }
  if (isKubeError(err) && err.kind !== 'Conflict' && err.kind !== 'NotFound') {
    return { reason: 'KubeError', message: `${err.kind}: ${err.message}` };
  }
  return undefined;
}

/** What a failed pass does: a conflict waits for the watch, a write the API server refuses for good is
 * reported and dropped, a retried error is shown as Synced=False (against `newest`, the pass's last copy)
 * and backs off. */
export async function afterFailure(
  key: string,
  newest: Drmaa2Job,
  err: unknown,
  writes: ResourceWrites,
  log: Logger,
): Promise<ReconcileResult> {
  if (isKubeError(err, 'Conflict')) {
    log.debug('Drmaa2Job changed meanwhile; requeued');
    return { requeueAfterMs: CONFLICT_REQUEUE_MS };
  }
  if (isKubeError(err, 'NotFound')) return {};
  if (isKubeError(err, 'Invalid')) {
    // The API server refuses the controller's own write for this object as it is stored (a rule it cannot
    // evaluate on it): retrying cannot help until the object changes.
    await writes.reportProblem(newest, { reason: 'KubeError', message: err.message }, log);
    throw new TerminalError(`the API server refuses updates of ${key}: ${err.message}`, { cause: err });
  }
  const problem = syncProblemOf(err);
  if (problem) {
    log.warn({ reason: problem.reason, err: problem.message }, 'Reconcile failed; retrying with back-off');
    await writes.reportProblem(newest, problem, log);
  }
  throw err;
}
