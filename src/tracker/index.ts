// The DRMAA2 JobTracker over Google Batch, usable without Kubernetes.
export { JobTracker, JOB_CATEGORIES, type JobTrackerOptions, type StateAndSubState } from './jobTracker.js';
export {
  Drmaa2Error,
  InvalidArgumentError,
  InvalidSpecError,
  InvalidStateError,
  NotInSessionError,
  TimeoutError,
  UnsupportedOperationError,
} from './errors.js';
export { nativeArrayId, parseId, perElementArrayId, taskName, type ParsedId } from './jobIds.js';
export { DEFAULT_BACKOFF, type BackoffOptions } from './wait.js';
