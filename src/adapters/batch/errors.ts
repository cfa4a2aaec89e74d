// gRPC status codes -> the core's BatchError kinds. google-gax errors carry the numeric gRPC code in `code`.
import { BatchError, type BatchErrorKind } from '../../ports/errors.js';

/** gRPC status code names by number (grpc/status.h). */
export const GRPC_CODE_NAMES: readonly string[] = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

const KIND_BY_CODE: ReadonlyMap<number, BatchErrorKind> = new Map([
  [3, 'InvalidArgument'],
  [4, 'DeadlineExceeded'],
  [5, 'NotFound'],
  [6, 'AlreadyExists'],
  [7, 'PermissionDenied'],
  [8, 'ResourceExhausted'],
  [9, 'FailedPrecondition'],
  [13, 'Internal'],
  [14, 'Unavailable'],
  [16, 'Unauthenticated'],
]);

export function grpcCodeOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** The status name for metrics: `OK` for success, the gRPC name for a status, `UNKNOWN` otherwise. */
export function grpcCodeName(err: unknown): string {
  if (err === undefined) return 'OK';
  const code = grpcCodeOf(err);
  return (code !== undefined && GRPC_CODE_NAMES[code]) || 'UNKNOWN';
}

/** A call whose credentials could not be had (an impersonation refused, a token endpoint down) fails in the
 * client before it reaches Batch, with the token endpoint's HTTP status as its code (grpc-js passes a
 * metadata plugin's error code through). */
const KIND_BY_HTTP_STATUS: ReadonlyMap<number, BatchErrorKind> = new Map([
  [401, 'Unauthenticated'],
  [403, 'PermissionDenied'],
  [429, 'Unavailable'],
  [500, 'Unavailable'],
  [502, 'Unavailable'],
  [503, 'Unavailable'],
  [504, 'Unavailable'],
]);

/** Classifies any error thrown by the client; BatchErrors pass through unchanged. */
export function toBatchError(err: unknown): BatchError {
  if (err instanceof BatchError) return err;
  const code = grpcCodeOf(err);
  let message = err instanceof Error ? err.message : String(err);
  if (code !== undefined && code >= 100) {
    // grpc-js words such an error "403 undefined: ..." (no status name for the number).
    message = message.replace(/^\d{3} undefined: /, '');
    return new BatchError(KIND_BY_HTTP_STATUS.get(code) ?? 'Unknown', message, code);
  }
  const kind = (code !== undefined && KIND_BY_CODE.get(code)) || 'Unknown';
  return new BatchError(kind, message, code);
}
