// Batch job labels: the session, accounting and origin of the original library plus the owning resource.
// Values must match Batch's label rule: what the user wrote is rejected, resource names are fitted to it.
import {
  LABEL_ACCOUNTING,
  LABEL_NAME,
  LABEL_NAMESPACE,
  LABEL_ORIGIN,
  LABEL_SESSION,
  LABEL_UID,
} from '../api/drmaa2job.js';
import type { JobTemplate } from '../api/drmaa2.js';
import type { Owner } from './jobId.js';
import type { SpecError } from './specError.js';

const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;

export function jobLabels(
  template: JobTemplate,
  ctx: { session: string; owner?: Owner | undefined },
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
