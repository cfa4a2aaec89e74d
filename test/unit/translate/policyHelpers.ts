// Shorthands of the BatchProfile tests: a minimal valid profile, a template judged under it, and the
// outcome asserted with the other outcome's details on failure.
import assert from 'node:assert/strict';
import type { BatchProfileSpec } from '../../../src/api/batchProfile.js';
import type { Drmaa2JobSpec } from '../../../src/api/drmaa2job.js';
import {
  formatSpecError,
  translateSpec,
  type Submission,
  type SubmitContext,
  type TranslateResult,
} from '../../../src/translate/index.js';
import { busybox, ctx, type LooseSpec } from './helpers.js';

export const PROFILE = 'team-a';

export const minimal: BatchProfileSpec = { project: 'team-a-project', location: 'europe-west4' };

export function under(profile: Partial<BatchProfileSpec>, name = PROFILE): SubmitContext {
  return { ...ctx, profile: { name, spec: { ...minimal, ...profile } } };
}

export function judge(spec: LooseSpec, profile: Partial<BatchProfileSpec>, name = PROFILE): TranslateResult {
  return translateSpec(spec as Drmaa2JobSpec, under(profile, name));
}

/** The submission of a template (busybox with `change`) under the profile. */
export function accepted(
  change: Record<string, unknown>,
  profile: Partial<BatchProfileSpec>,
  spec: Omit<LooseSpec, 'jobTemplate'> = {},
): Submission {
  const result = judge({ ...spec, jobTemplate: { ...busybox, ...change } }, profile);
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  return result.submission;
}

/** The violations (formatted `path: message`) of a template under the profile; fails unless the outcome is
 * PolicyViolation. */
export function refused(
  change: Record<string, unknown>,
  profile: Partial<BatchProfileSpec>,
  spec: Omit<LooseSpec, 'jobTemplate'> = {},
): string[] {
  const result = judge({ ...spec, jobTemplate: { ...busybox, ...change } }, profile);
  assert.ok(!result.ok, `expected a policy violation, got ${JSON.stringify(result)}`);
  assert.equal(result.reason, 'PolicyViolation', JSON.stringify(result.errors));
  assert.ok(result.errors.length > 0);
  return result.errors.map(formatSpecError);
}
