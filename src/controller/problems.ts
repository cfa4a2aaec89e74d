// Errors as the reconciler classifies them: which become a Synced=False reason (and are retried with
// back-off), and which must never be retried.
import { isBatchError, isKubeError } from '../ports/errors.js';
import type { SyncProblem } from '../translate/conditions.js';

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
