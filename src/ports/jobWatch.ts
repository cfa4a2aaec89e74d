import type { Drmaa2Job } from '../api/drmaa2job.js';

/** A watched, cached view of the Drmaa2Job resources. Handlers receive keys (`namespace/name`) only: the
 * reconciler re-reads the state itself (level-triggered). */
export interface JobWatch {
  onKey(handler: (key: string) => void): void;
  /** Lists, then watches; resolves once the first list succeeded. Keeps itself running until stop(). */
  start(): Promise<void>;
  stop(): void;
  hasSynced(): boolean;
  keys(): string[];
  get(namespace: string, name: string): Drmaa2Job | undefined;
}
