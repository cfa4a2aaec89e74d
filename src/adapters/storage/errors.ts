// Cloud Storage (JSON API over HTTP) failures -> the core's BatchError kinds.
import { BatchError, type BatchErrorKind } from '../../ports/errors.js';

const KIND_BY_STATUS: ReadonlyMap<number, BatchErrorKind> = new Map([
  [400, 'InvalidArgument'],
  [401, 'Unauthenticated'],
  [403, 'PermissionDenied'],
  [404, 'NotFound'],
  [409, 'AlreadyExists'],
  [412, 'FailedPrecondition'],
  [429, 'ResourceExhausted'],
  [500, 'Internal'],
  [502, 'Unavailable'],
  [503, 'Unavailable'],
  [504, 'DeadlineExceeded'],
]);

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
]);

/** The HTTP status of a storage error, when it has one. */
export function httpStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

function networkCodeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, cause } = err as { code?: unknown; cause?: unknown };
  if (typeof code === 'string') return code;
  return cause === undefined ? undefined : networkCodeOf(cause);
}

function kindOf(err: unknown): BatchErrorKind {
  const status = httpStatusOf(err);
  if (status !== undefined) return KIND_BY_STATUS.get(status) ?? (status >= 500 ? 'Internal' : 'Unknown');
  const network = networkCodeOf(err);
  return network !== undefined && NETWORK_CODES.has(network) ? 'Unavailable' : 'Unknown';
}

export function toStorageError(err: unknown, context: string): BatchError {
  if (err instanceof BatchError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new BatchError(kindOf(err), `${context}: ${message}`, httpStatusOf(err));
}
