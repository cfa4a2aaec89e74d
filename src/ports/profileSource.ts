import type { BatchProfile, BatchProfileStatus } from '../api/batchProfile.js';

/** The cluster's BatchProfiles and the namespaces' labels, watched and cached: what profile resolution reads. */
export interface ProfileSource {
  /** Lists, then watches; resolves once the first lists succeeded. Keeps itself running until stop(). */
  start(): Promise<void>;
  stop(): void;
  hasSynced(): boolean;
  profiles(): BatchProfile[];
  /** A namespace's labels; undefined when the namespace is not known (not yet, or gone). */
  namespaceLabels(namespace: string): Record<string, string> | undefined;
  /** Called after any change of a profile or of a namespace's labels. */
  onChange(handler: () => void): void;
  /** Merge-patches a profile's status. */
  patchStatus(name: string, status: BatchProfileStatus): Promise<void>;
}
