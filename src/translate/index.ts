// The pure translation core: Drmaa2Job spec -> Batch CreateJobRequest(s); Batch Job -> DRMAA2 state and
// JobInfo. No I/O, no clock (time comes in), no SDK. Bad input becomes path-qualified errors, never a throw.
import { jobNameOf, parentOf, type CreateJobRequest } from '../api/batch.js';
import type { JobTemplate } from '../api/drmaa2.js';
import type { Drmaa2JobSpec } from '../api/drmaa2job.js';
import { batchJobId as idOf, legacyBatchJobId, type Owner } from './jobId.js';
import { arrayLength, checkLimits, checkRequestSize, isPerElement, templateText } from './limits.js';
import { buildRequest, elementRequest, type BuiltRequest, type RequestContext } from './request.js';
import {
  applyPlan,
  checkPolicy,
  checkProfile,
  planOf,
  profileTarget,
  splitBuckets,
  type Profile,
} from './policy.js';
import { checkShape } from './shape.js';
import type { SpecError, Warning } from './specError.js';

export type { SpecError, Warning } from './specError.js';
export { formatSpecError } from './specError.js';
export type { Owner } from './jobId.js';
export { requestIdFor } from './jobId.js';
export { formatDuration, parseGoDuration } from './duration.js';
export { jobStateOf, taskCountsOf, formatIndexRanges, arrayResults } from './state.js';
export { jobInfoOf, templateOf } from './jobInfo.js';
export { isOwnedBy } from './labels.js';
export { arrayLength, isPerElement } from './limits.js';
export { checkProfile, matchesPattern, profileTarget, securityLevelOf, type Profile } from './policy.js';
export { SECURITY_RULES, securityLevelTable } from './securityLevels.js';

export interface SubmitContext extends RequestContext {
  owner?: Owner;
  /** Prefix of error paths; default 'spec'. */
  basePath?: string;
  /** The BatchProfile to submit under: its project, location and session replace the context's, its
   * rules judge the template, and what it adds goes into every request. */
  profile?: Profile;
}

export interface Submission {
  requests: CreateJobRequest[];
  /** Stage-out buckets (and those of a gs:// outputPath) to create when missing, before the job. */
  buckets: string[];
  /** Buckets the job writes to that must exist already: the profile lets none of its rules create them.
   * Absent when empty (always, without a profile). */
  mustExist?: string[];
  warnings: Warning[];
  array?: { begin: number; end: number; step: number; indexes: number[]; mode: 'native' | 'perElement' };
}

/** InvalidSpec: the spec itself is wrong (shape, limits, values), whatever the profile. PolicyViolation: a
 * valid spec that the profile's rules refuse, or a profile that is itself invalid (its errors' paths begin
 * with `profile.`). */
export type TranslateFailureReason = 'InvalidSpec' | 'PolicyViolation';

export type TranslateResult =
  { ok: true; submission: Submission } | { ok: false; reason: TranslateFailureReason; errors: SpecError[] };

function invalid(errors: SpecError[]): TranslateResult {
  return { ok: false, reason: 'InvalidSpec', errors };
}

export function batchJobId(template: JobTemplate, ctx: SubmitContext, elementIndex?: number): string {
  return idOf(template, ctx, elementIndex);
}

function indexesOf(array: NonNullable<Drmaa2JobSpec['array']>): number[] {
  const step = array.step ?? 1;
  const out: number[] = [];
  for (let i = array.begin; i <= array.end; i += step) out.push(i);
  return out;
}

