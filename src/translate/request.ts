// One DRMAA2 JobTemplate -> one Batch CreateJobRequest, field by field as the original Go library built it
// (so templates written for it run the same), with that library's faults fixed and the project's departures:
// safe containers, deterministic IDs, native arrays (see docs/decisions.md).
import { parentOf, type CreateJobRequest, type Environment, type TaskGroup } from '../api/batch.js';
import { CATEGORY_SCRIPT, CATEGORY_SCRIPT_PATH, type JobTemplate } from '../api/drmaa2.js';
import { instanceOf, preemptionRetries } from './allocation.js';
import { computeOf } from './compute.js';
import { parseExtensions, type Extensions } from './extensions.js';
import { JOB_ID_RULE, batchJobId, requestIdFor, type Owner } from './jobId.js';
import { jobLabels } from './labels.js';
import { BATCH_MAX_HOSTS_FILE_VMS, BATCH_MAX_PARALLEL_TASKS, MAX_TEMPLATE_COPY } from './limits.js';
import { runnables } from './runnables.js';
import type { SpecError, Warning } from './specError.js';
import { staging, type StagingUse } from './staging.js';

export interface RequestContext {
  project: string;
  location: string;
  session: string;
  owner?: Owner;
  now?: Date;
  nonce?: number;
  /** See IdContext.attempt. */
  attempt?: number;
}

export interface ArrayPart {
  /** Native array: one task per index, TASK_ID in taskEnvironments. */
  taskIds?: number[];
  maxParallel?: number;
  /** Per-element fallback: this element's index. */
  elementIndex?: number;
}

export interface BuiltRequest {
  request: CreateJobRequest;
  buckets: string[];
  /** What the template asks of the VM beyond its request's fields, for a BatchProfile's rules. */
  facts: RequestFacts;
}

export interface RequestFacts {
  ext: Extensions;
  /** The main runnable is a container (not $script$ / $scriptpath$). */
  container: boolean;
  /** The tasks get host namespaces, --privileged and the VM's ssh keys (see runnables.ts). */
  multiNode: boolean;
  staging: StagingUse[];
}

const UNSUPPORTED: [keyof JobTemplate, string][] = [
  ['submitAsHold', 'use spec.hold instead'],
  ['reRunnable', 'Batch retries are set with maxRetryCount, not reRunnable'],
  ['workingDirectory', 'Batch has no working directory setting'],
  ['email', 'Batch sends no e-mail'],
  ['emailOnStarted', 'Batch sends no e-mail'],
  ['emailOnTerminated', 'Batch sends no e-mail'],
  ['inputPath', 'Batch has no stdin redirection'],
  ['errorPath', 'Batch logs stdout and stderr together'],
  ['joinFiles', 'Batch logs stdout and stderr together'],
  ['queueName', 'Google Batch has no queues'],
  ['machineOs', 'the OS comes from the boot image'],
  ['deadlineTime', 'use resourceLimits.runtime for a run-time limit'],
];

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** The checks the original library made (minSlots <= maxSlots, a jobCategory, a machine, errorPath equal to
 * outputPath) plus Batch's own job ID and priority rules, each as an error naming its field. */
function checkTemplate(template: JobTemplate, path: string, errors: SpecError[]): void {
  const maxSlots = template.maxSlots || 1;
  const minSlots = template.minSlots || 1;
  if (minSlots > maxSlots)
    errors.push({
      path: `${path}.minSlots`,
      message: `minSlots (${minSlots}) must not exceed maxSlots (${maxSlots})`,
    });
  if (!template.jobCategory)
    errors.push({
      path: `${path}.jobCategory`,
      message: 'required: a container image, $script$ or $scriptpath$',
    });
  if (!template.candidateMachines?.[0])
    errors.push({
      path: `${path}.candidateMachines`,
      message: 'required: [0] is the machine type or template:<instance-template>',
    });
  if (template.outputPath && template.errorPath && template.outputPath !== template.errorPath) {
    errors.push({
      path: `${path}.errorPath`,
      message: 'must equal outputPath (Batch logs stdout and stderr together)',
    });
  }
  // An empty jobName is unset (an ID is generated), as in the original library.
  if (template.jobName && !JOB_ID_RULE.test(template.jobName)) {
    errors.push({
      path: `${path}.jobName`,
      message:
        'must be 1-63 characters of lowercase letters, digits and -, start with a letter and not end with -',
    });
  }
  if (template.priority !== undefined && (template.priority < 0 || template.priority > 99)) {
    errors.push({ path: `${path}.priority`, message: 'must be between 0 and 99' });
  }
}

