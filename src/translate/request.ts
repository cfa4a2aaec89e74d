// One DRMAA2 JobTemplate -> one Batch CreateJobRequest (spec/seed-behavior.md §2), with the original
// library's faults fixed and the project's departures (safe containers, deterministic IDs).
import type { CreateJobRequest, Environment, Runnable, TaskGroup } from '../api/batch.js';
import { CATEGORY_SCRIPT, CATEGORY_SCRIPT_PATH, type JobTemplate } from '../api/drmaa2.js';
import {
  LABEL_ACCOUNTING,
  LABEL_NAME,
  LABEL_NAMESPACE,
  LABEL_ORIGIN,
  LABEL_SESSION,
  LABEL_UID,
} from '../api/drmaa2job.js';
import { instanceOf } from './allocation.js';
import { parseGoDuration } from './duration.js';
import { parseExtensions, type Extensions } from './extensions.js';
import { JOB_ID_RULE, batchJobId, requestIdFor, type Owner } from './jobId.js';
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

const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;
const SHEBANG_ONLY = '#!/bin/sh\n';
const HOST_MOUNTS = [
  '/etc/cloudbatch-taskgroup-hosts:/etc/cloudbatch-taskgroup-hosts',
  '/etc/ssh:/etc/ssh',
  '/root/.ssh:/root/.ssh',
];
const HOST_OPTIONS = '--network=host --ipc=host --pid=host --privileged --uts=host';
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

/**
 * Default cpuMilli: one task fills one VM. Machine types are family-series-vCPUs[-suffix]
 * (`c3-standard-8-lssd`) or family-custom-vCPUs-memory (`n2-custom-4-8192`); the vCPU count is the third
 * piece, not the last one. Shared-core and unknown names get 2000.
 */
