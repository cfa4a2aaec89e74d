/** Cloud Storage buckets, as the core needs them (stage-out destinations). Throws BatchError on failure. */
export interface Buckets {
  /** Makes sure the bucket exists, creating it in `project` when it does not. Only a NotFound answer
   * leads to creation; any other failure (e.g. permission denied) is thrown. */
  ensureBucket(name: string, project: string): Promise<'exists' | 'created'>;
}
