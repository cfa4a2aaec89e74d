// What the real Batch API rejects at CreateJob, with the status codes it answers (job-ID and label rules,
// task-group counts, barriers, request IDs, and the job limits of cloud.google.com/batch/quotas).
import type { Job, Runnable, TaskGroup } from '../api/batch.js';
import { invalid } from './apiError.js';

/** cloud.google.com/batch/quotas, "Parallel tasks per job"; TaskGroup.parallelism defaults to
 * min(task_count, this limit) (v1 job.proto). */
export const MAX_PARALLEL_TASKS = 5000;
/** TaskGroup.require_hosts_file: "The host file supports up to 1000 VMs" (v1 job.proto). */
export const MAX_HOSTS_FILE_VMS = 1000;
/** cloud.google.com/batch/quotas, "Size of the job definition: 1 MB", roughly a jobs.create REST request. */
export const MAX_JOB_DEFINITION_BYTES = 1_000_000;

/** How CreateJob treats a job over a limit whose enforcement no public source shows (docs/batch-fidelity.md,
 * open questions). */
export interface LimitOptions {
  /** An explicit parallelism over 5,000: refused (default) or lowered to 5,000. */
  parallelism?: 'reject' | 'cap';
  /** A hosts file of more than 1,000 VMs: refused (default) or accepted. */
  hostsFile?: 'reject' | 'accept';
  /** The largest job definition accepted, as the JSON of the job; 1,000,000 by default. */
  jobDefinitionBytes?: number;
}

/** The parallelism Batch runs a group with: as given, else min(task_count, 5,000); capped when asked to. */
export function effectiveParallelism(group: TaskGroup, taskCount: number, limits: LimitOptions = {}): number {
  const parallelism = group.parallelism || Math.min(taskCount, MAX_PARALLEL_TASKS);
  return limits.parallelism === 'cap' ? Math.min(parallelism, MAX_PARALLEL_TASKS) : parallelism;
}

const JOB_ID = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
const PARENT = /^projects\/[^/]+\/locations\/[^/]+$/;
const PROVISIONING = new Set(['STANDARD', 'SPOT', 'PREEMPTIBLE', 'RESERVATION_BOUND', 'FLEX_START']);
const MAX_TASKS = 100_000;

export function validateParent(parent: string): void {
  if (!PARENT.test(parent))
    throw invalid(`parent must be projects/{project}/locations/{location}, got ${JSON.stringify(parent)}`);
}

export function validateJobId(jobId: string): void {
  if (!JOB_ID.test(jobId)) {
    throw invalid(
      `job_id ${JSON.stringify(jobId)} is invalid: it must be 1-63 characters, start with a lowercase letter, contain only lowercase letters, digits and hyphens, and not end with a hyphen`,
    );
  }
}

export function validateRequestId(requestId: string): void {
  if (requestId === '') return;
  if (!UUID.test(requestId) || requestId === ZERO_UUID) {
    throw invalid(
      `request_id must be a valid UUID other than the zero UUID, got ${JSON.stringify(requestId)}`,
    );
  }
}

export function validateLabels(labels: Record<string, string> | undefined, field: string): void {
  const entries = Object.entries(labels ?? {});
  if (entries.length > 64) throw invalid(`${field}: at most 64 labels are allowed, got ${entries.length}`);
  for (const [key, value] of entries) {
    if (!LABEL_KEY.test(key)) throw invalid(`${field}: invalid label key ${JSON.stringify(key)}`);
    if (!LABEL_VALUE.test(value))
      throw invalid(`${field}: invalid value ${JSON.stringify(value)} for label ${key}`);
  }
}

function validateRunnable(runnable: Runnable, path: string): void {
  const kinds = [runnable.container, runnable.script, runnable.barrier].filter((r) => r !== undefined).length;
  if (kinds !== 1) throw invalid(`${path}: a runnable must have exactly one of container, script or barrier`);
  if (runnable.container && !runnable.container.imageUri)
    throw invalid(`${path}.container.image_uri is required`);
  if (runnable.script && !runnable.script.text && !runnable.script.path) {
    throw invalid(`${path}.script must have text or path`);
  }
  validateLabels(runnable.labels, `${path}.labels`);
}

