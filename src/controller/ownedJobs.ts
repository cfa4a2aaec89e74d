// The owner guard: every Batch call the controller makes for a resource, except the create itself, goes
// through here. A Batch job name read from a spec, a status or the controller's own memory is a claim; the
// job's labels (the resource's UID and namespace) are the proof. Reads hand out an OwnedJob only after the
// proof held, and cancel, delete and task listing accept nothing else, so no code path can act on a job
// another resource (in this namespace or any other) owns.
import type { Job, Task } from '../api/batch.js';
import type { Drmaa2Job } from '../api/drmaa2job.js';
import type { BatchJobs } from '../ports/batchJobs.js';
import { isBatchError } from '../ports/errors.js';
import { isOwnedBy } from '../translate/index.js';
import { retained, type JobCache } from './poller.js';

declare const owned: unique symbol;
/** A Batch job whose labels name the resource it was read for. */
export type OwnedJob = Job & { readonly [owned]: true };

/** What a job name turned out to be for one resource. */
export type Claim =
  | { kind: 'owned'; job: OwnedJob }
  /** The job exists and belongs to someone else: never read into status, cancelled or deleted. */
  | { kind: 'foreign'; name: string }
  | { kind: 'missing'; name: string };

/** The guard: the one place where a Batch job becomes this resource's. */
export function claim(resource: Drmaa2Job, name: string, job: Job | undefined): Claim {
  if (!job) return { kind: 'missing', name };
  const { namespace, uid } = resource.metadata;
  if (!isOwnedBy(job, { namespace, uid })) return { kind: 'foreign', name };
  return { kind: 'owned', job: job as OwnedJob };
}

export interface OwnedJobs {
  /** The job under `name` as Batch (or the poller's recent list, unless `fresh`) has it, claimed. */
  read(name: string, fresh?: boolean): Promise<Claim>;
  /** A job this pass created: claimed like any other (its labels are the ones the request carried). */
  created(job: Job): Claim;
  cancel(job: OwnedJob): Promise<void>;
  delete(job: OwnedJob, reason: string): Promise<void>;
  listTasks(job: OwnedJob): Promise<Task[]>;
}

/** The guarded Batch calls for one resource. Jobs are kept in the slim form the status is computed
 * from (retained), so a pass over many large element jobs holds none of their runnables. */
export function ownedJobsFor(resource: Drmaa2Job, batch: BatchJobs, cache?: JobCache): OwnedJobs {
  return {
    async read(name, fresh = false) {
      const cached = fresh ? undefined : cache?.get(name);
      if (cached) return claim(resource, name, cached);
      let job: Job;
      try {
        job = retained(await batch.getJob(name));
      } catch (err) {
        if (isBatchError(err, 'NotFound')) return { kind: 'missing', name };
        throw err;
      }
      const result = claim(resource, name, job);
      // Only the resource's own jobs go into the shared memory: a foreign one is nothing to remember.
      if (result.kind === 'owned') cache?.remember(job);
      return result;
    },
    created(job) {
      const result = claim(resource, job.name ?? '', retained(job));
      if (result.kind === 'owned') cache?.remember(result.job);
      return result;
    },
    // Batch refuses a cancel or delete that the job's state no longer allows (it ended, or is already
    // going): the pass reads the job again and decides anew.
    cancel: (job) => ignoring(() => batch.cancelJob(job.name ?? '')),
    delete: (job, reason) => ignoring(() => batch.deleteJob(job.name ?? '', reason)),
    // Right after CreateJob Batch may not know a job's tasks yet and has answered NOT_FOUND for them for
    // minutes (nextflow-io/nextflow#5422): that is "none yet", not a failure worth a retry or a Warning.
    async listTasks(job) {
      try {
        return await batch.listTasks(job.name ?? '');
      } catch (err) {
        if (isBatchError(err, 'NotFound')) return [];
        throw err;
      }
    },
  };
}

/** The jobs a resource names, each proven its own (undefined: not there), with the guarded calls for them.
 * `refused`: names that led to someone else's job and were replaced by the resource's own. */
export interface Proven {
  kind: 'owned';
  owned: OwnedJobs;
  names: string[];
  jobs: (OwnedJob | undefined)[];
  refused?: string[];
}

export type ProveResult = Proven | { kind: 'notOwned'; names: string[] };

/** The jobs under `names`, proven the resource's own. A status is a claim: when a name in it leads to
 * someone else's job, the resource's own jobs are where its spec's IDs (`ownNames`) say, and those are
 * followed instead; when they are not all there, the resource cannot be followed at all (notOwned).
 * `known` serves jobs a pass already holds (ended elements) without a read. */
export async function prove(
  owned: OwnedJobs,
  names: readonly string[],
  ownNames: () => string[],
  opts: { fresh: boolean; known?: (name: string) => OwnedJob | undefined },
): Promise<ProveResult> {
  const jobs: (OwnedJob | undefined)[] = [];
  const foreign: string[] = [];
  for (const name of names) {
    const known = opts.known?.(name);
    const found = known ? ({ kind: 'owned', job: known } as const) : await owned.read(name, opts.fresh);
    if (found.kind === 'foreign') foreign.push(name);
    jobs.push(found.kind === 'owned' ? found.job : undefined);
  }
  if (foreign.length === 0) return { kind: 'owned', owned, names: [...names], jobs };
  const own = ownNames();
  const recovered: OwnedJob[] = [];
  for (const name of own) {
    const found = await owned.read(name, opts.fresh);
    if (found.kind !== 'owned') return { kind: 'notOwned', names: foreign };
    recovered.push(found.job);
  }
  return { kind: 'owned', owned, names: own, jobs: recovered, refused: foreign };
}

async function ignoring(call: () => Promise<void>): Promise<void> {
  try {
    await call();
  } catch (err) {
    if (!isBatchError(err, 'NotFound') && !isBatchError(err, 'FailedPrecondition')) throw err;
  }
}
