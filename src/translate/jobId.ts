// Deterministic Batch job IDs and request IDs, so that a retried or repeated create never makes a second job.
//
// Batch job IDs are unique per project and location, a space every namespace of the cluster shares. An ID
// that a resource derives therefore always carries something of its own namespace: the resource's UID
// (`<name>-<hash of UID>`) by default, or a hash of its namespace after an explicit `jobName`
// (`<jobName>-<hash of namespace>`), so that two teams that both pick `jobName: nightly` get two jobs and
// no team can take or squat on another team's ID. Without an owner (the JobTracker outside Kubernetes)
// `jobName` is the ID itself, as in the original library.
import { createHash } from 'node:crypto';
import type { JobTemplate } from '../api/drmaa2.js';
import { nameBasedUuid } from './uuid.js';

export const JOB_ID_RULE = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

export interface Owner {
  namespace: string;
  name: string;
  uid: string;
}

export interface IdContext {
  owner?: Owner | undefined;
  now?: Date | undefined;
  nonce?: number | undefined;
  /** The attempt a job is submitted for: 0 first; each readmission after Kueue took the admission back
   * (eviction, preemption) is one more, and gets a job ID of its own (`-r<attempt>`). */
  attempt?: number | undefined;
}

/** Lowercase, only [a-z0-9-], starting with a letter, no trailing '-', at most `max` characters. */
export function fitJobId(text: string, max: number): string {
  let id = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-');
  id = id.replace(/^[^a-z]+/, '');
  id = id.slice(0, max).replace(/-+$/, '');
  return id === '' ? 'job' : id;
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

function withSuffix(base: string, suffix: string): string {
  return `${fitJobId(base, 63 - suffix.length - 1)}-${suffix}`;
}

function join(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('-');
}

export function batchJobId(template: JobTemplate, ctx: IdContext, elementIndex?: number): string {
  const element = elementIndex === undefined ? '' : String(elementIndex);
  const attempt = ctx.owner && ctx.attempt ? `r${ctx.attempt}` : '';
  if (template.jobName) {
    if (ctx.owner)
      return withSuffix(template.jobName, join(shortHash(ctx.owner.namespace), element, attempt));
    return element ? withSuffix(template.jobName, element) : template.jobName;
  }
  if (ctx.owner) return withSuffix(ctx.owner.name, join(shortHash(ctx.owner.uid), element, attempt));
  const seconds = Math.floor((ctx.now ?? new Date(0)).getTime() / 1000);
  const id = `drmaa2-${seconds}-${ctx.nonce ?? 0}`;
  return element ? withSuffix(id, element) : id;
}

/** The ID an explicit `jobName` gave a resource's job before IDs carried the namespace: a resource
 * submitted then keeps it (its status records it), and deletion still looks for it, behind the owner check. */
export function legacyBatchJobId(template: JobTemplate, elementIndex?: number): string | undefined {
  if (!template.jobName) return undefined;
  return elementIndex === undefined ? template.jobName : withSuffix(template.jobName, String(elementIndex));
}

/** The create's request ID, from the owner's UID and the job ID: stable across retries. */
export function requestIdFor(ownerUid: string, jobId: string): string {
  return nameBasedUuid(`drmaa2.io/request:${ownerUid}/${jobId}`);
}
