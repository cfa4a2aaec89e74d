// The Cloud Storage adapter. The storage client is loaded on the first bucket check: most controllers never
// stage out to a bucket, and the client costs tens of megabytes of resident memory.
import type { Buckets } from '../../ports/buckets.js';
import type { BucketsOptions } from './googleBuckets.js';

export type { BucketsOptions } from './googleBuckets.js';
export { bucketNameProblem } from './bucketName.js';

/** Builds the Buckets port; `emulatorHost` (STORAGE_EMULATOR_HOST) points it at fake-gcs-server. */
export function createBuckets(opts: BucketsOptions = {}): Buckets {
  let client: Promise<Buckets> | undefined;
  const loaded = () =>
    (client ??= import('./googleBuckets.js').then(({ GoogleBuckets }) => new GoogleBuckets(opts)));
  return {
    ensureBucket: async (name, project) => (await loaded()).ensureBucket(name, project),
    bucketExists: async (name, project) => (await loaded()).bucketExists(name, project),
  };
}