/** Fields with no Batch counterpart are reported, never silently dropped. */
function warnUnsupported(template: JobTemplate, path: string, warnings: Warning[]): void {
  for (const [field, why] of UNSUPPORTED) {
    const value = template[field];
    if (
      value !== undefined &&
      value !== false &&
      value !== '' &&
      !(Array.isArray(value) && value.length === 0)
    ) {
      warnings.push({ path: `${path}.${field}`, message: `not supported by Google Batch: ${why}` });
    }
  }
  if ((template.candidateMachines?.length ?? 0) > 1) {
    warnings.push({
      path: `${path}.candidateMachines`,
      message: 'only the first machine is used by Google Batch',
    });
  }
}

interface GroupShape {
  taskCount: number;
  parallelism: number;
  /** minSlots == maxSlots > 1 outside native arrays: every task at once, each knowing its peers (MPI). */
  multiNode: boolean;
}

/**
 * Task count and parallelism inside Batch's job limits. A multi-node job's tasks must all run at once and
 * find each other in the hosts file, and minSlots asks for that many tasks at once: beyond Batch's limits
 * neither can be had, so they are errors. maxParallel is only a ceiling, which a lower parallelism still
 * keeps: it is lowered to Batch's limit, which delays tasks and never changes what they compute.
 */
function groupShape(
  template: JobTemplate,
  array: ArrayPart,
  tasksPerNode: number,
  path: string,
  errors: SpecError[],
  warnings: Warning[],
): GroupShape {
  const maxSlots = template.maxSlots || 1;
  const minSlots = template.minSlots || 1;
  const native = array.taskIds;
  if (native) {
    const taskCount = native.length;
    const wanted = Math.min(array.maxParallel ?? taskCount, taskCount);
    if (wanted > BATCH_MAX_PARALLEL_TASKS) {
      // The translation is given the template's path; the array sits beside the template.
      const arrayPath = `${path.replace(/\.jobTemplate$/, '')}.array`;
      warnings.push({
        path: array.maxParallel !== undefined ? `${arrayPath}.maxParallel` : arrayPath,
        message: `at most ${BATCH_MAX_PARALLEL_TASKS} of the ${taskCount} tasks run at once (Batch's limit of parallel tasks per job); the others wait for a free place`,
      });
    }
    return { taskCount, parallelism: Math.min(wanted, BATCH_MAX_PARALLEL_TASKS), multiNode: false };
  }
  const multiNode = minSlots === maxSlots && maxSlots > 1;
  if (multiNode) {
    const vms = Math.ceil(maxSlots / tasksPerNode);
    if (vms > BATCH_MAX_HOSTS_FILE_VMS)
      errors.push({
        path: `${path}.maxSlots`,
        message: `a multi-node job (minSlots == maxSlots) lists its VMs in Batch's hosts file, which holds at most ${BATCH_MAX_HOSTS_FILE_VMS}: ${maxSlots} tasks at ${tasksPerNode} per node (tasks_per_node) need ${vms}`,
      });
    else if (maxSlots > BATCH_MAX_PARALLEL_TASKS)
      errors.push({
        path: `${path}.maxSlots`,
        message: `a multi-node job (minSlots == maxSlots) runs all its tasks at once: at most ${BATCH_MAX_PARALLEL_TASKS} (Batch's limit of parallel tasks per job), got ${maxSlots}`,
      });
  } else if (minSlots > BATCH_MAX_PARALLEL_TASKS) {
    errors.push({
      path: `${path}.minSlots`,
      message: `asks for ${minSlots} tasks at once; Batch runs at most ${BATCH_MAX_PARALLEL_TASKS} tasks of a job at once`,
    });
  }
  return { taskCount: maxSlots, parallelism: minSlots, multiNode };
}

