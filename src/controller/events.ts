// The Kubernetes Events a status change is worth: one per transition (submitted, running, ended), never
// one per pass. Notes carry condition messages, which never contain secret values.
import type { Drmaa2JobStatus } from '../api/drmaa2job.js';
import type { JobEvent } from '../ports/eventSink.js';
import { conditionOf, isTrue } from '../translate/conditions.js';

/** Event reasons for a Failed condition reason; Failed is the default. */
const FAILED_EVENT: Record<string, string> = {
  Cancelled: 'Cancelled',
  Terminated: 'Cancelled',
  InvalidSpec: 'InvalidSpec',
  JobNameConflict: 'JobNameConflict',
  BatchRejected: 'BatchRejected',
  BatchJobNotOwned: 'BatchJobNotOwned',
  PolicyViolation: 'PolicyViolation',
  ProfileNotAllowed: 'ProfileNotAllowed',
  NoProfile: 'NoProfile',
};

/** Said when the controller refused to act on a Batch job that a resource's status or memory named but
 * whose labels name another resource. */
export function batchJobNotOwnedEvent(names: string[], what: string): JobEvent {
  const shown = names.slice(0, 3).join(', ') + (names.length > 3 ? ` and ${names.length - 3} more` : '');
  return {
    type: 'Warning',
    reason: 'BatchJobNotOwned',
    action: 'Guard',
    note: `Batch job ${shown} is not this resource's (labels drmaa2-uid, drmaa2-namespace): ${what}`.slice(
      0,
      1000,
    ),
  };
}

/** Batch cannot hold a job it has accepted: said once per generation that sets spec.hold afterwards. */
export const HOLD_IGNORED: JobEvent = {
  type: 'Warning',
  reason: 'HoldIgnored',
  action: 'Hold',
  note: 'spec.hold has no effect once the job is submitted: Batch cannot hold a submitted job; set spec.terminate to stop it',
};

function stateEvent(after: Drmaa2JobStatus): JobEvent | undefined {
  const batchJob = after.batchJob?.name ?? '';
  switch (after.state) {
    case 'QueuedHeld':
      return { type: 'Normal', reason: 'Held', action: 'Hold', note: 'spec.hold is true: not submitted' };
    case 'Running':
      return {
        type: 'Normal',
        reason: 'Running',
        action: 'Observe',
        note: `Batch job ${batchJob} is running`,
      };
    case 'Done':
      return {
        type: 'Normal',
        reason: 'Completed',
        action: 'Observe',
        note: `Batch job ${batchJob} succeeded`,
      };
    case 'Failed': {
      const failed = conditionOf(after.conditions, 'Failed');
      const reason = FAILED_EVENT[failed?.reason ?? ''] ?? 'Failed';
      return {
        type: 'Warning',
        reason,
        action: 'Observe',
        note: (failed?.message ?? 'The job failed').slice(0, 1000),
      };
    }
    default:
      return undefined;
  }
}

/** The events for the change from `before` to `after`, in order. */
export function transitionEvents(before: Drmaa2JobStatus | undefined, after: Drmaa2JobStatus): JobEvent[] {
  const events: JobEvent[] = [];
  if (isTrue(after.conditions, 'Submitted') && !isTrue(before?.conditions, 'Submitted')) {
    const submitted = conditionOf(after.conditions, 'Submitted');
    const under = after.profile ? ` (BatchProfile ${after.profile.name})` : '';
    events.push({
      type: 'Normal',
      reason: 'Submitted',
      action: 'Submit',
      note: `${submitted?.message ?? ''}${under}`,
    });
  }
  const guarded = after.subState === 'BATCH_JOB_NOT_OWNED' && before?.subState !== 'BATCH_JOB_NOT_OWNED';
  if (before?.state !== after.state || guarded) {
    const event = stateEvent(after);
    if (event) events.push(event);
  }
  return events;
}
