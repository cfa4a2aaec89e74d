// One reconcile of one Drmaa2Job: a numbered decision ladder, level-triggered and idempotent. Each pass
// reads the resource and its Batch job(s), moves one step, writes the status difference (a pass that ends
// a job may write once more for its TTL, a failing pass once to say why), and says when to look again. It
// never relies on having seen an event, so a pass that crashes anywhere is simply repeated. The rungs, in
// the order a pass meets them (docs/architecture.md follows one job through them):
//   1 gone · 2 deleting · 3 finalizer · 4 validation · 5 hold and start time · 6 buckets · 7 create ·
//   (5c Kueue's admission) · the owner guard · 8 terminate · 9 observe (9b a failed task's output) · 10 TTL ·
//   11 look again
import type { Logger } from 'pino';
import { isActiveJob, isCancellableJob, jobNameOf, stateOf, type Job } from '../api/batch.js';
import type { BatchProfile } from '../api/batchProfile.js';
import { FINALIZER, keyOf, parseKey, type AttemptRecord, type Drmaa2Job } from '../api/drmaa2job.js';
import type { BatchJobs } from '../ports/batchJobs.js';
import type { Buckets } from '../ports/buckets.js';
import type { Caller, CallerClients, ClientsFor } from '../ports/callers.js';
import type { Clock } from '../ports/clock.js';
import { isBatchError } from '../ports/errors.js';
import type { EventSink } from '../ports/eventSink.js';
import type { KubeStore } from '../ports/kubeStore.js';
import type { LogEntries } from '../ports/logEntries.js';
import type { Workloads, WorkloadState } from '../ports/workloads.js';
import { batchJobNames, formatSpecError, translateSpec, type Submission } from '../translate/index.js';
import { checkProfile } from '../translate/policy.js';
import {
  KUEUE_PRIORITY_CLASS_LABEL,
  KUEUE_QUEUE_LABEL,
  priorityClassOf,
  queueNameOf,
  withFlavorChoices,
  workloadFor,
  workloadName,
} from '../translate/workload.js';
import type { Resolution } from '../translate/profileResolution.js';
import { isTerminal, resynced, silentHintDueMs, type Phase, type SyncProblem } from '../translate/status.js';
import { EndedElements } from './endedElements.js';
import { failedOutputOf, type InstantBudget } from './failedOutput.js';
import { HOLD_IGNORED, batchJobNotOwnedEvent } from './events.js';
import { Expectations } from './expectations.js';
import { ownedJobsFor, prove, type OwnedJob, type OwnedJobs, type Proven } from './ownedJobs.js';
import { OwnWrites } from './ownWrites.js';
import type { JobCache } from './poller.js';
import { afterFailure, StageOutError } from './problems.js';
import { TerminalError, type Reconcile, type ReconcileResult } from './reconcileContract.js';
import { layoutOf, recordedJobs } from './namedJobs.js';
import { profileRef, type Profiles } from './profiles.js';
import { ResourceWrites } from './resourceWrites.js';
import { tasksOf, UnlistedTasks } from './taskListing.js';

export interface ReconcilerConfig {
  project: string;
  location: string;
  session: string;
  pollIntervalMs: number;
  /** How soon to look again at a job the session poll follows (see rung 11); the poll interval when
   * absent. */
  resyncIntervalMs?: number;
  /** Fraction of the poll interval added at random to each requeue, so resyncs spread out. Default 0.1. */
  requeueJitter?: number;
}

/** The part of the controller's metrics the reconciler feeds. */
export interface ReconcilerMetrics {
  submitLatency(seconds: number): void;
  requeued?(reason: string): void;
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
  /** The Batch and Storage ports as a profile's caller (a service account the controller impersonates);
   * without them every call is made with the controller's own credentials. */
  callers?: ClientsFor;
  /** BatchProfiles (multi-tenant); without them every job runs with the config's project, location and
   * session. */
  profiles?: Profiles;
  /** Whether the controller is behind, judged by the key in hand (how long it waited in the queue): then
   * moves between active states are not written (see rung 9). */
  backlogged?: (key: string) => boolean;
  /** Kueue's Workloads (`--kueue`): a resource with Kueue's queue-name label is submitted only once Kueue has
   * admitted the Workload that stands for it (see rung 5c). */
  workloads?: Workloads;
  /** Cloud Logging with the controller's own credentials, for a failed task's output in its status; without
   * it no output is read. */
  logs?: LogEntries;
  /** The controller's budget of Cloud Logging reads (see failedOutput.ts). */
  logReads?: InstantBudget;
  /** Random source for the requeue jitter (tests pass a constant). */
  random?: () => number;
}

/** How soon to look again while a deletion waits for Batch to cancel or delete the job. */
const DELETE_POLL_MS = 2000;
/** A pass that found the cache older than the controller's own last write looks again after this long
 * unless the watch delivers the write first (it normally does, within milliseconds). */
