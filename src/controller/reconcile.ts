// One reconcile of one Drmaa2Job: a numbered decision ladder, level-triggered and idempotent. Each pass
// reads the resource and the Batch job, moves one step, writes at most one status patch, and says when to
// look again. It never relies on having seen an event, so a pass that crashes anywhere is simply repeated.
import type { Logger } from 'pino';
import type { Task } from '../api/batch.js';
import { FINALIZER, keyOf, type Drmaa2Job, type Drmaa2JobStatus } from '../api/drmaa2job.js';
import type { BatchJobs } from '../ports/batchJobs.js';
import type { Buckets } from '../ports/buckets.js';
import type { Clock } from '../ports/clock.js';
import { isBatchError, isKubeError } from '../ports/errors.js';
import type { EventSink } from '../ports/eventSink.js';
import type { KubeStore } from '../ports/kubeStore.js';
import {
  arrayLength,
  batchJobNames,
  isPerElement,
  jobStateOf,
  taskCountsOf,
  translateSpec,
  type Submission,
} from '../translate/index.js';
import {
  isTerminal,
  nextStatus,
  resynced,
  statusPatch,
  withSyncProblem,
  type ArrayLayout,
  type Phase,
  type SyncProblem,
} from '../translate/status.js';
import { HOLD_IGNORED, batchJobNotOwnedEvent, transitionEvents } from './events.js';
import { ownedJobsFor, type OwnedJob, type OwnedJobs } from './ownedJobs.js';
import { isActive, retained, type JobCache } from './poller.js';
import { syncProblemOf, StageOutError, TerminalError } from './problems.js';
import type { Reconcile, ReconcileResult } from './runner.js';

export { TerminalError } from './problems.js';
export type { JobCache } from './poller.js';

export interface ReconcilerConfig {
  project: string;
  location: string;
  session: string;
  pollIntervalMs: number;
  /** Fraction of the poll interval added at random to each requeue, so resyncs spread out. Default 0.1. */
  requeueJitter?: number;
}

/** The part of the controller's metrics the reconciler feeds. */
export interface ReconcilerMetrics {
  submitLatency(seconds: number): void;
}

export interface ReconcilerDeps {
  store: KubeStore;
  batch: BatchJobs;
  buckets: Buckets;
  events: EventSink;
  clock: Clock;
  config: ReconcilerConfig;
  logger: Logger;
  metrics?: ReconcilerMetrics;
  jobCache?: JobCache;
  /** Random source for the requeue jitter (tests pass a constant). */
  random?: () => number;
}

export type { Reconcile, ReconcileResult } from './runner.js';

/** How soon to look again while a deletion waits for Batch to cancel or delete the job. */
const DELETE_POLL_MS = 2000;
/** A status write that met a newer resourceVersion is retried once the watch delivered the newer object,
 * which takes a moment; retrying at once would only conflict again. */
const CONFLICT_REQUEUE_MS = 200;
/** A pass that found the cache older than the controller's own last write looks again after this long
 * unless the watch delivers the write first (it normally does, within milliseconds). */
const STALE_REQUEUE_MS = 1000;
const ACTIVE_BATCH_STATES: ReadonlySet<string> = new Set([
  'STATE_UNSPECIFIED',
  'QUEUED',
  'SCHEDULED',
  'RUNNING',
]);

function jobNameOf(request: { parent: string; jobId: string }): string {
  return `${request.parent}/jobs/${request.jobId}`;
}

function parseKey(key: string): [string, string] {
  const parts = key.split('/');
  if (parts.length !== 2 || !parts[0] || !parts[1])
    throw new TerminalError(`malformed key ${JSON.stringify(key)}`);
  return [parts[0], parts[1]];
}

/** The array layout of a submitted job, from its spec alone (no translation needed). */
function layoutOf(resource: Drmaa2Job): ArrayLayout | undefined {
  const array = resource.spec.array;
  if (!array) return undefined;
  const step = array.step ?? 1;
  const indexes: number[] = [];
  for (let i = array.begin; i <= array.end && step > 0; i += step) indexes.push(i);
  return { begin: array.begin, step, indexes, mode: isPerElement(resource.spec) ? 'perElement' : 'native' };
}

