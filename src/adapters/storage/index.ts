// The Cloud Storage adapter.
import { GoogleBuckets, type BucketsOptions } from './googleBuckets.js';

export type { BucketsOptions } from './googleBuckets.js';
export { bucketNameProblem } from './bucketName.js';

/** Builds the Buckets port; `emulatorHost` (STORAGE_EMULATOR_HOST) points it at fake-gcs-server. */
export function createBuckets(opts: BucketsOptions = {}): GoogleBuckets {
  return new GoogleBuckets(opts);
}
