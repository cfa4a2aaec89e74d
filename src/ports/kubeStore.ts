import type { Drmaa2Job, Drmaa2JobStatus } from '../api/drmaa2job.js';

/** The Drmaa2Job resources, as the controller needs them. Throws KubeError on failure. */
export interface KubeStore {
  /** The current resource (from the informer's cache where there is one), or undefined when it is gone.
   * A cached copy may lack its template's large text (templateElided). */
  get(namespace: string, name: string): Promise<Drmaa2Job | undefined>;
  /** The resource whole, as the API server stores it (never from a cache), or undefined when it is gone. */
  getWhole(namespace: string, name: string): Promise<Drmaa2Job | undefined>;
  /** Writes `status` with one merge patch on the status subresource, guarded by the job's
   * resourceVersion (KubeError Conflict when stale). Returns the updated resource. */
  patchStatus(job: Drmaa2Job, status: Drmaa2JobStatus): Promise<Drmaa2Job>;
  /** Replaces metadata.finalizers, guarded by the job's resourceVersion. Returns the updated resource. */
  setFinalizers(job: Drmaa2Job, finalizers: string[]): Promise<Drmaa2Job>;
}
