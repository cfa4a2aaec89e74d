// What a submitted resource says about its Batch jobs without asking Batch: their array layout (from the
// spec) and the names its status records (a claim the owner guard then checks, bounded by the spec).
import type { Drmaa2Job } from '../api/drmaa2job.js';
import { arrayLength, isPerElement } from '../translate/index.js';
import type { ArrayLayout } from '../translate/status.js';

/** The array layout of a submitted job, from its spec alone (no translation needed). */
export function layoutOf(resource: Drmaa2Job): ArrayLayout | undefined {
  const array = resource.spec.array;
  if (!array) return undefined;
  const step = array.step ?? 1;
  const indexes: number[] = [];
  for (let i = array.begin; i <= array.end && step > 0; i += step) indexes.push(i);
  return { begin: array.begin, step, indexes, mode: isPerElement(resource.spec) ? 'perElement' : 'native' };
}

/** The Batch jobs a submitted resource's status names, never more than its spec can have: a status is a
 * claim (the owner guard decides on each name), and its length must not decide how many reads a pass makes. */
export function recordedJobs(resource: Drmaa2Job): string[] {
  const status = resource.status;
  const array = resource.spec.array;
  const most = array && isPerElement(resource.spec) ? arrayLength(array) : 1;
  const elements = status?.array?.jobs?.map((j) => j.name).filter(Boolean) ?? [];
  if (elements.length > 0) return elements.slice(0, most);
  return status?.batchJob?.name ? [status.batchJob.name] : [];
}
