/** Cloud Storage buckets, as the core needs them (stage-out destinations). Throws BatchError on failure. */
export interface Buckets {
  /** Makes sure the bucket exists, creating it in `project` when it does not. Only a NotFound answer
   * leads to creation; any other failure (e.g. permission denied) is thrown. */
  ensureBucket(name: string, project: string): Promise<'exists' | 'created'>;
  /** Whether the bucket exists (a definite "not found" is false; any other failure is thrown), asked with
   * the client of `project`: for the buckets a job writes to that the controller may not create. */
  bucketExists(name: string, project: string): Promise<boolean>;
}