/** The Batch jobs a submitted resource's status names, never more than its spec can have: a status is
 * a claim (the owner guard decides on each name), and its length must not decide how many reads a pass
 * makes. */
function recordedJobs(resource: Drmaa2Job): string[] {
  const status = resource.status;
  const array = resource.spec.array;
  const most = array && isPerElement(resource.spec) ? arrayLength(array) : 1;
  const elements = status?.array?.jobs?.map((j) => j.name).filter(Boolean) ?? [];
  if (elements.length > 0) return elements.slice(0, most);
  return status?.batchJob?.name ? [status.batchJob.name] : [];
}

function sameCounts(a: ReturnType<typeof taskCountsOf>, b: Drmaa2JobStatus['tasks']): boolean {
  return (
    b !== undefined &&
    a.total === b.total &&
    a.pending === b.pending &&
    a.running === b.running &&
    a.succeeded === b.succeeded &&
    a.failed === b.failed
  );
}

/** The jobs a resource names, each proven its own (undefined: not there), with the guarded calls for them. */
interface Proven {
  kind: 'owned';
  owned: OwnedJobs;
  names: string[];
  jobs: (OwnedJob | undefined)[];
}

/** Builds the reconcile function for one controller. Dependencies are ports, so tests run it in memory. */
export function createReconciler(deps: ReconcilerDeps): Reconcile {
  const { store, batch, events, clock, config } = deps;
  const random = deps.random ?? Math.random;

  function pollAgain(): ReconcileResult {
    const jitter = config.requeueJitter ?? 0.1;
    return { requeueAfterMs: Math.round(config.pollIntervalMs * (1 + jitter * random())) };
  }

  function translate(resource: Drmaa2Job) {
    const { namespace, name, uid } = resource.metadata;
    return translateSpec(resource.spec, {
      project: config.project,
      location: config.location,
      session: config.session,
      owner: { namespace, name, uid },
    });
  }

  /** Every Batch job the resource has or may have: those its status names, and those its spec derives
   * (a crash between create and status write leaves a job the status does not name yet). Derived from
   * the spec's IDs alone: deleting never builds a request. */
  function allJobNames(resource: Drmaa2Job): string[] {
    const { namespace, name, uid } = resource.metadata;
    const derived = batchJobNames(resource.spec, {
      project: config.project,
      location: config.location,
      owner: { namespace, name, uid },
    });
    return [...new Set([...jobNamesOf(resource), ...derived])];
  }

  /** The guarded Batch calls for this resource (see ownedJobs.ts): the only way a pass reaches a job. */
  function jobsOf(resource: Drmaa2Job): OwnedJobs {
    return ownedJobsFor(resource, batch, deps.jobCache);
  }

  /** The newest copy of each resource in a pass (one pass per key at a time), so that a failing pass
   * reports its problem against the resourceVersion it last wrote. */
  const latest = new Map<string, Drmaa2Job>();

  /** Batch jobs this process created or adopted, by resource UID, until the watch delivers a status that
   * names them: a pass that reads a stale cached copy then observes them instead of creating again (the
   * expectations of Kubernetes' own Job controller). After a restart the deterministic IDs take over. */
  const expected = new Map<string, string[]>();

  /** Ended element jobs of per-element arrays whose other elements still run, by resource key. An ended
   * Batch job no longer changes and has left the poller's list, so without this every pass would read
   * each finished element again. Forgotten when the resource ends, is deleted or is gone. */
  const endedElements = new Map<string, Map<string, OwnedJob>>();

  function forgetElements(resource: Drmaa2Job): void {
    endedElements.delete(keyOf(resource));
  }

  /** The Batch jobs of a resource: those its status names, else those this process just submitted. */
  function jobNamesOf(resource: Drmaa2Job): string[] {
    const recorded = recordedJobs(resource);
    if (recorded.length > 0) {
      expected.delete(resource.metadata.uid);
      return recorded;
    }
    return expected.get(resource.metadata.uid) ?? [];
  }

  /** Per key, the resourceVersions this process's own writes replaced. The informer's copy can lag behind
   * a write the controller just made (its watch event is still on the way); a pass over such a copy would
   * compute from an old status and its write would only meet a conflict, so it waits for the watch. */
  const superseded = new Map<string, Set<string>>();

  /** Records a write from `before` to `after` and returns `after`, tracked. */
  function wrote(before: Drmaa2Job, after: Drmaa2Job): Drmaa2Job {
    const key = keyOf(before);
    const previous = before.metadata.resourceVersion;
    if (previous && previous !== after.metadata.resourceVersion) {
      const versions = superseded.get(key) ?? new Set<string>();
      versions.add(previous);
      superseded.set(key, versions);
    }
    return track(after);
  }

  /** Whether the cached copy is older than this process's last write of it. */
  function behindOwnWrite(resource: Drmaa2Job): boolean {
    const key = keyOf(resource);
    const versions = superseded.get(key);
    if (!versions) return false;
    if (versions.has(resource.metadata.resourceVersion ?? '')) return true;
    // The cache caught up (or moved on past another writer): the versions replaced are history.
    superseded.delete(key);
    return false;
  }

  async function setFinalizers(resource: Drmaa2Job, finalizers: string[]): Promise<Drmaa2Job> {
    return wrote(resource, await store.setFinalizers(resource, finalizers));
  }

  function track(resource: Drmaa2Job): Drmaa2Job {
    latest.set(keyOf(resource), resource);
    return resource;
  }

  /** Writes the difference between the resource's status and `status` as one patch (none when equal). */
  async function writeStatus(resource: Drmaa2Job, status: Drmaa2JobStatus): Promise<Drmaa2Job> {
    const patch = statusPatch(resource.status, status);
    if (!patch) return resource;
    return wrote(resource, await store.patchStatus(resource, patch));
  }

  /** Computes the next status for `phase`, writes it, and records the transition. */
  async function apply(resource: Drmaa2Job, phase: Phase, log: Logger): Promise<Drmaa2Job> {
    const status = nextStatus({ resource, phase, now: clock.now() });
    const updated = await writeStatus(resource, status);
    for (const event of transitionEvents(resource.status, status)) events.emit(updated, event);
    if (resource.status?.state !== status.state || resource.status?.subState !== status.subState) {
      log.info({ state: status.state, subState: status.subState }, 'Drmaa2Job state changed');
    }
    return updated;
  }

  /** Best effort: shows why no progress is made (Synced=False), then lets the error back off. */
  async function reportProblem(resource: Drmaa2Job, problem: SyncProblem, log: Logger): Promise<void> {
    const previous = resource.status?.conditions?.find((c) => c.type === 'Synced');
    const status = resource.status?.state
      ? withSyncProblem(resource, problem, clock.now())
      : nextStatus({ resource, phase: { kind: 'pending' }, now: clock.now(), syncProblem: problem });
    try {
      await writeStatus(resource, status);
    } catch (err) {
      log.debug({ err: (err as Error).message }, 'Could not record the sync problem');
    }
    if (previous?.reason !== problem.reason || previous.status !== 'False') {
      const note = `${problem.reason}: ${problem.message}`.slice(0, 1000);
      const reason =
        problem.reason === 'StorageError' || problem.reason === 'KubeError' ? problem.reason : 'BatchError';
      events.emit(resource, { type: 'Warning', reason, action: 'Sync', note });
    }
  }

  // 2) Deleting: apply the deletion policy, then remove the finalizer so the resource can go.
  async function finalize(resource: Drmaa2Job, log: Logger): Promise<ReconcileResult> {
    forgetElements(resource);
    const finalizers = resource.metadata.finalizers ?? [];
    if (!finalizers.includes(FINALIZER)) return {};
    let foreign: string[] = [];
    if (resource.spec.deletionPolicy !== 'Orphan') {
      const outcome = await deleteBatchJobs(resource, log);
      if (outcome.pending) return { requeueAfterMs: Math.min(DELETE_POLL_MS, config.pollIntervalMs) };
      foreign = outcome.foreign;
    }
    await setFinalizers(
      resource,
      finalizers.filter((f) => f !== FINALIZER),
    );
    expected.delete(resource.metadata.uid);
    // A name the status or this process claimed that turned out to be someone else's is said once, as the
    // resource goes (IDs the spec merely derives, such as an ID before it carried the namespace, are
    // expected to be taken and are not worth a Warning).
    if (foreign.length > 0) events.emit(resource, batchJobNotOwnedEvent(foreign, 'left alone on deletion'));
    log.info({ deletionPolicy: resource.spec.deletionPolicy ?? 'Delete' }, 'Finalizer removed');
    return {};
  }

  /** Moves each of the resource's own Batch jobs one step towards gone: cancel if active, else delete.
   * `pending` while any exists; `foreign`: claimed names whose jobs belong to someone else, untouched. */
  async function deleteBatchJobs(
    resource: Drmaa2Job,
    log: Logger,
  ): Promise<{ pending: boolean; foreign: string[] }> {
    const jobs = jobsOf(resource);
    const claimed = new Set(jobNamesOf(resource));
    const foreign: string[] = [];
    let pending = false;
    for (const name of allJobNames(resource)) {
      const found = await jobs.read(name, true);
      if (found.kind === 'missing') continue;
      if (found.kind === 'foreign') {
        if (claimed.has(name)) foreign.push(name);
        log.debug({ batchJob: name }, 'Batch job of another owner left alone');
        continue;
      }
      pending = true;
      const state = found.job.status?.state ?? 'STATE_UNSPECIFIED';
      if (ACTIVE_BATCH_STATES.has(state)) {
        await jobs.cancel(found.job);
        log.info({ batchJob: name }, 'Batch job cancelled before deletion');
      } else if (state !== 'CANCELLATION_IN_PROGRESS' && state !== 'DELETION_IN_PROGRESS') {
        await jobs.delete(found.job, 'Drmaa2Job deleted');
        log.info({ batchJob: name }, 'Batch job deletion requested');
      }
    }
    return { pending, foreign };
  }

  // 6) Stage-out buckets exist before the job that writes into them.
  async function ensureBuckets(submission: Submission): Promise<void> {
    for (const bucket of submission.buckets) {
      try {
        await deps.buckets.ensureBucket(bucket, config.project);
      } catch (err) {
        throw new StageOutError(bucket, err);
      }
    }
  }

  // 7) Create the Batch job(s) with deterministic IDs, adopting what an earlier pass created.
  async function submit(resource: Drmaa2Job, submission: Submission, log: Logger): Promise<Phase> {
    const owned = jobsOf(resource);
    const jobs: OwnedJob[] = [];
    let created = false;
    for (const request of submission.requests) {
      const name = jobNameOf(request);
      let found;
      try {
        found = owned.created(await batch.createJob(request));
        created = true;
        log.info({ batchJob: name }, 'Batch job created');
      } catch (err) {
        if (isBatchError(err, 'InvalidArgument') || isBatchError(err, 'FailedPrecondition')) {
          log.warn({ batchJob: name, err: err.message }, 'Batch rejected the job');
          return { kind: 'rejected', message: `Batch rejected job ${request.jobId}: ${err.message}` };
        }
        if (!isBatchError(err, 'AlreadyExists')) throw err;
        found = await owned.read(name, true);
        if (found.kind === 'missing') throw err;
        if (found.kind === 'owned') log.info({ batchJob: name }, 'Batch job adopted');
      }
      if (found.kind !== 'owned') {
        log.warn({ batchJob: name }, 'Batch job ID taken by another resource');
        return {
          kind: 'conflict',
          message: `Batch job ${name} already exists and does not belong to this resource (its labels do not name this resource's UID and namespace)`,
        };
      }
      jobs.push(found.job);
    }
    if (created) observeSubmitLatency(resource);
    expected.set(
      resource.metadata.uid,
      jobs.map((job) => job.name ?? ''),
    );
    const tasks = await tasksOf(owned, resource, jobs, submission.array);
    return { kind: 'submitted', jobs, tasks, ...(submission.array ? { array: submission.array } : {}) };
  }

  function observeSubmitLatency(resource: Drmaa2Job): void {
    const created = Date.parse(resource.metadata.creationTimestamp ?? '');
    if (Number.isNaN(created)) return;
    deps.metrics?.submitLatency(Math.max(0, (clock.now().getTime() - created) / 1000));
  }

  /** Tasks are listed only where the job itself does not say enough: when it ended (exit codes for
   * jobInfo), and for a native array whose task counts moved since the last status (per-index results).
   * Per-element arrays take their per-index results from the jobs' states, so only the job that speaks for
   * the whole array (jobInfo) has its tasks listed, once all elements ended. */
  async function tasksOf(
    owned: OwnedJobs,
    resource: Drmaa2Job,
    jobs: OwnedJob[],
    array?: ArrayLayout,
  ): Promise<(Task[] | undefined)[]> {
    const ended = jobs.map((job) => isTerminal(jobStateOf(job).state));
    const wanted = jobs.map((job, i) => {
      if (array?.mode === 'native') return ended[i] || !sameCounts(taskCountsOf(job), resource.status?.tasks);
      return ended[i]!;
    });
    if (array?.mode === 'perElement') {
      const failed = jobs.findIndex((job) => jobStateOf(job).state === 'Failed');
      const speaker = failed >= 0 ? failed : jobs.length - 1;
      wanted.fill(false);
      if (ended.every(Boolean)) wanted[speaker] = true;
    }
    const tasks: (Task[] | undefined)[] = [];
    for (const [i, job] of jobs.entries()) tasks.push(wanted[i] ? await owned.listTasks(job) : undefined);
    return tasks;
  }

  /** The jobs a resource names, proven its own by the owner guard. A status is a claim: when a name in it
   * leads to someone else's job, the resource's own jobs are where its spec's IDs say, and those are
   * followed instead (once the status names them, the Warning is not repeated); when they are not all
   * there and its own either, the resource cannot be followed at all (notOwned). */
  async function proven(
    resource: Drmaa2Job,
    names: string[],
    fresh: boolean,
    log: Logger,
  ): Promise<Proven | { kind: 'notOwned'; names: string[] }> {
    const owned = jobsOf(resource);
    const memo = layoutOf(resource)?.mode === 'perElement' ? endedElements.get(keyOf(resource)) : undefined;
    const jobs: (OwnedJob | undefined)[] = [];
    const foreign: string[] = [];
    for (const name of names) {
      const known = memo?.get(name);
      const found = known ? ({ kind: 'owned', job: known } as const) : await owned.read(name, fresh);
      if (found.kind === 'foreign') foreign.push(name);
      jobs.push(found.kind === 'owned' ? found.job : undefined);
    }
    if (foreign.length === 0) return { kind: 'owned', owned, names, jobs };
    const { namespace, name, uid } = resource.metadata;
    const own = batchJobNames(
      resource.spec,
      { project: config.project, location: config.location, owner: { namespace, name, uid } },
      false,
    );
    const recovered: OwnedJob[] = [];
    for (const candidate of own) {
      const found = await owned.read(candidate, fresh);
      if (found.kind !== 'owned') break;
      recovered.push(found.job);
    }
    const followed = recovered.length === own.length;
    log.warn({ foreign, followed }, 'The status names a Batch job of another owner');
    // Said here when the resource goes on with its own jobs; otherwise its move to Failed says it.
    if (followed) {
      const more = own.length > 1 ? ' and the rest' : '';
      events.emit(resource, batchJobNotOwnedEvent(foreign, `following this resource's own ${own[0]}${more}`));
    }
    if (!followed) return { kind: 'notOwned', names: foreign };
    return { kind: 'owned', owned, names: own, jobs: recovered };
  }

  // 8) terminate: cancel the Batch job(s) once; the record is kept and ends Failed.
  async function terminate(resource: Drmaa2Job, found: Proven, log: Logger): Promise<boolean> {
    const subState = resource.status?.subState;
    if (subState === 'CANCELLATION_IN_PROGRESS' || isTerminal(resource.status?.state)) return false;
    let cancelled = false;
    for (const job of found.jobs) {
      if (!job || !ACTIVE_BATCH_STATES.has(job.status?.state ?? 'STATE_UNSPECIFIED')) continue;
      await found.owned.cancel(job);
      cancelled = true;
      log.info({ batchJob: job.name }, 'Batch job cancelled (terminate)');
    }
    return cancelled;
  }

  // 9) Observe: the Batch job(s) as they are now (read again right after a cancel).
  async function observe(resource: Drmaa2Job, found: Proven, fresh: boolean, log: Logger): Promise<Phase> {
    const array = layoutOf(resource);
    const key = keyOf(resource);
    const again = fresh ? await proven(resource, found.names, true, log) : found;
    if (again.kind === 'notOwned') return again;
    const ended =
      array?.mode === 'perElement' ? (endedElements.get(key) ?? new Map<string, OwnedJob>()) : undefined;
    const jobs: OwnedJob[] = [];
    for (const [i, name] of again.names.entries()) {
      const job = again.jobs[i];
      if (!job) return { kind: 'lost' };
      if (ended && !isActive(job)) ended.set(name, retained(job) as OwnedJob);
      jobs.push(job);
    }
    if (ended && ended.size > 0) endedElements.set(key, ended);
    const tasks = await tasksOf(again.owned, resource, jobs, array);
    return { kind: 'submitted', jobs, tasks, ...(array ? { array } : {}) };
  }

  // 10) A finished job's Batch job goes after ttlSecondsAfterFinished; the resource and its status stay.
  async function expire(resource: Drmaa2Job, log: Logger): Promise<ReconcileResult> {
    const ttl = resource.spec.ttlSecondsAfterFinished;
    const status = resource.status;
    if (ttl === undefined || !status?.finishedAt || !status.batchJob || status.batchJob.deleted) return {};
    const due = Date.parse(status.finishedAt) + ttl * 1000 - clock.now().getTime();
    if (due > 0) return { requeueAfterMs: due };
    const found = await proven(resource, recordedJobs(resource), true, log);
    if (found.kind === 'notOwned') {
      // The record names a job that is not this resource's: it is dropped from the status, not deleted.
      await apply(resource, found, log);
      return {};
    }
    for (const job of found.jobs) if (job) await found.owned.delete(job, 'ttlSecondsAfterFinished');
    const name = found.names[0]!;
    const updated = await writeStatus(resource, {
      ...status,
      batchJob: { name, ...(status.batchJob.name === name ? status.batchJob : {}), deleted: true },
      ...(status.array?.jobs
        ? { array: { ...status.array, jobs: found.names.map((n) => ({ name: n })) } }
        : {}),
    });
    events.emit(updated, {
      type: 'Normal',
      reason: 'BatchJobDeleted',
      action: 'Delete',
      note: `Batch job ${name} deleted after ttlSecondsAfterFinished (${ttl}s)`,
    });
    log.info({ ttlSecondsAfterFinished: ttl }, 'Batch job deleted after its TTL');
    return {};
  }

  /** A job that ended needs nothing from Batch any more (it left the poll set): only the record of the
   * latest generation and the TTL. */
  async function settleEnded(resource: Drmaa2Job, log: Logger): Promise<ReconcileResult> {
    const updated = await writeStatus(resource, resynced(resource, clock.now()));
    return expire(updated, log);
  }

  async function ladder(resource: Drmaa2Job, log: Logger): Promise<ReconcileResult> {
    // 2) Deleting.
    if (resource.metadata.deletionTimestamp) return finalize(resource, log);

    // 3) The finalizer goes on before any Batch call.
    const finalizers = resource.metadata.finalizers ?? [];
    if (!finalizers.includes(FINALIZER)) {
      resource = await setFinalizers(resource, [...finalizers, FINALIZER]);
    }

    const status = resource.status;
    const current = status?.observedGeneration === resource.metadata.generation;
    const names = jobNamesOf(resource);
    if (isTerminal(status?.state) && status?.finishedAt) {
      if (names.length > 0) return settleEnded(resource, log);
      // Failed before submission (invalid spec, conflict, rejected, terminated): nothing is retried
      // until the spec changes.
      if (current) return {};
    }

    if (names.length === 0) return submitOrWait(resource, log);

    // Batch cannot hold a job it has accepted: a hold set afterwards is said to be ignored, once per
    // generation (the status write below records the generation as handled).
    if (resource.spec.hold && !current) events.emit(resource, HOLD_IGNORED);

    // The owner guard, before anything is done with the jobs the status names.
    const found = await proven(resource, names, false, log);
    if (found.kind === 'notOwned') {
      await apply(resource, found, log);
      return {};
    }

    // 8) terminate.
    const cancelled = resource.spec.terminate ? await terminate(resource, found, log) : false;

    // 9) Observe, write the next status.
    const phase = await observe(resource, found, cancelled, log);
    resource = await apply(resource, phase, log);

    // 10) TTL of a job that just ended.
    if (isTerminal(resource.status?.state)) {
      forgetElements(resource);
      return expire(resource, log);
    }

    // 11) Look again after the poll interval (the poller enqueues sooner when the Batch job changes).
    return pollAgain();
  }

  async function submitOrWait(cached: Drmaa2Job, log: Logger): Promise<ReconcileResult> {
    // The cache keeps a large template without its text; translating needs all of it.
    const whole = cached.templateElided
      ? await store.getWhole(cached.metadata.namespace, cached.metadata.name)
      : cached;
    // Gone, replaced or being deleted meanwhile: the watch brings that change and its own pass.
    if (!whole || whole.metadata.uid !== cached.metadata.uid || whole.metadata.deletionTimestamp) return {};
    const resource = whole === cached ? cached : track(whole);
    // 4) What only the controller can check: no Batch call, no retry until the spec changes.
    const result = translate(resource);
    if (!result.ok) {
      log.warn({ fields: result.errors.map((e) => e.path) }, 'Drmaa2Job spec invalid');
      await apply(resource, { kind: 'invalid', errors: result.errors }, log);
      return {};
    }
    // 5) Held, terminated before submission, or waiting for its start time: nothing is submitted.
    if (resource.spec.terminate) {
      await apply(resource, { kind: 'terminated' }, log);
      return {};
    }
    if (resource.spec.hold) {
      await apply(resource, { kind: 'held' }, log);
      return {};
    }
    const startTime = resource.spec.jobTemplate.startTime;
    const wait = startTime ? Date.parse(startTime) - clock.now().getTime() : 0;
    if (wait > 0) {
      await apply(resource, { kind: 'waiting', until: startTime! }, log);
      return { requeueAfterMs: wait };
    }
    // 6) and 7) Buckets, then the Batch job(s); status.batchJob is written right after.
    await ensureBuckets(result.submission);
    const phase = await submit(resource, result.submission, log);
    const updated = await apply(resource, phase, log);
    if (isTerminal(updated.status?.state)) return phase.kind === 'submitted' ? expire(updated, log) : {};
    return pollAgain();
  }

  return async function reconcile(key: string): Promise<ReconcileResult> {
    const [namespace, name] = parseKey(key);
    // 1) Gone: nothing to do (the finalizer already cleaned up, or there was nothing to clean).
    const resource = await store.get(namespace, name);
    if (!resource) {
      endedElements.delete(key);
      superseded.delete(key);
      return {};
    }
    // The watch brings the newer copy and enqueues the key again; the requeue is only a safety net.
    if (behindOwnWrite(resource)) return { requeueAfterMs: STALE_REQUEUE_MS };
    track(resource);
    const log = deps.logger.child({
      namespace,
      name,
      batchJob: resource.status?.batchJob?.name ?? '',
    });
    try {
      return await ladder(resource, log);
    } catch (err) {
      if (isKubeError(err, 'Conflict')) {
        log.debug('Drmaa2Job changed meanwhile; requeued');
        return { requeueAfterMs: CONFLICT_REQUEUE_MS };
      }
      if (isKubeError(err, 'NotFound')) return {};
      if (isKubeError(err, 'Invalid')) {
        // The API server refuses the controller's own write for this object as it is stored (a rule it
        // cannot evaluate on it): retrying cannot help until the object changes.
        await reportProblem(latest.get(key) ?? resource, { reason: 'KubeError', message: err.message }, log);
        throw new TerminalError(`the API server refuses updates of ${key}: ${err.message}`, { cause: err });
      }
      const problem = syncProblemOf(err);
      if (problem) {
        log.warn(
          { reason: problem.reason, err: problem.message },
          'Reconcile failed; retrying with back-off',
        );
        await reportProblem(latest.get(key) ?? resource, problem, log);
      }
      throw err;
    } finally {
      latest.delete(key);
    }
  };
}
