// Which keys go first in the work queue. The decision reads only the cached resource, so the watch
// stays a source of keys and the reconciler stays level-triggered.
import type { Drmaa2Job } from '../api/drmaa2job.js';

/** A submitted resource that changed since the controller last handled it: a deletion (a Batch job to
 * cancel, a finalizer someone waits on) or a new generation (hold, terminate, deletion policy, TTL). */
export function isUrgent(job: Pick<Drmaa2Job, 'metadata' | 'status'>): boolean {
  if (!job.status?.batchJob) return false;
  if (job.metadata.deletionTimestamp) return true;
  const observed = job.status.observedGeneration;
  return observed !== undefined && observed !== job.metadata.generation;
}