export function defaultCpuMilli(machine: string): number {
  const pieces = machine.split('-');
  const vcpus = pieces[0] === 'custom' ? pieces[1] : pieces[2];
  return vcpus !== undefined && /^[1-9]\d{0,5}$/.test(vcpus) ? Number(vcpus) * 1000 : 2000;
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** Batch Duration text of a number of seconds, without float noise ("1.5s", "900s"). */
function protoDuration(seconds: number): string {
  return `${Number(seconds.toFixed(9))}s`;
}

function runnables(
  template: JobTemplate,
  ext: Extensions,
  barriers: boolean,
  containerVolumes: string[],
  multiNode: boolean,
  errors: SpecError[],
  path: string,
): Runnable[] {
  const category = template.jobCategory!;
  const command = template.remoteCommand ?? '';
  let main: Runnable;
  if (category === CATEGORY_SCRIPT_PATH) main = { script: { path: command } };
  else if (category === CATEGORY_SCRIPT) main = { script: { text: command } };
  else {
    const options: string[] = [];
    if (multiNode) options.push(HOST_OPTIONS);
    const gpus = ext.accelerator && ext.accelerator.type.startsWith('nvidia') ? ext.accelerator.count : 0;
    if (gpus > 0) {
      options.push(
        '--gpus all --device /dev/nvidiactl --device /dev/nvidia-uvm --device /dev/nvidia-uvm-tools',
      );
      for (let i = 0; i < gpus; i++) options.push(`--device /dev/nvidia${i}`);
    }
    const volumes = [...(multiNode ? HOST_MOUNTS : []), ...containerVolumes];
    main = {
      container: {
        imageUri: category,
        ...(command ? { entrypoint: command } : {}),
        commands: [...(template.args ?? [])],
        ...(volumes.length ? { volumes } : {}),
        ...(ext.dockerOptions !== undefined
          ? { options: ext.dockerOptions }
          : options.length
            ? { options: options.join(' ') }
            : {}),
      },
    };
  }
  if (ext.dockerOptions !== undefined && !main.container) {
    errors.push({
      path: `${path}.extension.extensionList.docker_options`,
      message: 'docker options need a container image as jobCategory',
    });
  }
  const prolog: Runnable = { script: { text: ext.prolog ?? SHEBANG_ONLY } };
  const list: Runnable[] = barriers
    ? [
        { barrier: { name: 'before_job_barrier' } },
        prolog,
        { barrier: { name: 'after_prolog_barrier' } },
        main,
      ]
    : [prolog, main];
  if (ext.epilog) {
    if (barriers) list.push({ barrier: { name: 'after_job_barrier' }, ignoreExitStatus: true });
    list.push({ script: { text: ext.epilog }, alwaysRun: true });
  }
  return list;
}

function labels(
  template: JobTemplate,
  ctx: RequestContext,
  path: string,
  errors: SpecError[],
): Record<string, string> {
  const accounting = template.accountingString ?? '';
  if (!LABEL_VALUE.test(accounting)) {
    errors.push({
      path: `${path}.accountingString`,
      message: `must be a Batch label value (lowercase letters, digits, _ and -, at most 63), got ${JSON.stringify(accounting)}`,
    });
  }
  if (!LABEL_VALUE.test(ctx.session))
    errors.push({ path: 'session', message: `invalid session label value ${JSON.stringify(ctx.session)}` });
  const out: Record<string, string> = {
    [LABEL_ORIGIN]: 'drmaa2-batch-controller',
    [LABEL_SESSION]: ctx.session,
    [LABEL_ACCOUNTING]: accounting,
  };
  if (ctx.owner) {
    const fit = (v: string) =>
      v
        .toLowerCase()
        .replace(/[^a-z0-9_-]/g, '-')
        .slice(0, 63);
    out[LABEL_NAMESPACE] = fit(ctx.owner.namespace);
    out[LABEL_NAME] = fit(ctx.owner.name);
    out[LABEL_UID] = fit(ctx.owner.uid);
  }
  return out;
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
  const machine = template.candidateMachines?.[0];
  if (!machine)
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
  if (template.jobName !== undefined && !JOB_ID_RULE.test(template.jobName)) {
    errors.push({
      path: `${path}.jobName`,
      message:
        'must be 1-63 characters of lowercase letters, digits and -, start with a letter and not end with -',
    });
  }
  if (template.priority !== undefined && (template.priority < 0 || template.priority > 99)) {
    errors.push({ path: `${path}.priority`, message: 'must be between 0 and 99' });
  }
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
  const compute = {
    cpuMilli: defaultCpuMilli(machine ?? ''),
    bootDiskMib: 51200,
    ...(template.minPhysMemory ? { memoryMib: template.minPhysMemory } : {}),
  };
  let maxRunDuration: string | undefined;
  for (const [key, value] of Object.entries(template.resourceLimits ?? {}).sort()) {
    const at = `${path}.resourceLimits.${key}`;
    if (key === 'runtime') {
      const seconds = parseGoDuration(value);
      if (seconds === undefined || seconds <= 0)
        errors.push({
          path: at,
          message: `expected a duration such as 30m or 1h30m, got ${JSON.stringify(value)}`,
        });
      else maxRunDuration = protoDuration(seconds);
    } else if (key === 'bootdiskmib' || key === 'cpumilli') {
      if (!/^[1-9]\d*$/.test(String(value)))
        errors.push({ path: at, message: `expected a positive integer, got ${JSON.stringify(value)}` });
      else if (key === 'bootdiskmib') compute.bootDiskMib = Number(value);
      else compute.cpuMilli = Number(value);
    } else
      warnings.push({
        path: at,
        message: 'unknown resource limit: ignored (known: runtime, bootdiskmib, cpumilli)',
      });
  }
  const jobLabels = labels(template, ctx, path, errors);
  if (errors.length > before) return undefined;

  const native = array.taskIds;
  const taskCount = native ? native.length : maxSlots;
  const parallelism = native ? Math.min(array.maxParallel ?? taskCount, taskCount) : minSlots;
  const barriers = !native && minSlots === maxSlots;
  const multiNode = !native && minSlots === maxSlots && maxSlots > 1;
  const jobId = batchJobId(template, ctx, array.elementIndex);
  const variables: Record<string, string> = {
    ...(template.jobEnvironment ?? {}),
    ...(array.elementIndex !== undefined ? { TASK_ID: String(array.elementIndex) } : {}),
    DRMAA2_JOB_TEMPLATE: base64(JSON.stringify(template)),
  };
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
    parent: `projects/${ctx.project}/locations/${ctx.location}`,
    jobId,
    ...(ctx.owner ? { requestId: requestIdFor(ctx.owner.uid, jobId) } : {}),
    job: {
      ...(template.priority ? { priority: template.priority } : {}),
      taskGroups: [group],
      allocationPolicy: { instances: [instance], labels: { ...jobLabels } },
      labels: jobLabels,
      logsPolicy: template.outputPath
        ? { destination: 'PATH', logsPath: template.outputPath }
        : { destination: 'CLOUD_LOGGING' },
    },
  };
  return { request, buckets: stage.buckets };
}