function validateTaskGroup(group: TaskGroup, limits: LimitOptions): void {
  const spec = group.taskSpec;
  if (!spec) throw invalid('job.task_groups[0].task_spec is required');
  const runnables = spec.runnables ?? [];
  if (runnables.length === 0) throw invalid('job.task_groups[0].task_spec.runnables must not be empty');
  runnables.forEach((r, i) => validateRunnable(r, `job.task_groups[0].task_spec.runnables[${i}]`));
  const taskCount = group.taskEnvironments?.length || group.taskCount || 1;
  if (taskCount < 1 || taskCount > MAX_TASKS) {
    throw invalid(
      `job.task_groups[0].task_count must be between 1 and ${MAX_TASKS} (tasks per task group), got ${taskCount}`,
    );
  }
  if (limits.parallelism !== 'cap' && (group.parallelism ?? 0) > MAX_PARALLEL_TASKS) {
    throw invalid(
      `job.task_groups[0].parallelism (${group.parallelism}) is over the limit of ${MAX_PARALLEL_TASKS} parallel tasks per job`,
    );
  }
  const parallelism = effectiveParallelism(group, taskCount, limits);
  if (parallelism < 1) throw invalid('parallelism must be positive');
  if (parallelism > taskCount) {
    throw invalid(`parallelism (${parallelism}) must not be greater than task_count (${taskCount})`);
  }
  if (runnables.some((r) => r.barrier) && parallelism !== taskCount) {
    throw invalid('barriers require parallelism to equal task_count, so that all tasks run at the same time');
  }
  if (group.schedulingPolicy === 'IN_ORDER' && parallelism !== 1) {
    throw invalid('parallelism must be 1 with scheduling_policy IN_ORDER');
  }
  // The VMs that run the group at once, each listed in the hosts file.
  const vms = Math.ceil(parallelism / Math.max(1, group.taskCountPerNode ?? 1));
  if (group.requireHostsFile && vms > MAX_HOSTS_FILE_VMS && limits.hostsFile !== 'accept') {
    throw invalid(
      `job.task_groups[0].require_hosts_file: the hosts file supports up to ${MAX_HOSTS_FILE_VMS} VMs, this task group runs on ${vms}`,
    );
  }
  const retries = spec.maxRetryCount ?? 0;
  if (retries < 0 || retries > 10) throw invalid(`max_retry_count must be between 0 and 10, got ${retries}`);
  if (spec.maxRunDuration !== undefined && !/^\d+(\.\d+)?s$/.test(spec.maxRunDuration)) {
    throw invalid(`task_spec.max_run_duration must be a positive duration, got ${spec.maxRunDuration}`);
  }
  const cpu = spec.computeResource?.cpuMilli ?? 0;
  if (cpu < 0) throw invalid('compute_resource.cpu_milli must not be negative');
}

export function validateJob(job: Job, limits: LimitOptions = {}): void {
  const bytes = Buffer.byteLength(JSON.stringify(job), 'utf8');
  const maxBytes = limits.jobDefinitionBytes ?? MAX_JOB_DEFINITION_BYTES;
  if (bytes > maxBytes) {
    throw invalid(`job: the job definition is ${bytes} bytes, over the limit of ${maxBytes} bytes (1 MB)`);
  }
  const groups = job.taskGroups ?? [];
  if (groups.length !== 1) throw invalid(`a job must have exactly one task group, got ${groups.length}`);
  validateTaskGroup(groups[0]!, limits);
  const priority = job.priority ?? 0;
  if (priority < 0 || priority > 99) throw invalid(`priority must be between 0 and 99, got ${priority}`);
  validateLabels(job.labels, 'job.labels');
  validateLabels(job.allocationPolicy?.labels, 'job.allocation_policy.labels');
  for (const [i, instance] of (job.allocationPolicy?.instances ?? []).entries()) {
    const model = instance.policy?.provisioningModel;
    if (model !== undefined && !PROVISIONING.has(model)) {
      throw invalid(
        `job.allocation_policy.instances[${i}].policy.provisioning_model: unknown value ${model}`,
      );
    }
  }
  if (job.logsPolicy?.destination === 'PATH' && !job.logsPolicy.logsPath) {
    throw invalid('logs_policy.logs_path is required when destination is PATH');
  }
}
