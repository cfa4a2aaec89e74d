// The Drmaa2Job custom resource (group drmaa2.io, version v1alpha1). crds/drmaa2.io_drmaa2jobs.yaml is its
// schema; these types are what the controller reads and writes.
import type { JobInfo, JobState, JobTemplate } from './drmaa2.js';
import type { BatchJobState } from './batch.js';
import type { ProfileImpersonation } from './batchProfile.js';

export const GROUP = 'drmaa2.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'Drmaa2Job';
export const PLURAL = 'drmaa2jobs';

/** The finalizer the controller puts on every resource before it submits a Batch job. */
export const FINALIZER = 'drmaa2.io/batch-job';

/** The work-queue key of a resource: `namespace/name`. */
export function keyOf(job: { metadata?: { namespace?: string; name?: string } }): string {
  return `${job.metadata?.namespace ?? ''}/${job.metadata?.name ?? ''}`;
}

/** The namespace and name a key (`namespace/name`) names; undefined for anything else. */
export function parseKey(key: string): { namespace: string; name: string } | undefined {
  const parts = key.split('/');
  if (parts.length !== 2 || !parts[0] || !parts[1]) return undefined;
  return { namespace: parts[0], name: parts[1] };
}

/** Labels every Batch job created by the controller carries (Batch label rules apply to their values). */
export const LABEL_SESSION = 'drmaa2session';
export const LABEL_ACCOUNTING = 'accounting';
export const LABEL_ORIGIN = 'origin';
export const LABEL_NAMESPACE = 'drmaa2-namespace';
export const LABEL_NAME = 'drmaa2-name';
export const LABEL_UID = 'drmaa2-uid';
/** An explicit jobTemplate.jobName (the Batch job ID adds a hash of the namespace to it). */
export const LABEL_JOB_NAME = 'drmaa2-job-name';

/** A DRMAA2 array job: indexes begin, begin+step, ... <= end; each task sees its index as TASK_ID. */
export interface ArraySpec {
  begin: number;
  end: number;
  step?: number;
  maxParallel?: number;
}

export type DeletionPolicy = 'Delete' | 'Orphan';

export interface Drmaa2JobSpec {
  jobTemplate: JobTemplate;
  array?: ArraySpec;
  hold?: boolean;
  terminate?: boolean;
  deletionPolicy?: DeletionPolicy;
  ttlSecondsAfterFinished?: number;
  /** The BatchProfile to submit under; absent: the namespace's default profile (if any). */
  profile?: string;
  /** Whether a failed job's Failed condition carries the last lines of the failed task's output (read from
   * Cloud Logging); default true. A profile's `outputInStatus: false` turns it off for all its jobs. */
  outputInStatus?: boolean;
}

/** The BatchProfile a job was submitted under, as it was then: later changes of the profile do not touch
 * submitted jobs. */
export interface ProfileRef {
  name: string;
  generation?: number;
  /** Where its Batch jobs live, so that later passes (deletion, TTL) find them without the profile. */
  project: string;
  location: string;
  session: string;
  /** The service account impersonated for its Batch calls, when the profile named one: later passes make
   * their calls as the same caller, even once the profile has changed or gone. */
  caller?: ProfileImpersonation;
}

export interface AttemptRecord {
  attempt: number;
  /** The Batch job of that attempt (cancelled). */
  batchJob?: string;
  /** Kueue's reason for the eviction (Preempted, Deactivated, ...) and its message. */
  reason: string;
  message?: string;
  /** When the attempt's Batch job had ended and the job went back to the queue. */
  requeuedAt: string;
}

export interface LogsRef {
  filter: string;
  url: string;
}

export interface BatchJobRef {
  name: string;
  uid?: string;
  /** Set once the Batch job was deleted after ttlSecondsAfterFinished (the status is kept). */
  deleted?: boolean;
}

export interface TaskCounts {
  total: number;
  pending: number;
  running: number;
  succeeded: number;
  failed: number;
}

/** Per-index results of an array job, as index ranges such as `1-3,7`. */
export interface ArrayStatus {
  completedIndexes?: string;
  failedIndexes?: string;
  /** Only when the array falls back to one Batch job per element (elements that are themselves multi-task). */
  jobs?: BatchJobRef[];
}

/** metav1.Condition, of any type (a BatchProfile's Ready, say). */
export interface MetaCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

/** A Drmaa2Job's condition. */
export interface Condition extends MetaCondition {
  type: ConditionType;
}

export type ConditionType = 'Synced' | 'Submitted' | 'Running' | 'Complete' | 'Failed' | 'Finished';

/** The Batch job's state name, or one the controller writes when no Batch state applies:
 * - PENDING_SUBMISSION: not submitted yet (waiting for startTime, or about to be created);
 * - PENDING_ADMISSION: not submitted until Kueue admits its Workload (label kueue.x-k8s.io/queue-name);
 * - HELD: spec.hold is true, nothing submitted (DRMAA2 QueuedHeld);
 * - INVALID_SPEC, JOB_NAME_CONFLICT, BATCH_REJECTED, TERMINATED: Failed without a Batch job (the spec cannot
 *   be translated; the ID belongs to another resource; Batch refused the create; terminated before submission);
 * - BATCH_JOB_LOST: the Batch job disappeared before it finished;
 * - BATCH_JOB_NOT_OWNED: the job the status named is another resource's, and this one has none to follow;
 * - POLICY_VIOLATION, PROFILE_NOT_ALLOWED, NO_PROFILE: Failed without a Batch job, because of its BatchProfile
 *   (a rule broken; the named profile does not select the namespace; none applies where one must). */
export type SubState =
  | BatchJobState
  | 'PENDING_SUBMISSION'
  | 'PENDING_ADMISSION'
  | 'HELD'
  | 'INVALID_SPEC'
  | 'JOB_NAME_CONFLICT'
  | 'BATCH_REJECTED'
  | 'BATCH_JOB_LOST'
  | 'TERMINATED'
  | 'BATCH_JOB_NOT_OWNED'
  | 'POLICY_VIOLATION'
  | 'PROFILE_NOT_ALLOWED'
  | 'NO_PROFILE';

export interface Drmaa2JobStatus {
  observedGeneration?: number;
  state?: JobState;
  subState?: SubState;
  /** Why the job is in its state, where that needs saying (waiting, failed): the explaining condition's
   * message, bounded. */
  message?: string;
  batchJob?: BatchJobRef;
  tasks?: TaskCounts;
  array?: ArrayStatus;
  jobInfo?: JobInfo;
  /** The profile the job was submitted under. */
  profile?: ProfileRef;
  /** How often Batch preempted the job's Spot VMs under its tasks (exit code 50001), as far as seen. */
  preemptions?: number;
  /** When the resource was first seen in a terminal state; the TTL counts from here. */
  finishedAt?: string;
  /** Kueue's admissions of the job taken back (eviction, preemption) so far: the attempt a Batch job is
   * submitted for next (0 at first). */
  attempt?: number;
  /** One record per attempt Kueue took back, oldest first (at most 20 kept). */
  attempts?: AttemptRecord[];
  /** Where the tasks' output is: the Cloud Logging filter of the job's task logs and the console link to
   * it (absent when the template writes its output to outputPath instead). */
  logs?: LogsRef;
  conditions?: Condition[];
}

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface Drmaa2Job {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: ObjectMeta;
  spec: Drmaa2JobSpec;
  status?: Drmaa2JobStatus;
  /** Never stored in the API: set on a cached copy whose spec.jobTemplate lacks its large free text
   * (remoteCommand, args, maps, extensions). A pass that translates the template reads the whole resource. */
  templateElided?: true;
}
