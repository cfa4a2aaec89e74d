// The Google Batch v1 resources as plain data, in the pure core's form: field names as the client's
// camelCase, int64 fields as numbers, Durations as strings of seconds (`"1800s"`), Timestamps as RFC 3339
// strings, enums as their names. The Batch adapter converts to and from the client's wire form.

export type BatchJobState =
  | 'STATE_UNSPECIFIED'
  | 'QUEUED'
  | 'SCHEDULED'
  | 'RUNNING'
  | 'SUCCEEDED'
  | 'FAILED'
  | 'DELETION_IN_PROGRESS'
  | 'CANCELLATION_IN_PROGRESS'
  | 'CANCELLED';

export const BATCH_JOB_STATES: readonly BatchJobState[] = [
  'STATE_UNSPECIFIED',
  'QUEUED',
  'SCHEDULED',
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'DELETION_IN_PROGRESS',
  'CANCELLATION_IN_PROGRESS',
  'CANCELLED',
];

/** States in which a Batch job can still change (the poller lists the running ones of them). A job being cancelled or
 * deleted is still on its way somewhere. */
export const ACTIVE_JOB_STATES: readonly BatchJobState[] = [
  'STATE_UNSPECIFIED',
  'QUEUED',
  'SCHEDULED',
  'RUNNING',
  'CANCELLATION_IN_PROGRESS',
  'DELETION_IN_PROGRESS',
];

/** States in which Batch accepts a cancel (an unknown state is treated as one that may still run). */
export const CANCELLABLE_JOB_STATES: readonly BatchJobState[] = [
  'STATE_UNSPECIFIED',
  'QUEUED',
  'SCHEDULED',
  'RUNNING',
];

/** The state of a job as Batch reports it; absent means unknown. */
export function stateOf(job: { status?: JobStatus | undefined }): BatchJobState {
  return job.status?.state ?? 'STATE_UNSPECIFIED';
}

export function isActiveJob(job: { status?: JobStatus | undefined }): boolean {
  return ACTIVE_JOB_STATES.includes(stateOf(job));
}

export function isCancellableJob(job: { status?: JobStatus | undefined }): boolean {
  return CANCELLABLE_JOB_STATES.includes(stateOf(job));
}

/** Batch's parent of jobs in one project and region: `projects/{project}/locations/{location}`. */
export function parentOf(project: string, location: string): string {
  return `projects/${project}/locations/${location}`;
}

/** A job's full resource name from its parent and ID. */
export function jobNameOf(parent: string, jobId: string): string {
  return `${parent}/jobs/${jobId}`;
}

export type BatchTaskState =
  'STATE_UNSPECIFIED' | 'PENDING' | 'ASSIGNED' | 'RUNNING' | 'FAILED' | 'SUCCEEDED' | 'UNEXECUTED';

export type ProvisioningModel =
  'PROVISIONING_MODEL_UNSPECIFIED' | 'STANDARD' | 'SPOT' | 'PREEMPTIBLE' | 'RESERVATION_BOUND' | 'FLEX_START';

export interface Environment {
  variables?: Record<string, string>;
  secretVariables?: Record<string, string>;
  encryptedVariables?: { keyName?: string; cipherText?: string };
}

export interface Container {
  imageUri?: string;
  commands?: string[];
  entrypoint?: string;
  volumes?: string[];
  options?: string;
  blockExternalNetwork?: boolean;
  username?: string;
  password?: string;
  enableImageStreaming?: boolean;
}

export interface Script {
  path?: string;
  text?: string;
}

export interface Barrier {
  name?: string;
}

/** Exactly one of container, script, barrier. */
export interface Runnable {
  container?: Container;
  script?: Script;
  barrier?: Barrier;
  displayName?: string;
  ignoreExitStatus?: boolean;
  background?: boolean;
  alwaysRun?: boolean;
  environment?: Environment;
  timeout?: string;
  labels?: Record<string, string>;
}

export interface ComputeResource {
  cpuMilli?: number;
  memoryMib?: number;
  bootDiskMib?: number;
}

export interface LifecyclePolicy {
  action?: 'ACTION_UNSPECIFIED' | 'RETRY_TASK' | 'FAIL_TASK';
  actionCondition?: { exitCodes?: number[] };
}

export interface Volume {
  nfs?: { server?: string; remotePath?: string };
  gcs?: { remotePath?: string };
  deviceName?: string;
  mountPath?: string;
  mountOptions?: string[];
}

export interface TaskSpec {
  runnables?: Runnable[];
  computeResource?: ComputeResource;
  maxRunDuration?: string;
  maxRetryCount?: number;
  lifecyclePolicies?: LifecyclePolicy[];
  environment?: Environment;
  volumes?: Volume[];
}

export interface TaskGroup {
  name?: string;
  taskSpec?: TaskSpec;
  taskCount?: number;
  parallelism?: number;
  schedulingPolicy?: 'SCHEDULING_POLICY_UNSPECIFIED' | 'AS_SOON_AS_POSSIBLE' | 'IN_ORDER';
  taskEnvironments?: Environment[];
  taskCountPerNode?: number;
  requireHostsFile?: boolean;
  permissiveSsh?: boolean;
  runAsNonRoot?: boolean;
}

export interface Accelerator {
  type?: string;
  count?: number;
  installGpuDrivers?: boolean;
  driverVersion?: string;
}

export interface InstancePolicy {
  machineType?: string;
  minCpuPlatform?: string;
  provisioningModel?: ProvisioningModel;
  accelerators?: Accelerator[];
  bootDisk?: { image?: string; snapshot?: string; type?: string; sizeGb?: number; diskInterface?: string };
  reservation?: string;
}

export interface InstancePolicyOrTemplate {
  policy?: InstancePolicy;
  instanceTemplate?: string;
  installGpuDrivers?: boolean;
  installOpsAgent?: boolean;
  blockProjectSshKeys?: boolean;
}

export interface AllocationPolicy {
  location?: { allowedLocations?: string[] };
  instances?: InstancePolicyOrTemplate[];
  serviceAccount?: { email?: string; scopes?: string[] };
  labels?: Record<string, string>;
  network?: {
    networkInterfaces?: { network?: string; subnetwork?: string; noExternalIpAddress?: boolean }[];
  };
  placement?: { collocation?: string; maxDistance?: number };
  tags?: string[];
}

export interface LogsPolicy {
  destination?: 'DESTINATION_UNSPECIFIED' | 'CLOUD_LOGGING' | 'PATH';
  logsPath?: string;
}

export interface StatusEvent {
  type?: string;
  description?: string;
  eventTime?: string;
  taskExecution?: { exitCode?: number };
  taskState?: BatchTaskState;
}

export interface TaskGroupStatus {
  counts?: Partial<Record<BatchTaskState, number>>;
  instances?: { machineType?: string; provisioningModel?: ProvisioningModel; taskPack?: number }[];
}

export interface JobStatus {
  state?: BatchJobState;
  statusEvents?: StatusEvent[];
  taskGroups?: Record<string, TaskGroupStatus>;
  runDuration?: string;
}

export interface Job {
  name?: string;
  uid?: string;
  priority?: number;
  taskGroups?: TaskGroup[];
  allocationPolicy?: AllocationPolicy;
  labels?: Record<string, string>;
  status?: JobStatus;
  logsPolicy?: LogsPolicy;
  createTime?: string;
  updateTime?: string;
}

export interface CreateJobRequest {
  parent: string;
  jobId: string;
  requestId?: string;
  job: Job;
}

export interface Task {
  name?: string;
  status?: { state?: BatchTaskState; statusEvents?: StatusEvent[] };
}
