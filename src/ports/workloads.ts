// Kueue's Workloads, as the controller needs them: the one it owns for a Drmaa2Job, whether Kueue admitted
// it, and the few writes an owner of a workload makes (create, (de)activate, finish, delete).
import type { WorkloadObject } from '../translate/workload.js';

export interface WorkloadState {
  name: string;
  /** The LocalQueue it waits in (spec.queueName). */
  queueName?: string;
  active: boolean;
  /** Kueue's Admitted condition is True: quota is reserved and every admission check passed. */
  admitted: boolean;
  finished: boolean;
  /** Why it is not admitted, in Kueue's words (the QuotaReserved condition's message), when it says. */
  pendingMessage?: string;
  /** The ResourceFlavors Kueue assigned, by resource name, once admitted. */
  flavors: Record<string, string>;
  /** The UID of the resource that owns it (its controller owner reference). */
  ownerUid?: string;
  /** Kueue took the admission back and its reservation still stands (Evicted and QuotaReserved both True,
   * not reserved again since), so the job must stop and the admission be cleared: why, in Kueue's words. */
  evicted?: { reason: string; message: string };
}

/** Throws KubeError on failure. */
export interface Workloads {
  /** Every change of a Workload enqueues its Drmaa2Job (a watch), so a pass need not look again on a timer. */
  readonly watched?: boolean;
  get(namespace: string, name: string): Promise<WorkloadState | undefined>;
  /** Creates it; one that exists already is read instead. */
  create(workload: WorkloadObject): Promise<WorkloadState>;
  setActive(namespace: string, name: string, active: boolean): Promise<void>;
  /** Sets its Finished condition, which releases its quota. */
  finish(namespace: string, name: string, succeeded: boolean, message: string): Promise<void>;
  /** After an eviction, once the job has stopped: the admission is cleared (QuotaReserved False, Admitted
   * False, Requeued True when Kueue preempted it), as an owner of a workload does, so Kueue queues it again. */
  requeue(namespace: string, name: string, evicted: { reason: string; message: string }): Promise<void>;
  /** The node labels of these ResourceFlavors, merged (a flavor that is gone has none). */
  flavorNodeLabels(names: readonly string[]): Promise<Record<string, string>>;
  /** The value of a WorkloadPriorityClass, or undefined when there is none of that name. */
  priorityClassValue(name: string): Promise<number | undefined>;
  /** Deletes it; one that is gone already is no error. */
  delete(namespace: string, name: string): Promise<void>;
}
