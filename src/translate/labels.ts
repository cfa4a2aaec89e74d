// Batch job labels: the session, accounting and origin of the original library plus the owning resource.
// Values must match Batch's label rule: what the user wrote is rejected, resource names are fitted to it.
import {
  LABEL_ACCOUNTING,
  LABEL_JOB_NAME,
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
    out[LABEL_NAMESPACE] = fitLabel(ctx.owner.namespace);
    out[LABEL_NAME] = fitLabel(ctx.owner.name);
    out[LABEL_UID] = fitLabel(ctx.owner.uid);
    // The ID carries a hash of the namespace after the name the user chose; the label keeps the name.
    if (template.jobName) out[LABEL_JOB_NAME] = fitLabel(template.jobName);
  }
  return out;
}

function fitLabel(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '-')
    .slice(0, 63);
}

/** Whether a Batch job belongs to the resource `owner`: its labels name the resource's UID and namespace.
 * The only proof of ownership there is: a job name read from a spec or a status is a claim, and a job
 * another resource (or anyone with Batch rights) made under that name must never be read into this
 * resource's status, cancelled or deleted for it. */
export function isOwnedBy(
  job: { labels?: Record<string, string> | null | undefined },
  owner: { namespace: string; uid: string },
): boolean {
  const labels = job.labels ?? {};
  return (
    owner.uid !== '' &&
    labels[LABEL_UID] === fitLabel(owner.uid) &&
    labels[LABEL_NAMESPACE] === fitLabel(owner.namespace)
  );
}
