// What one Drmaa2Job may cost. Anything a tenant writes is untrusted and may be huge; these bounds keep one
// object's fan-out and size inside what Batch accepts and what the controller can hold while it tracks
// thousands of others. The CRD (crds/) enforces the same numbers at admission; the translation checks them
// again, so that an object admitted under an older schema still fails with the field named, before any
// Batch call, instead of exhausting the controller's memory.
import type { JobTemplate } from '../api/drmaa2.js';
import type { Drmaa2JobSpec } from '../api/drmaa2job.js';
import type { SpecError } from './specError.js';

/** Batch's own limits (cloud.google.com/batch/quotas): tasks per task group, and the size of a job
 * definition, "roughly the size of the REST request" of jobs.create, so measured here as its JSON. */
export const BATCH_MAX_TASKS_PER_GROUP = 100_000;
export const BATCH_MAX_JOB_DEFINITION_BYTES = 1_000_000;

/** Batch runs at most this many tasks of one job at once (cloud.google.com/batch/quotas, "Parallel tasks per
 * job"), so no request asks for more. */
export const BATCH_MAX_PARALLEL_TASKS = 5000;

/** The hosts file a task group gets with requireHostsFile "supports up to 1000 VMs" (TaskGroup in the v1
 * proto); a multi-node job with more VMs would start with some of its peers missing from the file. */
export const BATCH_MAX_HOSTS_FILE_VMS = 1000;

/** TaskSpec.max_retry_count: "The valid value range is [0, 10]" (v1 proto). */
export const BATCH_MAX_RETRY_COUNT = 10;

/** Free text of one template (remoteCommand, args, jobEnvironment, extension values, staging maps and
 * resource limits, keys included): with the template's own copy in DRMAA2_JOB_TEMPLATE (base64) the
 * request stays well inside Batch's 1 MB. */
export const MAX_TEMPLATE_TEXT = 262_144;

/** Per-element arrays (maxSlots > 1) become one Batch job per index: each is a create, a poll entry and a
 * status entry, so their number is bounded far below native arrays (one Batch job for all indexes). */
export const MAX_ARRAY_ELEMENT_JOBS = 100;

/** The template's copy in the job (DRMAA2_JOB_TEMPLATE, base64) is left out above this many characters:
 * Linux refuses to start a process with one environment string over 128 KiB (E2BIG), so every runnable
 * of the job, the Batch agent's own included, would fail before it ran. */
export const MAX_TEMPLATE_COPY = 65_536;

/** The template travels in JobInfo (extension jobtemplate_base64) only up to this many base64
 * characters: the resource's own spec holds it anyway, and every tracked job's copy costs memory. */
export const MAX_JOBINFO_TEMPLATE = 8192;

/** A cached resource keeps its template's text only up to this size (see elidedTemplate). */
export const MAX_CACHED_TEMPLATE_TEXT = 4096;

const TEXT_FIELDS = [
  'remoteCommand',
  'args',
  'jobEnvironment',
  'stageInFiles',
  'stageOutFiles',
  'resourceLimits',
] as const satisfies readonly (keyof JobTemplate)[];

function textOf(value: unknown): number {
  if (typeof value === 'string') return value.length;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + textOf(v), 0);
  if (typeof value === 'object' && value !== null) {
    let n = 0;
    for (const [k, v] of Object.entries(value)) n += k.length + textOf(v);
    return n;
  }
  return 0;
}

/** The template's free text by field (in characters, as the CRD's CEL rule counts it). */
export function templateText(template: JobTemplate): { field: string; size: number }[] {
  const sizes: { field: string; size: number }[] = TEXT_FIELDS.map((field) => ({
    field,
    size: textOf(template[field]),
  }));
  sizes.push({ field: 'extension.extensionList', size: textOf(template.extension?.extensionList) });
  return sizes;
}

/** The template without its free text, when that text is large: what a cache of thousands of resources
 * keeps. Every pass after submission, and deletion, reads only the template's small fields (jobName,
 * slots, startTime); the pass that translates fetches the whole resource first. Undefined when the
 * template is small enough to keep whole. */
export function elidedTemplate(template: JobTemplate): JobTemplate | undefined {
  const total = templateText(template).reduce((n, s) => n + s.size, 0);
  if (total <= MAX_CACHED_TEMPLATE_TEXT) return undefined;
  const kept: JobTemplate = { ...template };
  for (const field of TEXT_FIELDS) delete kept[field];
  delete kept.extension;
  return kept;
}

/** The number of indexes of an array spec, computed without listing them. */
export function arrayLength(array: NonNullable<Drmaa2JobSpec['array']>): number {
  const step = array.step ?? 1;
  if (!(step > 0) || array.end < array.begin) return 0;
  return Math.floor((array.end - array.begin) / step) + 1;
}

/** Whether an array runs as one Batch job per index (each index itself a multi-task job). */
export function isPerElement(spec: Pick<Drmaa2JobSpec, 'array' | 'jobTemplate'>): boolean {
  return spec.array !== undefined && (spec.jobTemplate.maxSlots || 1) > 1;
}

/** The bounds that need no request built: text size and fan-out. */
export function checkLimits(spec: Drmaa2JobSpec, base: string): SpecError[] {
  const errors: SpecError[] = [];
  const sizes = templateText(spec.jobTemplate);
  const total = sizes.reduce((n, s) => n + s.size, 0);
  if (total > MAX_TEMPLATE_TEXT) {
    const largest = sizes.reduce((a, b) => (b.size > a.size ? b : a));
    errors.push({
      path: `${base}.jobTemplate.${largest.field}`,
      message: `the template's text is ${total} characters (${largest.size} of them here); at most ${MAX_TEMPLATE_TEXT} are allowed`,
    });
  }
  if (spec.array) {
    const length = arrayLength(spec.array);
    const slots = spec.jobTemplate.maxSlots || 1;
    if (isPerElement(spec) && length > MAX_ARRAY_ELEMENT_JOBS) {
      errors.push({
        path: `${base}.array`,
        message: `an array of multi-task elements (maxSlots ${slots}) runs one Batch job per index: at most ${MAX_ARRAY_ELEMENT_JOBS} indexes, got ${length}`,
      });
    } else if (length * (isPerElement(spec) ? slots : 1) > BATCH_MAX_TASKS_PER_GROUP) {
      errors.push({
        path: `${base}.array`,
        message: `at most ${BATCH_MAX_TASKS_PER_GROUP} tasks (Batch's limit per task group), got ${length * slots}`,
      });
    }
  }
  return errors;
}

/** A request's size as Batch counts it (its JSON), checked against the job definition limit; the error
 * names the part of the spec that makes it large. */
export function checkRequestSize(
  job: unknown,
  parts: { path: string; size: number }[],
  errors: SpecError[],
): void {
  const bytes = Buffer.byteLength(JSON.stringify(job), 'utf8');
  if (bytes <= BATCH_MAX_JOB_DEFINITION_BYTES) return;
  const largest = parts.reduce((a, b) => (b.size > a.size ? b : a), { path: 'spec.jobTemplate', size: 0 });
  errors.push({
    path: largest.path,
    message: `the Batch job definition would be ${bytes} bytes; Batch accepts at most ${BATCH_MAX_JOB_DEFINITION_BYTES} (most of it comes from here)`,
  });
}
