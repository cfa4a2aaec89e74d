// The pure translation core: Drmaa2Job spec -> Batch CreateJobRequest(s); Batch Job -> DRMAA2 state and
// JobInfo. No I/O, no clock (time comes in), no SDK. Bad input becomes path-qualified errors, never a throw.
import type { CreateJobRequest } from '../api/batch.js';
import type { JobTemplate } from '../api/drmaa2.js';
import type { Drmaa2JobSpec } from '../api/drmaa2job.js';
import { batchJobId as idOf, type Owner } from './jobId.js';
import { buildRequest, type RequestContext } from './request.js';
import { checkShape } from './shape.js';
import type { SpecError, Warning } from './specError.js';

export type { SpecError, Warning } from './specError.js';
export { formatSpecError } from './specError.js';
export type { Owner } from './jobId.js';
export { requestIdFor } from './jobId.js';
export { formatDuration, parseGoDuration } from './duration.js';
export { jobStateOf, taskCountsOf, formatIndexRanges, arrayResults } from './state.js';
export { jobInfoOf, templateOf } from './jobInfo.js';

export interface SubmitContext extends RequestContext {
  owner?: Owner;
  /** Prefix of error paths; default 'spec'. */
  basePath?: string;
}

export interface Submission {
  requests: CreateJobRequest[];
  buckets: string[];
  warnings: Warning[];
  array?: { begin: number; end: number; step: number; indexes: number[]; mode: 'native' | 'perElement' };
}

export type TranslateResult = { ok: true; submission: Submission } | { ok: false; errors: SpecError[] };

export function batchJobId(template: JobTemplate, ctx: SubmitContext, elementIndex?: number): string {
  return idOf(template, ctx, elementIndex);
}

function indexesOf(array: NonNullable<Drmaa2JobSpec['array']>): number[] {
  const step = array.step ?? 1;
  const out: number[] = [];
  for (let i = array.begin; i <= array.end; i += step) out.push(i);
  return out;
}

export function translateSpec(spec: Drmaa2JobSpec, ctx: SubmitContext): TranslateResult {
  const base = ctx.basePath ?? 'spec';
  try {
    const shapeErrors = checkShape(spec, base);
    if (shapeErrors.length > 0) return { ok: false, errors: shapeErrors };
    const errors: SpecError[] = [];
    const warnings: Warning[] = [];
    const template = spec.jobTemplate;
    const path = `${base}.jobTemplate`;
    const built = [];
    let array: Submission['array'];
    if (spec.array) {
      const indexes = indexesOf(spec.array);
      const step = spec.array.step ?? 1;
      const native = (template.maxSlots || 1) <= 1;
      array = {
        begin: spec.array.begin,
        end: spec.array.end,
        step,
        indexes,
        mode: native ? 'native' : 'perElement',
      };
      if (native) {
        built.push(
          buildRequest(
            template,
            ctx,
            path,
            { taskIds: indexes, ...(spec.array.maxParallel ? { maxParallel: spec.array.maxParallel } : {}) },
            errors,
            warnings,
          ),
        );
      } else {
        for (const index of indexes) {
          built.push(buildRequest(template, ctx, path, { elementIndex: index }, errors, warnings));
          if (errors.length > 0) break;
        }
      }
    } else {
      built.push(buildRequest(template, ctx, path, {}, errors, warnings));
    }
    if (errors.length > 0) return { ok: false, errors };
    const requests = built.map((b) => b!.request);
    const buckets = [...new Set(built.flatMap((b) => b!.buckets))];
    return { ok: true, submission: { requests, buckets, warnings, ...(array ? { array } : {}) } };
  } catch (err) {
    return { ok: false, errors: [{ path: base, message: `cannot translate: ${(err as Error).message}` }] };
  }
}

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
