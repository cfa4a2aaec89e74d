// One DRMAA2 JobTemplate -> one Batch CreateJobRequest, field by field as the original Go library built it
// (so templates written for it run the same), with that library's faults fixed and the project's departures:
// safe containers, deterministic IDs, native arrays (see docs/decisions.md).
import { parentOf, type CreateJobRequest, type Environment, type TaskGroup } from '../api/batch.js';
import { CATEGORY_SCRIPT, CATEGORY_SCRIPT_PATH, type JobTemplate } from '../api/drmaa2.js';
import { instanceOf } from './allocation.js';
import { computeOf } from './compute.js';
import { parseExtensions } from './extensions.js';
import { JOB_ID_RULE, batchJobId, requestIdFor, type Owner } from './jobId.js';
import { jobLabels } from './labels.js';
import { MAX_TEMPLATE_COPY } from './limits.js';
import { runnables } from './runnables.js';
import type { SpecError, Warning } from './specError.js';
import { staging } from './staging.js';

export interface RequestContext {
  project: string;
  location: string;
  session: string;
  owner?: Owner;
  now?: Date;
  nonce?: number;
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

export function buildRequest(
  template: JobTemplate,
  ctx: RequestContext,
  path: string,
  array: ArrayPart,
  errors: SpecError[],
  warnings: Warning[],
): BuiltRequest | undefined {
  const before = errors.length;
  const maxSlots = template.maxSlots || 1;
  const minSlots = template.minSlots || 1;
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
  const stage = staging(template.stageInFiles, template.stageOutFiles, isContainer, path, errors);
  const { compute, maxRunDuration } = computeOf(template, machine ?? '', path, errors, warnings);
  const labels = jobLabels(template, ctx, path, errors);
  if (errors.length > before) return undefined;

  const native = array.taskIds;
  const taskCount = native ? native.length : maxSlots;
  const parallelism = native ? Math.min(array.maxParallel ?? taskCount, taskCount) : minSlots;
  const barriers = !native && minSlots === maxSlots;
  const multiNode = !native && minSlots === maxSlots && maxSlots > 1;
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
    requireHostsFile: true,
    permissiveSsh: true,
    ...(native ? { taskEnvironments: native.map((id) => ({ variables: { TASK_ID: String(id) } })) } : {}),
    taskSpec: {
      runnables: runnables(template, ext, barriers, stage.containerVolumes, multiNode, errors, path),
      computeResource: compute,
      ...(maxRunDuration ? { maxRunDuration } : {}),
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
      logsPolicy: template.outputPath
        ? { destination: 'PATH', logsPath: template.outputPath }
        : { destination: 'CLOUD_LOGGING' },
    },
  };
  return { request, buckets: stage.buckets };
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
