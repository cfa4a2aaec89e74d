// DRMAA2 types in their JSON form (the keys the Go drmaa2interface package marshals), so a template written
// for any DRMAA2 implementation applies unchanged and DRMAA2_JOB_TEMPLATE decodes back to the same object.

/** Implementation-specific key/values; values are always strings. */
export interface Extension {
  extensionList?: Record<string, string>;
}

/** A DRMAA2 JobTemplate. Times are RFC 3339 strings. */
export interface JobTemplate {
  remoteCommand?: string;
  args?: string[];
  submitAsHold?: boolean;
  reRunnable?: boolean;
  jobEnvironment?: Record<string, string>;
  workingDirectory?: string;
  jobCategory?: string;
  email?: string[];
  emailOnStarted?: boolean;
  emailOnTerminated?: boolean;
  jobName?: string;
  inputPath?: string;
  outputPath?: string;
  errorPath?: string;
  joinFiles?: boolean;
  reservationID?: string;
  queueName?: string;
  minSlots?: number;
  maxSlots?: number;
  priority?: number;
  candidateMachines?: string[];
  minPhysMemory?: number;
  machineOs?: string;
  machineArch?: string;
  startTime?: string;
  deadlineTime?: string;
  stageInFiles?: Record<string, string>;
  stageOutFiles?: Record<string, string>;
  resourceLimits?: Record<string, string>;
  accountingString?: string;
  extension?: Extension;
}

/** DRMAA2 JobState identifiers, in the order of the DRMAA2 enum (Unset = 0 ... Failed = 9). */
export const JOB_STATES = [
  'Unset',
  'Undetermined',
  'Queued',
  'QueuedHeld',
  'Running',
  'Suspended',
  'Requeued',
  'RequeuedHeld',
  'Done',
  'Failed',
] as const;
export type JobState = (typeof JOB_STATES)[number];

/** DRMAA2 "terminated" states: a job in one of these will not change any more. */
export const TERMINAL_STATES: readonly JobState[] = ['Done', 'Failed'];

/** A DRMAA2 JobInfo as written into a resource's status: state as identifier, times RFC 3339,
 * wallclockTime as a duration string (`"1h2m3s"`, Go's time.Duration form). */
export interface JobInfo {
  id?: string;
  exitStatus?: number;
  terminationSignal?: string;
  annotation?: string;
  state?: JobState;
  subState?: string;
  allocatedMachines?: string[];
  submissionMachine?: string;
  jobOwner?: string;
  slots?: number;
  queueName?: string;
  wallclockTime?: string;
  cpuTime?: number;
  submissionTime?: string;
  dispatchTime?: string;
  finishTime?: string;
  extension?: Extension;
}

/** DRMAA2 job control actions. */
export type JobControlAction = 'terminate' | 'suspend' | 'resume' | 'hold' | 'release';

/** Job categories that select a Batch script runnable instead of a container image. */
export const CATEGORY_SCRIPT = '$script$';
export const CATEGORY_SCRIPT_PATH = '$scriptpath$';