const STALE_REQUEUE_MS = 1000;
/** How soon to look again for the tasks of an ended job that Batch does not list yet. */
const UNLISTED_TASKS_REQUEUE_MS = 2000;

/** Builds the reconcile function for one controller. Dependencies are ports, so tests run it in memory. */
export function createReconciler(deps: ReconcilerDeps): Reconcile {
  const { store, batch, events, clock, config } = deps;
  const random = deps.random ?? Math.random;
  const ownWrites = new OwnWrites();
  const writes = new ResourceWrites(store, events, clock, ownWrites);
  const expected = new Expectations();
  const endedElements = new EndedElements();
  const unlistedTasks = new UnlistedTasks();
  return reconcile;

  async function reconcile(key: string): Promise<ReconcileResult> {
    const parsed = parseKey(key);
    if (!parsed) throw new TerminalError(`malformed key ${JSON.stringify(key)}`);
    // 1) Gone: nothing to do (the finalizer already cleaned up, or there was nothing to clean).
    const resource = await store.get(parsed.namespace, parsed.name);
    if (!resource) {
      endedElements.forget(key);
      unlistedTasks.forget(key);
      ownWrites.forget(key);
      return {};
    }
    // The watch brings the newer copy and enqueues the key again; the requeue is only a safety net.
    if (ownWrites.isBehind(resource)) return { requeueAfterMs: STALE_REQUEUE_MS };
    writes.track(resource);
    const log = deps.logger.child({ ...parsed, batchJob: resource.status?.batchJob?.name ?? '' });
    try {
      return await ladder(resource, log);
    } catch (err) {
      return await afterFailure(key, writes.newest(key) ?? resource, err, writes, log);
    } finally {
      writes.endPass(key);
    }
  }

  async function ladder(resource: Drmaa2Job, log: Logger): Promise<ReconcileResult> {
    // 2) Deleting.
    if (resource.metadata.deletionTimestamp) return finalize(resource, log);

    // 3) The finalizer goes on before any Batch call.
    const finalizers = resource.metadata.finalizers ?? [];
    if (!finalizers.includes(FINALIZER)) {
      resource = await writes.setFinalizers(resource, [...finalizers, FINALIZER]);
    }

    const status = resource.status;
    const current = status?.observedGeneration === resource.metadata.generation;
    const names = jobNamesOf(resource);
    if (isTerminal(status?.state) && status?.finishedAt) {
      // Ended: nothing is asked of Batch any more (the job left the poll set) but the TTL.
      if (names.length > 0) {
        await finishWorkload(resource);
        return expire(await writes.writeStatus(resource, resynced(resource, clock.now())), log);
      }
      // Failed before submission (invalid spec, conflict, rejected, terminated): nothing is retried
      // until the spec changes.
      if (current) return {};
    }

    // 4) to 7): not submitted yet.
    if (names.length === 0) return submitOrWait(resource, log);

    // Batch cannot hold a job it has accepted: a hold set afterwards is said to be ignored, once per
    // generation (the status write below records the generation as handled).
    if (resource.spec.hold && !current) events.emit(resource, HOLD_IGNORED);

    // The owner guard, before anything is done with the jobs the status names.
    const found = await proven(resource, names, false, log);
    if (found.kind === 'notOwned') {
      await writes.apply(resource, found, log);
      return {};
    }

    // 8a) Kueue took the admission back (preempted, evicted, deactivated): the attempt's Batch job(s) are
    // cancelled, and once they have ended the job waits for admission again.
    const workload = await workloadOf(resource);
    if (workload?.evicted && !workload.finished) {
      const requeued = await afterEviction(resource, found, workload, log);
      if (requeued) return requeued;
    }

    // 8) terminate.
    const cancelled = resource.spec.terminate ? await terminate(resource, found, log) : false;

    // 9) Observe, write the next status; an end whose tasks Batch does not list yet waits for them (bounded).
    const { phase: observed, unlisted } = await observe(resource, found, cancelled, log);
    const key = keyOf(resource);
    if (unlisted && unlistedTasks.mayWait(key, clock.now().getTime())) {
      log.debug('Batch job ended; its tasks are not listed yet');
      return { requeueAfterMs: Math.min(config.pollIntervalMs, UNLISTED_TASKS_REQUEUE_MS) };
    }
    unlistedTasks.forget(key);
    const phase = await withOutput(resource, observed, log);
    // While a backlog exists, a move between active states (Queued to Running, task counts) waits: the pass
    // that sees the job end writes the end, and a resync after the backlog the state it is in then. What a
    // user acts on is always written at once: the submission, the end, a problem, a changed spec.
    const problem = pollProblem(phase);
    if (
      deps.backlogged?.(key) &&
      current &&
      !cancelled &&
      !problem &&
      phase.kind === 'submitted' &&
      phase.jobs.every(isActiveJob) &&
      !isTerminal(resource.status?.state) &&
      resource.status?.batchJob &&
      resource.status.conditions?.find((c) => c.type === 'Synced')?.status !== 'False'
    )
      return pollAgain();
    resource = await writes.apply(resource, phase, log, problem);

    // 10) TTL of a job that just ended; its Workload's quota goes back to Kueue.
    if (isTerminal(resource.status?.state)) {
      endedElements.forget(keyOf(resource));
      await finishWorkload(resource, workload);
      return expire(resource, log);
    }

    // 11) Look again. Kueue may take a workload's admission back at any time, and nothing but its Workload says
    // so: without a watch of the Workloads, it is looked at every poll interval, not after the resync.
    if (deps.workloads && !deps.workloads.watched && workload) return pollAgain();
    return pollAgain(observed.kind === 'submitted' ? observed.jobs : []);
  }

  // 2) Deleting: apply the deletion policy, then remove the finalizer so the resource can go.
  async function finalize(resource: Drmaa2Job, log: Logger): Promise<ReconcileResult> {
    endedElements.forget(keyOf(resource));
    unlistedTasks.forget(keyOf(resource));
    const finalizers = resource.metadata.finalizers ?? [];
    if (!finalizers.includes(FINALIZER)) return {};
    let foreign: string[] = [];
    if (resource.spec.deletionPolicy !== 'Orphan') {
      const outcome = await deleteBatchJobs(resource, log);
      if (outcome.pending) return { requeueAfterMs: Math.min(DELETE_POLL_MS, config.pollIntervalMs) };
      foreign = outcome.foreign;
    }
    // The Workload goes after the Batch job(s): until then its quota stands for them. (The owner reference
    // would have Kubernetes delete it too, but only after the resource is gone.)
    if (deps.workloads && (queueNameOf(resource) || (await workloadOfAny(resource))))
      await deps.workloads.delete(resource.metadata.namespace, workloadName(resource));
    await writes.setFinalizers(
      resource,
      finalizers.filter((f) => f !== FINALIZER),
    );
    expected.observed(resource.metadata.uid);
    // A name the status or this process claimed that turned out to be someone else's is said once, as the
    // resource goes (IDs the spec merely derives, such as an ID before it carried the namespace, are
    // expected to be taken and are not worth a Warning).
    if (foreign.length > 0) events.emit(resource, batchJobNotOwnedEvent(foreign, 'left alone on deletion'));
    log.info({ deletionPolicy: resource.spec.deletionPolicy ?? 'Delete' }, 'Finalizer removed');
    return {};
  }

  /** Moves each of the resource's own Batch jobs one step towards gone: cancel if active, else delete.
   * `pending` while any exists; `foreign`: claimed names whose jobs belong to someone else, untouched. The
   * names are every job the resource has or may have: those its status or this process names, and those
   * its spec's IDs derive (a crash between create and status write leaves a job no status names yet). */
  async function deleteBatchJobs(
    resource: Drmaa2Job,
    log: Logger,
  ): Promise<{ pending: boolean; foreign: string[] }> {
    const jobs = jobsOf(resource);
    const claimed = jobNamesOf(resource);
    const foreign: string[] = [];
    let pending = false;
    for (const name of new Set([...claimed, ...derivedNames(resource, true)])) {
      const found = await jobs.read(name, true);
      if (found.kind === 'missing') continue;
      if (found.kind === 'foreign') {
        if (claimed.includes(name)) foreign.push(name);
        log.debug({ batchJob: name }, 'Batch job of another owner left alone');
        continue;
      }
      pending = true;
      const state = stateOf(found.job);
      if (isCancellableJob(found.job)) {
        await jobs.cancel(found.job);
        log.info({ batchJob: name }, 'Batch job cancelled before deletion');
      } else if (state !== 'CANCELLATION_IN_PROGRESS' && state !== 'DELETION_IN_PROGRESS') {
        await jobs.delete(found.job, 'Drmaa2Job deleted');
        log.info({ batchJob: name }, 'Batch job deletion requested');
      }
    }
    return { pending, foreign };
  }

  async function submitOrWait(cached: Drmaa2Job, log: Logger): Promise<ReconcileResult> {
    // The cache keeps a large template without its text; translating needs all of it.
    const whole = cached.templateElided
      ? await store.getWhole(cached.metadata.namespace, cached.metadata.name)
      : cached;
    // Gone, replaced or being deleted meanwhile: the watch brings that change and its own pass.
    if (!whole || whole.metadata.uid !== cached.metadata.uid || whole.metadata.deletionTimestamp) return {};
    const resource = whole === cached ? cached : writes.track(whole);

    // 4) What only the controller can check: no Batch call, no retry until the spec changes. A job that is
    // submitted in this pass is translated once, under the profile it goes with (5b); one that is not (held,
    // terminated, waiting) is judged by its spec alone, and by the profile only when it goes.
    const { namespace, name, uid } = resource.metadata;
    const ctx = {
      project: config.project,
      location: config.location,
      session: config.session,
      owner: { namespace, name, uid },
      ...(resource.status?.attempt ? { attempt: resource.status.attempt } : {}),
    };
    const startTime = resource.spec.jobTemplate.startTime;
    const wait = startTime ? Date.parse(startTime) - clock.now().getTime() : 0;
    const goesNow = !resource.spec.terminate && !resource.spec.hold && wait <= 0;
    const resolution: Resolution = (goesNow && deps.profiles?.resolve(resource)) || { kind: 'none' };
    const profile = resolution.kind === 'profile' ? resolution.profile : undefined;
    // A broken profile is the platform team's to mend, not the tenant's fault: its jobs wait for it.
    const broken = profile ? checkProfile(profile.spec, { name: profile.metadata.name }) : [];
    const under = profile && broken.length === 0 ? profile : undefined;
    const result = translateSpec(
      resource.spec,
      under ? { ...ctx, profile: { name: under.metadata.name, spec: under.spec } } : ctx,
    );
    // The spec's own errors come first, whatever the profile.
    if (!result.ok && result.reason === 'InvalidSpec') {
      log.warn({ fields: result.errors.map((e) => e.path) }, 'Drmaa2Job spec invalid');
      await writes.apply(resource, { kind: 'invalid', errors: result.errors }, log);
      return {};
    }

    // 5) Held, terminated before submission, or waiting for its start time: nothing is submitted. A held job's
    // Workload is inactive, so that it takes no quota; a terminated one's is gone. The queue is the label's,
    // else the one an existing Workload names (see workloadOfAny).
    const existing = await workloadOfAny(resource);
    const queue = deps.workloads ? (queueNameOf(resource) ?? existing?.queueName) : undefined;
    if (resource.spec.terminate) {
      if (queue) await deps.workloads!.delete(namespace, workloadName(resource));
      await writes.apply(resource, { kind: 'terminated' }, log);
      return {};
    }
    if (resource.spec.hold) {
      const workload = queue ? existing : undefined;
      if (workload?.active) await deps.workloads!.setActive(namespace, workload.name, false);
      await writes.apply(
        resource,
        workload ? { kind: 'admissionPending', queue: queue!, held: true } : { kind: 'held' },
        log,
      );
      return {};
    }
    if (wait > 0) {
      await writes.apply(resource, { kind: 'waiting', until: startTime! }, log);
      return { requeueAfterMs: wait };
    }

    // 5b) The profile, judged as it is now that the job is submitted: where and as whom, and its rules.
    if (resolution.kind === 'waiting' || resolution.kind === 'refused') {
      log.info({ reason: resolution.reason }, 'No BatchProfile to submit under');
      const kind = resolution.kind === 'waiting' ? 'profileWaiting' : 'profileRefused';
      await writes.apply(
        resource,
        { kind, reason: resolution.reason, message: resolution.message } as Phase,
        log,
      );
      return {};
    }
    if (profile && broken.length > 0) {
      const message = `BatchProfile ${profile.metadata.name} is invalid (${broken.map(formatSpecError).join('; ')}); the job is submitted once it is fixed.`;
      await writes.apply(resource, { kind: 'profileWaiting', reason: 'ProfileInvalid', message }, log);
      return {};
    }
    if (!result.ok) {
      log.warn(
        { fields: result.errors.map((e) => e.path), profile: profile?.metadata.name },
        'Drmaa2Job refused',
      );
      await writes.apply(resource, { kind: 'policy', errors: result.errors }, log);
      return {};
    }

    // 5b) A profile that sends all its jobs through Kueue: one that names no LocalQueue waits for the label.
    // Not Failed: a label is no part of the spec, and its change brings the job back through the watch.
    if (profile?.spec.kueue?.required && !queue) {
      const name = profile.metadata.name;
      const message = deps.workloads
        ? `BatchProfile ${name} sends every job through Kueue: label it ${KUEUE_QUEUE_LABEL}: <LocalQueue> to be queued.`
        : `BatchProfile ${name} sends every job through Kueue, and the controller does not run with --kueue: the job waits until it does.`;
      log.info({ profile: name }, 'Waiting for a Kueue queue-name label');
      await writes.apply(resource, { kind: 'profileWaiting', reason: 'QueueRequired', message }, log);
      return {};
    }

    // 5c) Kueue decides when: the Workload that stands for the job waits in its LocalQueue until Kueue
    // admits it. Looked at again when it changes (the Workload watch), else every poll interval.
    let submission = result.submission;
    if (queue) {
      const admission = await admitted(resource, submission, queue, existing, log);
      if (admission.kind === 'waiting') return admission.watched ? resyncAgain() : pollAgain();
      if (admission.kind !== 'admitted') return pollAgain();
      // The admitting flavor may choose the provisioning model (README, "Kueue").
      const flavors = Object.values(admission.workload.flavors);
      if (flavors.length > 0)
        submission = {
          ...submission,
          requests: withFlavorChoices(submission.requests, await deps.workloads!.flavorNodeLabels(flavors)),
        };
    }

    // 6) and 7) Buckets, then the Batch job(s), as the profile's caller; status.batchJob (and the profile)
    // is written right after.
    const as = clientsOf(profile?.spec.impersonate);
    await ensureBuckets(as.buckets, submission, profile);
    const submitted = await submit(resource, submission, as.batch, log);
    const phase: Phase =
      submitted.kind === 'submitted' && profile ? { ...submitted, profile: profileRef(profile) } : submitted;
    const updated = await writes.apply(resource, phase, log, pollProblem(phase));
    if (isTerminal(updated.status?.state)) return phase.kind === 'submitted' ? expire(updated, log) : {};
    return pollAgain(phase.kind === 'submitted' ? phase.jobs : []);
  }

  // 5c) The resource's Workload, made when it first goes (active again once released from a hold), and
  // whether Kueue admitted it. A crash after the admission and before the create finds it admitted and
  // creates the Batch job under the same deterministic ID. `waiting` says whether a change of the Workload
  // will bring the job back (watched), `noPriorityClass` that nothing will (it has no Workload yet).
  // `existing`: the Workload as this pass read it.
  async function admitted(
    resource: Drmaa2Job,
    submission: Submission,
    queue: string,
    existing: WorkloadState | undefined,
    log: Logger,
  ): Promise<
    | { kind: 'admitted'; workload: WorkloadState }
    | { kind: 'waiting'; watched: boolean }
    | { kind: 'noPriorityClass' }
  > {
    const workloads = deps.workloads!;
    const { namespace } = resource.metadata;
    let workload = existing;
    if (!workload) {
      const priorityClass = priorityClassOf(resource);
      const value =
        priorityClass !== undefined ? await workloads.priorityClassValue(priorityClass) : undefined;
      if (priorityClass !== undefined && value === undefined) {
        const message = `WorkloadPriorityClass ${priorityClass} (label ${KUEUE_PRIORITY_CLASS_LABEL}) does not exist: the Workload is made once it does.`;
        await writes.apply(resource, { kind: 'admissionPending', queue, held: false, message }, log);
        return { kind: 'noPriorityClass' };
      }
      workload = await workloads.create(
        workloadFor(resource, submission.requests[0]!, {
          active: true,
          ...(value !== undefined ? { priorityClassValue: value } : {}),
        }),
      );
      log.info({ workload: workload.name, queue }, 'Workload created');
    } else if (!workload.active) {
      await workloads.setActive(namespace, workload.name, true);
    }
    // Evicted and not yet queued again: a pass that recorded the attempt and then crashed left it so.
    if (workload.evicted) {
      await workloads.requeue(namespace, workload.name, workload.evicted);
    } else if (workload.admitted && !workload.finished) return { kind: 'admitted', workload };
    const phase: Phase = {
      kind: 'admissionPending',
      queue,
      held: false,
      ...(workload.pendingMessage ? { message: workload.pendingMessage } : {}),
    };
    await writes.apply(resource, phase, log);
    return { kind: 'waiting', watched: workloads.watched === true };
  }

  /** The Workload of a submitted job that has not ended, read once per pass: it says whether Kueue took the
   * admission back (8a) and, when the pass sees the end, whether it is Finished already (10). */
  async function workloadOf(resource: Drmaa2Job): Promise<WorkloadState | undefined> {
    if (isTerminal(resource.status?.state)) return undefined;
    return workloadOfAny(resource);
  }

  /** Whether the job is a Kueue workload is its Workload's to say once one exists, not the label's: a label
   * taken off after the Workload was made must neither send the job past its queue nor leave the quota Kueue
   * reserved for it held after the job has ended. (A read of the watch's cache.) */
  async function workloadOfAny(resource: Drmaa2Job): Promise<WorkloadState | undefined> {
    if (!deps.workloads) return undefined;
    return deps.workloads.get(resource.metadata.namespace, workloadName(resource));
  }

  // 8a) The evicted attempt's Batch jobs are cancelled (never two attempts running at once: the next is
  // created only once these have ended); then the attempt is recorded, the status forgets its jobs, the
  // Workload's admission is cleared so that Kueue queues it again, and the next admission submits a new job
  // (its ID carries the attempt). A job that succeeded before the cancel reached it ends Done instead.
  async function afterEviction(
    resource: Drmaa2Job,
    found: Proven,
    workload: WorkloadState,
    log: Logger,
  ): Promise<ReconcileResult | undefined> {
    const evicted = workload.evicted!;
    let stopping = false;
    for (const job of found.jobs) {
      if (!job) continue;
      if (isCancellableJob(job)) {
        await found.owned.cancel(job);
        log.info(
          { batchJob: job.name, reason: evicted.reason },
          'Batch job cancelled: Kueue took the admission back',
        );
        stopping = true;
      } else if (isActiveJob(job)) stopping = true;
    }
    let jobs = found.jobs;
    if (stopping) {
      // Read again: a cancel often lands at once. Still stopping: shown as such (never as the job's end,
      // which an eviction is not), and looked at again soon.
      const now = await proven(resource, found.names, true, log);
      if (now.kind === 'notOwned') return undefined;
      if (now.jobs.some((job) => job && isActiveJob(job))) {
        const { phase } = await observe(resource, now, false, log);
        if (phase.kind === 'submitted' && !phase.jobs.some((job) => !isActiveJob(job)))
          await writes.apply(resource, phase, log);
        return { requeueAfterMs: Math.min(config.pollIntervalMs, DELETE_POLL_MS) };
      }
      jobs = now.jobs;
    }
    if (jobs.every((job) => job && stateOf(job) === 'SUCCEEDED')) return undefined;
    const attempt = resource.status?.attempt ?? 0;
    const record: AttemptRecord = {
      attempt,
      ...(resource.status?.batchJob?.name ? { batchJob: resource.status.batchJob.name } : {}),
      reason: evicted.reason,
      ...(evicted.message ? { message: evicted.message.slice(0, 2048) } : {}),
      requeuedAt: clock.now().toISOString(),
    };
    const queue = queueNameOf(resource) ?? workload.queueName ?? '';
    const updated = await writes.apply(resource, { kind: 'requeued', queue, record }, log);
    await deps.workloads!.requeue(resource.metadata.namespace, workloadName(resource), evicted);
    deps.metrics?.requeued?.(evicted.reason);
    events.emit(updated, {
      type: 'Warning',
      reason: 'Requeued',
      action: 'Requeue',
      note: `Kueue took the admission back (${evicted.reason}); the job waits in LocalQueue ${queue} again (attempt ${attempt + 1})`.slice(
        0,
        1000,
      ),
    });
    return pollAgain();
  }

  /** A Kueue-managed job has ended: its Workload is Finished, so Kueue releases its quota. `known`: the
   * Workload as this pass read it already. */
  async function finishWorkload(resource: Drmaa2Job, known?: WorkloadState): Promise<void> {
    if (!deps.workloads) return;
    const { namespace } = resource.metadata;
    const workload = known ?? (await deps.workloads.get(namespace, workloadName(resource)));
    if (!workload || workload.finished) return;
    const state = resource.status?.state;
    await deps.workloads.finish(
      namespace,
      workload.name,
      state === 'Done',
      resource.status?.message ?? `The Drmaa2Job is ${state ?? 'finished'}.`,
    );
  }

  // 6) Stage-out buckets exist before the job that writes into them. A profile's buckets are created in its
  // project; those it lets jobs write to but not create must exist already: the job waits for them (the
  // platform team makes them), it is not failed.
  async function ensureBuckets(
    buckets: Buckets,
    submission: Submission,
    profile: BatchProfile | undefined,
  ): Promise<void> {
    const project = profile?.spec.project ?? config.project;
    for (const bucket of submission.buckets) {
      try {
        await buckets.ensureBucket(bucket, project);
      } catch (err) {
        throw new StageOutError(bucket, err);
      }
    }
    for (const bucket of submission.mustExist ?? []) {
      let found: boolean;
      try {
        found = await buckets.bucketExists(bucket, project);
      } catch (err) {
        throw new StageOutError(bucket, err);
      }
      if (!found)
        throw new StageOutError(
          bucket,
          new Error(
            `does not exist, and BatchProfile ${profile?.metadata.name ?? ''} lets stage-out write to it but not create it (allowed.buckets: no rule with create: true matches); the job is submitted once it exists`,
          ),
        );
    }
  }

  // 7) Create the Batch job(s) with deterministic IDs, adopting what an earlier pass created.
  async function submit(
    resource: Drmaa2Job,
    submission: Submission,
    batch: BatchJobs,
    log: Logger,
  ): Promise<Phase> {
    const owned = ownedJobsFor(resource, batch, deps.jobCache);
    const jobs: OwnedJob[] = [];
    let created = false;
    for (const request of submission.requests) {
      const name = jobNameOf(request.parent, request.jobId);
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
    expected.expect(
      resource.metadata.uid,
      jobs.map((job) => job.name ?? ''),
    );
    const { tasks } = await tasksOf(owned, resource, jobs, submission.array);
    return { kind: 'submitted', jobs, tasks, ...(submission.array ? { array: submission.array } : {}) };
  }

  /** The owner guard over the jobs a resource names (see prove): a foreign name in the status is said
   * once, with a Warning, when the resource's own jobs are followed instead. */
  async function proven(resource: Drmaa2Job, names: string[], fresh: boolean, log: Logger) {
    const key = keyOf(resource);
    const perElement = layoutOf(resource)?.mode === 'perElement';
    const result = await prove(jobsOf(resource), names, () => derivedNames(resource, false), {
      fresh,
      ...(perElement ? { known: (name: string) => endedElements.get(key, name) } : {}),
    });
    const refused = result.kind === 'notOwned' ? result.names : (result.refused ?? []);
    if (refused.length > 0)
      log.warn({ refused, followed: result.kind === 'owned' }, 'Batch job of another owner');
    // Otherwise the move to Failed (BatchJobNotOwned) says it.
    if (result.kind === 'owned' && result.refused) {
      const own = result.names;
      const more = own.length > 1 ? ' and the rest' : '';
      events.emit(
        resource,
        batchJobNotOwnedEvent(result.refused, `following this resource's own ${own[0]}${more}`),
      );
    }
    return result;
  }

  // 8) terminate: cancel the Batch job(s) once; the record is kept and ends Failed.
  async function terminate(resource: Drmaa2Job, found: Proven, log: Logger): Promise<boolean> {
    const subState = resource.status?.subState;
    if (subState === 'CANCELLATION_IN_PROGRESS' || isTerminal(resource.status?.state)) return false;
    let cancelled = false;
    for (const job of found.jobs) {
      if (!job || !isCancellableJob(job)) continue;
      await found.owned.cancel(job);
      cancelled = true;
      log.info({ batchJob: job.name }, 'Batch job cancelled (terminate)');
    }
    return cancelled;
  }

  // 9) Observe: the Batch job(s) as they are now (read again right after a cancel).
  async function observe(
    resource: Drmaa2Job,
    found: Proven,
    fresh: boolean,
    log: Logger,
  ): Promise<{ phase: Phase; unlisted?: boolean }> {
    const array = layoutOf(resource);
    const now = fresh ? await proven(resource, found.names, true, log) : found;
    if (now.kind === 'notOwned') return { phase: now };
    const jobs = now.jobs.filter((job): job is OwnedJob => job !== undefined);
    if (jobs.length < now.names.length) return { phase: { kind: 'lost' } };
    if (array?.mode === 'perElement') endedElements.note(keyOf(resource), jobs);
    const { tasks, unlisted } = await tasksOf(now.owned, resource, jobs, array);
    return { phase: { kind: 'submitted', jobs, tasks, ...(array ? { array } : {}) }, unlisted };
  }

  // 9b) A job that has just failed: its Failed condition ends with the failed task's last output lines,
  // read once from Cloud Logging as the caller its Batch calls are made as (failedOutput.ts).
  async function withOutput(resource: Drmaa2Job, phase: Phase, log: Logger): Promise<Phase> {
    if (phase.kind !== 'submitted' || isTerminal(resource.status?.state) || resource.spec.terminate)
      return phase;
    if (phase.jobs.some(isActiveJob) || !phase.jobs.some((job) => stateOf(job) === 'FAILED')) return phase;
    const resolution = deps.profiles?.resolve(resource);
    const output = await failedOutputOf(
      resource,
      phase.jobs,
      phase.tasks,
      resolution?.kind === 'profile' ? resolution.profile : undefined,
      {
        logs: clientsOf(placeOf(resource).caller).logs,
        budget: deps.logReads,
        onError: (err) => log.warn({ err }, "the failed task's output could not be read from Cloud Logging"),
      },
      clock.now(),
    );
    return output ? { ...phase, output } : phase;
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
      await writes.apply(resource, found, log);
      return {};
    }
    for (const job of found.jobs) if (job) await found.owned.delete(job, 'ttlSecondsAfterFinished');
    await expireEarlierAttempts(resource, found, log);
    const name = found.names[0]!;
    const updated = await writes.writeStatus(resource, {
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

  /** The Batch jobs of the attempts before the last (Kueue took their admission back, and each was cancelled
   * before the next began) go with the last attempt's: those the attempt records name and those the spec's IDs
   * derive for earlier attempts, each read through the guard. A name that is another owner's is left alone:
   * the record is history, not a claim worth failing the resource for. */
  async function expireEarlierAttempts(resource: Drmaa2Job, last: Proven, log: Logger): Promise<void> {
    const attempts = resource.status?.attempts ?? [];
    if (attempts.length === 0) return;
    const current = new Set(last.names);
    const recorded = attempts.flatMap((a) => (a.batchJob ? [a.batchJob] : []));
    for (const name of new Set([...recorded, ...derivedNames(resource, true)])) {
      if (current.has(name)) continue;
      const found = await last.owned.read(name, true);
      if (found.kind !== 'owned' || isActiveJob(found.job)) continue;
      await last.owned.delete(found.job, 'ttlSecondsAfterFinished');
      log.info({ batchJob: name }, 'Batch job of an earlier attempt deleted after the TTL');
    }
  }

  /** While the session poll keeps failing, a resource whose job it should follow says so (Synced=False);
   * the pass itself read the job with GetJob, so its state is current. */
  function pollProblem(phase: Phase): SyncProblem | undefined {
    if (phase.kind !== 'submitted' || !phase.jobs.some(isActiveJob)) return undefined;
    return deps.jobCache?.problem?.(phase.jobs[0]!.name);
  }

  // 11) Look again after the poll interval; while the session poll follows each of the resource's active
  // jobs, after the longer resync interval: the poll enqueues the resource on every change it sees and when a
  // job leaves its list, so the resync is only a safety net, and a pass per job per poll interval would be
  // most of the controller's work with thousands running. Never later than the status changes by time alone
  // (the hint on a silent SCHEDULED job). Jitter spreads the resyncs out.
  function pollAgain(jobs: readonly Job[] = []): ReconcileResult {
    let after = config.pollIntervalMs;
    const resync = config.resyncIntervalMs ?? after;
    if (resync > after && followed(jobs)) {
      const now = clock.now().getTime();
      const timed = jobs.map(silentHintDueMs).filter((at): at is number => at !== undefined && at > now);
      after = Math.max(after, Math.min(resync, ...timed.map((at) => at - now)));
    }
    return jittered(after);
  }

  /** What a watch brings back (a Workload's change): looked at again only after the resync, a safety net. */
  function resyncAgain(): ReconcileResult {
    return jittered(Math.max(config.resyncIntervalMs ?? 0, config.pollIntervalMs));
  }

  function jittered(afterMs: number): ReconcileResult {
    return { requeueAfterMs: Math.round(afterMs * (1 + (config.requeueJitter ?? 0.1) * random())) };
  }

  /** Whether the session poll follows every active one of these jobs. */
  function followed(jobs: readonly Job[]): boolean {
    const cache = deps.jobCache;
    const active = jobs.filter(isActiveJob);
    return (
      cache !== undefined &&
      active.length > 0 &&
      active.every((job) => cache.follows?.(job.name ?? '') === true)
    );
  }

  /** The Batch jobs of a resource: those its status names, else those this process just submitted. */
  function jobNamesOf(resource: Drmaa2Job): string[] {
    const recorded = recordedJobs(resource);
    if (recorded.length === 0) return expected.get(resource.metadata.uid);
    expected.observed(resource.metadata.uid);
    return recorded;
  }

  /** The names the resource's spec gives its Batch jobs; `legacy` adds those an explicit jobName gave
   * before IDs carried the namespace. */
  function derivedNames(resource: Drmaa2Job, legacy: boolean): string[] {
    const { namespace, name, uid } = resource.metadata;
    const { project, location } = placeOf(resource);
    const attempt = resource.status?.attempt ?? 0;
    return batchJobNames(
      resource.spec,
      { project, location, owner: { namespace, name, uid }, attempt },
      legacy,
    );
  }

  /** Where the resource's Batch jobs live, and as whom they are reached: under the profile its status
   * records, else the profile it resolves to now (a crash between create and status write leaves no
   * record), else the config's with the controller's own identity. The recorded caller is used as it is:
   * whoever the caller, the owner guard acts only on jobs labelled with this resource's UID. */
  function placeOf(resource: Drmaa2Job): { project: string; location: string; caller?: Caller } {
    const recorded = resource.status?.profile;
    if (recorded) return recorded;
    const resolution = deps.profiles?.resolve(resource);
    if (resolution?.kind === 'profile') {
      const { project, location, impersonate } = resolution.profile.spec;
      return { project, location, ...(impersonate ? { caller: impersonate } : {}) };
    }
    return config;
  }

  /** The ports as the caller a profile names; the controller's own without one. */
  function clientsOf(caller: Caller | undefined): CallerClients {
    return caller && deps.callers
      ? deps.callers(caller)
      : { batch, buckets: deps.buckets, ...(deps.logs ? { logs: deps.logs } : {}) };
  }

  /** The guarded Batch calls for this resource (see ownedJobs.ts): the only way a pass reaches a job. */
  function jobsOf(resource: Drmaa2Job): OwnedJobs {
    return ownedJobsFor(resource, clientsOf(placeOf(resource).caller).batch, deps.jobCache);
  }

  function observeSubmitLatency(resource: Drmaa2Job): void {
    const created = Date.parse(resource.metadata.creationTimestamp ?? '');
    if (Number.isNaN(created)) return;
    deps.metrics?.submitLatency(Math.max(0, (clock.now().getTime() - created) / 1000));
  }
}
