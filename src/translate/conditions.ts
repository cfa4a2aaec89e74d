// The resource's conditions as metav1.Condition, with stable, documented reasons. A condition's
// lastTransitionTime moves only when its status flips, as Kubernetes' own controllers do, so that
// `kubectl wait` and dashboards see real transitions rather than every rewrite.
import type { Condition, ConditionType, MetaCondition } from '../api/drmaa2job.js';

/** Every reason the controller writes, by condition type, each with its meaning. The README's resource
 * reference lists this table; reasons are API: they never change meaning once released. */
export const REASONS = {
  Synced: {
    Reconciled: 'The controller handled the latest generation of the resource.',
    BatchUnavailable:
      'A Batch call failed with a transient error (UNAVAILABLE, DEADLINE_EXCEEDED); retried with back-off.',
    BatchQuotaExceeded: 'A Batch call hit the per-region quota (RESOURCE_EXHAUSTED); retried with back-off.',
    BatchError: 'A Batch call failed for another reason (the message names it); retried with back-off.',
    StorageError: 'Making sure a stage-out bucket exists failed; retried with back-off.',
    KubeError: 'A Kubernetes API call failed (e.g. forbidden); retried with back-off.',
    BatchPollFailing:
      "Listing the session's Batch jobs keeps failing (the message says why); the job is read with GetJob meanwhile.",
  },
  Submitted: {
    BatchJobCreated: 'The Batch job exists: created by the controller, or adopted after a retried create.',
    Pending: 'The controller has not created the Batch job yet.',
    Held: 'spec.hold is true: nothing is submitted until it is set to false.',
    WaitingForStartTime: 'spec.jobTemplate.startTime is in the future: the job is submitted at that time.',
    PendingAdmission:
      "Kueue has not admitted the job's Workload (the message names the LocalQueue and says why, in Kueue's words): the job is submitted once it is admitted.",
    InvalidSpec: 'The spec cannot be translated (the message names the field); nothing was submitted.',
    JobNameConflict: 'A Batch job with this job ID exists and belongs to another resource.',
    BatchRejected: 'Batch rejected the job (INVALID_ARGUMENT or FAILED_PRECONDITION); the message says why.',
    Terminated: 'spec.terminate was set before the job was submitted; nothing was submitted.',
    BatchJobNotOwned:
      'The Batch job the status named belongs to another resource; it was not read, cancelled or deleted.',
    PolicyViolation:
      'The spec breaks a rule of its BatchProfile (the message names the field and the rule); nothing was submitted.',
    ProfileNotAllowed:
      "The BatchProfile spec.profile names does not select the job's namespace; nothing was submitted.",
    NoProfile: 'No BatchProfile applies and the controller submits only under one (--require-profile).',
    ProfileNotFound:
      'The BatchProfile spec.profile names does not exist yet: the job is submitted once it does.',
    ProfileAmbiguous: "Several BatchProfiles are defaults for the job's namespace: name one in spec.profile.",
    ProfileInvalid:
      'Its BatchProfile is invalid (the message says why): the job is submitted once it is fixed.',
    ProfilesUnknown: 'The controller has not read the BatchProfiles yet: the job is submitted once it has.',
    QueueRequired:
      'Its BatchProfile sends every job through Kueue and the job names no LocalQueue (label kueue.x-k8s.io/queue-name): it waits for the label.',
  },
  Running: {
    TasksRunning: 'The Batch job is running.',
    NotRunning: 'The Batch job is not running (not yet, or any more).',
  },
  Complete: {
    Succeeded: 'Every task of the Batch job succeeded.',
    NotSucceeded: 'The job has not succeeded (yet).',
  },
  Failed: {
    TasksFailed: 'The Batch job failed; jobInfo.exitStatus carries the exit code of a failed task.',
    Cancelled: 'The Batch job was cancelled by someone other than the controller.',
    Terminated: 'spec.terminate was set: the Batch job was cancelled and the record is kept.',
    InvalidSpec: 'The spec cannot be translated (the message names the field); changing the spec retries.',
    JobNameConflict: 'A Batch job with this job ID exists and belongs to another resource.',
    BatchRejected: 'Batch rejected the job; changing the spec retries.',
    BatchJobLost: 'The Batch job disappeared before it finished.',
    BatchJobNotOwned:
      'The Batch job the status named belongs to another resource; it was not read, cancelled or deleted.',
    PolicyViolation: 'The spec breaks a rule of its BatchProfile; changing the spec retries.',
    ProfileNotAllowed:
      "The named BatchProfile does not select the job's namespace; changing the spec retries.",
    NoProfile: 'No BatchProfile applies (--require-profile); changing the spec retries.',
    NoFailure: 'The job has not failed.',
  },
  Finished: {
    Succeeded: 'The job ended successfully (Complete is True).',
    Failed: 'The job ended in failure (Failed is True and says why).',
    InProgress: 'The job has not ended.',
  },
} as const satisfies Record<ConditionType, Record<string, string>>;

export type Reason<T extends ConditionType> = keyof (typeof REASONS)[T] & string;

export interface UpdateOf<T extends ConditionType> {
  type: T;
  status: 'True' | 'False' | 'Unknown';
  reason: Reason<T>;
  message: string;
}

/** A condition to set: its reason must be one of its type's documented reasons. */
export type ConditionUpdate = { [T in ConditionType]: UpdateOf<T> }[ConditionType];

/** Why the controller could not finish a pass; written as Synced=False while it retries. */
export interface SyncProblem {
  reason: Reason<'Synced'>;
  message: string;
}

/** The order conditions are listed in, so that an unchanged set serialises the same way. */
export const CONDITION_ORDER: readonly ConditionType[] = [
  'Synced',
  'Submitted',
  'Running',
  'Complete',
  'Failed',
  'Finished',
];

/** metav1.Condition limits messages to 32768 characters. */
const MAX_MESSAGE = 32768;

/** metav1.Time: RFC 3339 with whole seconds. */
export function metaTime(now: Date): string {
  return now.toISOString().replace(/\.\d+Z$/, 'Z');
}

/** The condition `update` makes of `previous`: lastTransitionTime is kept while the status stays the same. */
export function nextCondition<C extends MetaCondition>(
  previous: C | undefined,
  update: Pick<C, 'type' | 'status' | 'reason' | 'message'>,
  generation: number | undefined,
  now: Date,
): C {
  return {
    type: update.type,
    status: update.status,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    lastTransitionTime:
      previous && previous.status === update.status ? previous.lastTransitionTime : metaTime(now),
    reason: update.reason,
    message: update.message.slice(0, MAX_MESSAGE),
  } as C;
}

/** The conditions with `update` applied. lastTransitionTime is kept while the status stays the same. */
export function setCondition(
  conditions: readonly Condition[],
  update: ConditionUpdate,
  generation: number | undefined,
  now: Date,
): Condition[] {
  const previous = conditions.find((c) => c.type === update.type);
  const next = nextCondition<Condition>(previous, update, generation, now);
  const others = conditions.filter((c) => c.type !== update.type);
  return [...others, next].sort((a, b) => rank(a.type) - rank(b.type));
}

function rank(type: ConditionType): number {
  const index = CONDITION_ORDER.indexOf(type);
  return index < 0 ? CONDITION_ORDER.length : index;
}

export function conditionOf(
  conditions: readonly Condition[] | undefined,
  type: ConditionType,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** True when the condition of `type` is present with status True. */
export function isTrue(conditions: readonly Condition[] | undefined, type: ConditionType): boolean {
  return conditionOf(conditions, type)?.status === 'True';
}