export function buildRequest(
  template: JobTemplate,
  ctx: RequestContext,
  path: string,
  array: ArrayPart,
  errors: SpecError[],
  warnings: Warning[],
): BuiltRequest | undefined {
  const before = errors.length;
  const machine = template.candidateMachines?.[0];
  checkTemplate(template, path, errors);
  warnUnsupported(template, path, warnings);
  const ext = parseExtensions(
    template.extension?.extensionList,
    `${path}.extension.extensionList`,
    errors,
    warnings,
  );
  const isContainer =
    Boolean(template.jobCategory) &&
    template.jobCategory !== CATEGORY_SCRIPT &&
    template.jobCategory !== CATEGORY_SCRIPT_PATH;
  const stage = staging(template, isContainer, path, errors, warnings);
  const { compute, maxRunDuration } = computeOf(template, machine ?? '', path, errors, warnings);
  const labels = jobLabels(template, ctx, path, errors);
  const { taskCount, parallelism, multiNode } = groupShape(
    template,
    array,
    ext.tasksPerNode,
    path,
    errors,
    warnings,
  );
  if (errors.length > before) return undefined;

  const native = array.taskIds;
  const jobId = batchJobId(template, ctx, array.elementIndex);
  const copy = base64(JSON.stringify(template));
  const variables: Record<string, string> = {
    ...(template.jobEnvironment ?? {}),
    ...(array.elementIndex !== undefined ? { TASK_ID: String(array.elementIndex) } : {}),
    ...(copy.length <= MAX_TEMPLATE_COPY ? { DRMAA2_JOB_TEMPLATE: copy } : {}),
  };
  if (copy.length > MAX_TEMPLATE_COPY) {
    warnings.push({
      path,
      message: `the template is too large to travel with the job in DRMAA2_JOB_TEMPLATE (${copy.length} base64 characters, at most ${MAX_TEMPLATE_COPY}): JobInfo and the JobTracker cannot return it from Batch`,
    });
  }
  const environment: Environment = {
    variables,
    ...(ext.secretEnv ? { secretVariables: ext.secretEnv } : {}),
  };
  const group: TaskGroup = {
    taskCount,
    parallelism,
    taskCountPerNode: ext.tasksPerNode,
    // The hosts file and passwordless ssh between the VMs are what MPI over ssh needs; other jobs' tasks
    // never meet, and a VM open to its neighbours is more than they need.
    ...(multiNode ? { requireHostsFile: true, permissiveSsh: true } : {}),
    ...(native ? { taskEnvironments: native.map((id) => ({ variables: { TASK_ID: String(id) } })) } : {}),
    taskSpec: {
      runnables: runnables(template, ext, stage.containerVolumes, multiNode, errors, path),
      computeResource: compute,
      ...(maxRunDuration ? { maxRunDuration } : {}),
      ...preemptionRetries(machine!, ext, path, warnings),
      environment,
      ...(stage.volumes.length ? { volumes: stage.volumes } : {}),
    },
  };
  if (errors.length > before) return undefined;
  const instance = instanceOf(machine!, template, ext, path, errors, warnings);
  if (errors.length > before) return undefined;
  const request: CreateJobRequest = {
    parent: parentOf(ctx.project, ctx.location),
    jobId,
    ...(ctx.owner ? { requestId: requestIdFor(ctx.owner.uid, jobId) } : {}),
    job: {
      ...(template.priority ? { priority: template.priority } : {}),
      taskGroups: [group],
      allocationPolicy: { instances: [instance], labels: { ...labels } },
      labels,
      logsPolicy: stage.logsPath
        ? { destination: 'PATH', logsPath: stage.logsPath }
        : { destination: 'CLOUD_LOGGING' },
    },
  };
  return {
    request,
    buckets: stage.buckets,
    facts: { ext, container: isContainer, multiNode, staging: stage.uses },
  };
}

/** Another element of a per-element array, from the request built for its first element: a new ID, request
 * ID and TASK_ID; everything else (runnables, volumes, the template copy) is shared, not rebuilt. */
export function elementRequest(
  first: BuiltRequest,
  template: JobTemplate,
  ctx: RequestContext,
  elementIndex: number,
): BuiltRequest {
  const jobId = batchJobId(template, ctx, elementIndex);
  const job = first.request.job;
  const group = job.taskGroups![0]!;
  const taskSpec = group.taskSpec!;
  const environment = taskSpec.environment!;
  return {
    buckets: first.buckets,
    facts: first.facts,
    request: {
      ...first.request,
      jobId,
      ...(ctx.owner ? { requestId: requestIdFor(ctx.owner.uid, jobId) } : {}),
      job: {
        ...job,
        taskGroups: [
          {
            ...group,
            taskSpec: {
              ...taskSpec,
              environment: {
                ...environment,
                variables: { ...environment.variables, TASK_ID: String(elementIndex) },
              },
            },
          },
        ],
      },
    },
  };
}
