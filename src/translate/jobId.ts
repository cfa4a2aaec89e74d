// Deterministic Batch job IDs and request IDs, so that a retried or repeated create never makes a second job.
import { createHash } from 'node:crypto';
import type { JobTemplate } from '../api/drmaa2.js';

export const JOB_ID_RULE = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

export interface Owner {
  namespace: string;
  name: string;
  uid: string;
}

export interface IdContext {
  owner?: Owner;
  now?: Date;
  nonce?: number;
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

export function batchJobId(template: JobTemplate, ctx: IdContext, elementIndex?: number): string {
  const element = elementIndex === undefined ? '' : String(elementIndex);
  if (template.jobName) return element ? withSuffix(template.jobName, element) : template.jobName;
  if (ctx.owner) {
    const hash = shortHash(ctx.owner.uid);
    return withSuffix(ctx.owner.name, element ? `${hash}-${element}` : hash);
  }
  const seconds = Math.floor((ctx.now ?? new Date(0)).getTime() / 1000);
  const id = `drmaa2-${seconds}-${ctx.nonce ?? 0}`;
  return element ? withSuffix(id, element) : id;
}

/** A name-based (version 5 style) UUID of the owner's UID and the job ID: stable across retries. */
export function requestIdFor(ownerUid: string, jobId: string): string {
  const bytes = createHash('sha1').update(`drmaa2.io/request:${ownerUid}/${jobId}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
