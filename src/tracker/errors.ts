// The tracker's errors, one class per DRMAA2 error situation, so callers decide on types, not messages.
// Batch failures themselves arrive as BatchError (src/ports/errors.ts) and pass through unchanged.
import type { SpecError } from '../translate/index.js';
import { formatSpecError } from '../translate/index.js';

export class Drmaa2Error extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The job template cannot become a Batch job; `errors` name each offending field by path. */
export class InvalidSpecError extends Drmaa2Error {
  readonly errors: readonly SpecError[];

  constructor(errors: readonly SpecError[]) {
    super(`invalid job template: ${errors.map(formatSpecError).join('; ')}`);
    this.errors = errors;
  }
}

/** A wrong argument that is not a template field: an unknown action, an ID of the wrong form. */
export class InvalidArgumentError extends Drmaa2Error {}

/** The operation is not allowed in the job's current state (DRMAA2 InvalidState). */
export class InvalidStateError extends Drmaa2Error {}

/** Google Batch has no such operation (DRMAA2 UnsupportedOperation). */
export class UnsupportedOperationError extends Drmaa2Error {}

/** The job exists but belongs to another job session (its `drmaa2session` label differs). */
export class NotInSessionError extends Drmaa2Error {}

/** wait() reached its timeout before the job reached one of the states. */
export class TimeoutError extends Drmaa2Error {}
