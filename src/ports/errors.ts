// Error kinds the adapters map SDK errors to, so the controller and tracker decide on kinds, not SDK types.

export type BatchErrorKind =
  | 'NotFound'
  | 'AlreadyExists'
  | 'InvalidArgument'
  | 'FailedPrecondition'
  | 'PermissionDenied'
  | 'Unauthenticated'
  | 'ResourceExhausted'
  | 'Unavailable'
  | 'DeadlineExceeded'
  | 'Internal'
  | 'Unknown';

/** An error from the Batch API (or the storage API), classified. */
export class BatchError extends Error {
  readonly kind: BatchErrorKind;
  /** The gRPC status code when one was received. */
  readonly code: number | undefined;

  constructor(kind: BatchErrorKind, message: string, code?: number) {
    super(message);
    this.name = 'BatchError';
    this.kind = kind;
    this.code = code;
  }
}

export function isBatchError(err: unknown, kind?: BatchErrorKind): err is BatchError {
  return err instanceof BatchError && (kind === undefined || err.kind === kind);
}

export type KubeErrorKind = 'NotFound' | 'Conflict' | 'Invalid' | 'Forbidden' | 'Gone' | 'Transient';

/** An error from the Kubernetes API, classified (404 NotFound, 409 Conflict, 410 Gone, 400/422 Invalid,
 * 401/403 Forbidden, everything else Transient). */
export class KubeError extends Error {
  readonly kind: KubeErrorKind;
  readonly status: number | undefined;

  constructor(kind: KubeErrorKind, message: string, status?: number) {
    super(message);
    this.name = 'KubeError';
    this.kind = kind;
    this.status = status;
  }
}

export function isKubeError(err: unknown, kind?: KubeErrorKind): err is KubeError {
  return err instanceof KubeError && (kind === undefined || err.kind === kind);
}