export function translateSpec(spec: Drmaa2JobSpec, submitContext: SubmitContext): TranslateResult {
  const base = submitContext.basePath ?? 'spec';
  try {
    const shapeErrors = checkShape(spec, base);
    if (shapeErrors.length > 0) return invalid(shapeErrors);
    const limitErrors = checkLimits(spec, base);
    if (limitErrors.length > 0) return invalid(limitErrors);
    const profile = submitContext.profile;
    const profileErrors = profile
      ? checkProfile(profile.spec, { basePath: 'profile', name: profile.name })
      : [];
    // An invalid profile is reported after the spec's own errors; the spec is still judged as a spec, under
    // the context's placement, so that its errors do not depend on the profile's.
    const ctx: SubmitContext =
      profile && profileErrors.length === 0 ? { ...submitContext, ...profileTarget(profile) } : submitContext;
    const errors: SpecError[] = [];
    const warnings: Warning[] = [];
    const template = spec.jobTemplate;
    const path = `${base}.jobTemplate`;
    let built: BuiltRequest[] = [];
    let array: Submission['array'];
    if (spec.array) {
      const indexes = indexesOf(spec.array);
      const step = spec.array.step ?? 1;
      const native = !isPerElement(spec);
      array = {
        begin: spec.array.begin,
        end: spec.array.end,
        step,
        indexes,
        mode: native ? 'native' : 'perElement',
      };
      const maxParallel = spec.array.maxParallel;
      const first = native
        ? buildRequest(
            template,
            ctx,
            path,
            { taskIds: indexes, ...(maxParallel ? { maxParallel } : {}) },
            errors,
            warnings,
          )
        : buildRequest(template, ctx, path, { elementIndex: indexes[0]! }, errors, warnings);
      if (first) {
        // The elements of a per-element array differ only in ID and TASK_ID: they share the first one's
        // runnables and template copy instead of building (and holding) the same text once per index.
        built = native
          ? [first]
          : indexes.map((i, n) => (n === 0 ? first : elementRequest(first, template, ctx, i)));
      }
    } else {
      const only = buildRequest(template, ctx, path, {}, errors, warnings);
      if (only) built = [only];
    }
    if (errors.length > 0) return invalid(errors);
    const first = built[0]!;
    const usable = profile && profileErrors.length === 0 ? profile : undefined;
    const plan = usable ? planOf(spec, first, usable) : undefined;
    const requests = built.map((b) => (plan ? applyPlan(b.request, plan) : b.request));
    const parts = [
      ...templateText(template).map((t) => ({ path: `${path}.${t.field}`, size: t.size * 2 })),
      ...(array?.mode === 'native' ? [{ path: `${base}.array`, size: array.indexes.length * 30 }] : []),
    ];
    checkRequestSize(requests[0]!.job, parts, errors);
    if (errors.length > 0) return invalid(errors);
    if (profileErrors.length > 0) return { ok: false, reason: 'PolicyViolation', errors: profileErrors };
    const violations = usable ? checkPolicy(spec, first, usable, base) : [];
    if (violations.length > 0) return { ok: false, reason: 'PolicyViolation', errors: violations };
    const written = [...new Set(built.flatMap((b) => b.buckets))];
    const { create: buckets, mustExist } = usable
      ? splitBuckets(written, usable)
      : { create: written, mustExist: [] };
    return {
      ok: true,
      submission: {
        requests,
        buckets,
        ...(mustExist.length > 0 ? { mustExist } : {}),
        warnings,
        ...(array ? { array } : {}),
      },
    };
  } catch (err) {
    return invalid([{ path: base, message: `cannot translate: ${(err as Error).message}` }]);
  }
}

/** The full names of every Batch job a resource's spec leads to (one, or one per element), derived
 * without building requests: what deletion looks for. `legacy` adds the IDs an explicit jobName gave
 * before IDs carried the namespace. */
export function batchJobNames(
  spec: Pick<Drmaa2JobSpec, 'array' | 'jobTemplate'>,
  ctx: { project: string; location: string; owner: Owner; attempt?: number },
  legacy = true,
): string[] {
  const parent = parentOf(ctx.project, ctx.location);
  const template = spec.jobTemplate;
  const elements: (number | undefined)[] = [];
  if (spec.array && isPerElement(spec)) {
    const step = spec.array.step ?? 1;
    const count = Math.min(arrayLength(spec.array), MAX_NAMED_ELEMENTS);
    for (let n = 0; n < count; n++) elements.push(spec.array.begin + n * step);
  } else {
    elements.push(undefined);
  }
  const ids = new Set<string>();
  for (const element of elements) {
    // Every attempt's: a job Kueue took the admission back from was cancelled, and still exists.
    for (let attempt = 0; attempt <= (ctx.attempt ?? 0); attempt++)
      ids.add(idOf(template, { ...ctx, attempt }, element));
    const old = legacy ? legacyBatchJobId(template, element) : undefined;
    if (old) ids.add(old);
  }
  return [...ids].map((id) => jobNameOf(parent, id));
}

/** Deletion never looks for more element jobs than an admitted spec can have had. */
const MAX_NAMED_ELEMENTS = 1000;

/** The controller-only checks (those the CRD schema cannot express), without building requests' output. */
export function validateSpec(spec: unknown, basePath = 'spec'): SpecError[] {
  const result = translateSpec(spec as Drmaa2JobSpec, {
    project: 'p',
    location: 'l',
    session: 'validate',
    basePath,
  });
  return result.ok ? [] : result.errors;
}
