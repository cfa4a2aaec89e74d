// The Google Batch adapter: one client per process, built from configuration.
import { GoogleBatchJobs, type BatchJobsOptions, type ClosableBatchJobs } from './googleBatchJobs.js';

export type {
  BatchCallObserver,
  BatchJobsOptions,
  BatchMethod,
  ClosableBatchJobs,
} from './googleBatchJobs.js';
export { parseEmulatorHost } from './clientOptions.js';

/** Builds the BatchJobs port. With `emulatorHost` (BATCH_EMULATOR_HOST) it talks plain gRPC to a local
 * emulator; otherwise to Google with Application Default Credentials. Build it once and close() it at exit. */
export function createBatchJobs(opts: BatchJobsOptions = {}): ClosableBatchJobs {
  return new GoogleBatchJobs(opts);
}
