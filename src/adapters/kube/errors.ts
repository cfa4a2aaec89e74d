// Kubernetes API failures classified once: 404 NotFound, 409 Conflict, 410 Gone, 400/422 Invalid,
// 401/403 Forbidden, everything else (429, 5xx, transport) Transient.
import { ApiException } from '@kubernetes/client-node';
import { KubeError, type KubeErrorKind } from '../../ports/errors.js';

function kindOf(status: number | undefined): KubeErrorKind {
  switch (status) {
    case 404:
      return 'NotFound';
    case 409:
      return 'Conflict';
    case 410:
      return 'Gone';
    case 400:
    case 422:
      return 'Invalid';
    case 401:
    case 403:
      return 'Forbidden';
    default:
      return 'Transient';
  }
}

function messageOf(err: ApiException<unknown>): string {
  try {
    const body = JSON.parse(String(err.body)) as { message?: string; reason?: string };
    return body.message ?? body.reason ?? `HTTP ${err.code}`;
  } catch {
    return `HTTP ${err.code}`;
  }
}

export function toKubeError(err: unknown): KubeError {
  if (err instanceof KubeError) return err;
  if (err instanceof ApiException) return new KubeError(kindOf(err.code), messageOf(err), err.code);
  const status = (err as { statusCode?: number; code?: number }).statusCode;
  return new KubeError(kindOf(status), err instanceof Error ? err.message : String(err), status);
}
