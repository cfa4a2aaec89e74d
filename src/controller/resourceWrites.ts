// How a pass writes its resource: the status as one merge patch of what changed (none when nothing did), the
// finalizers guarded by the resourceVersion, each write told to the stale-write guard, and the newest copy
// kept for the rest of the pass, so that a pass that fails reports its problem against what it last wrote.
import type { Logger } from 'pino';
import { keyOf, type Drmaa2Job, type Drmaa2JobStatus } from '../api/drmaa2job.js';
import type { Clock } from '../ports/clock.js';
import type { EventSink } from '../ports/eventSink.js';
import type { KubeStore } from '../ports/kubeStore.js';
import {
  nextStatus,
  statusPatch,
  withSyncProblem,
  type Phase,
  type SyncProblem,
} from '../translate/status.js';
import { transitionEvents } from './events.js';
import type { OwnWrites } from './ownWrites.js';

export class ResourceWrites {
  /** The newest copy of each resource in a pass (one pass per key at a time). */
  private readonly latest = new Map<string, Drmaa2Job>();

  constructor(
    private readonly store: KubeStore,
    private readonly events: EventSink,
    private readonly clock: Clock,
    private readonly ownWrites: OwnWrites,
  ) {}

  /** Starts following `resource` as the pass's newest copy; returns it. */
  track(resource: Drmaa2Job): Drmaa2Job {
    this.latest.set(keyOf(resource), resource);
    return resource;
  }

  /** The pass's newest copy of the resource under `key`. */
  newest(key: string): Drmaa2Job | undefined {
    return this.latest.get(key);
  }

  endPass(key: string): void {
    this.latest.delete(key);
  }

  async setFinalizers(resource: Drmaa2Job, finalizers: string[]): Promise<Drmaa2Job> {
    return this.wrote(resource, await this.store.setFinalizers(resource, finalizers));
  }

  /** Writes the difference between the resource's status and `status` as one patch (none when equal). */
  async writeStatus(resource: Drmaa2Job, status: Drmaa2JobStatus): Promise<Drmaa2Job> {
    const patch = statusPatch(resource.status, status);
    if (!patch) return resource;
    return this.wrote(resource, await this.store.patchStatus(resource, patch));
  }

  /** Computes the next status for `phase`, writes it, and records the transition (Events, a log line).
   * `problem`: what keeps the controller from following the job, though this pass went through. */
  async apply(resource: Drmaa2Job, phase: Phase, log: Logger, problem?: SyncProblem): Promise<Drmaa2Job> {
    const status = nextStatus({
      resource,
      phase,
      now: this.clock.now(),
      ...(problem ? { syncProblem: problem } : {}),
    });
    const updated = await this.writeStatus(resource, status);
    for (const event of transitionEvents(resource.status, status)) this.events.emit(updated, event);
    if (resource.status?.state !== status.state || resource.status?.subState !== status.subState) {
      log.info({ state: status.state, subState: status.subState }, 'Drmaa2Job state changed');
    }
    return updated;
  }

  /** Best effort: shows why no progress is made (Synced=False, one Warning per new reason). */
  async reportProblem(resource: Drmaa2Job, problem: SyncProblem, log: Logger): Promise<void> {
    const now = this.clock.now();
    const previous = resource.status?.conditions?.find((c) => c.type === 'Synced');
    const status = resource.status?.state
      ? withSyncProblem(resource, problem, now)
      : nextStatus({ resource, phase: { kind: 'pending' }, now, syncProblem: problem });
    try {
      await this.writeStatus(resource, status);
    } catch (err) {
      log.debug({ err: (err as Error).message }, 'Could not record the sync problem');
    }
    if (previous?.reason !== problem.reason || previous.status !== 'False') {
      const note = `${problem.reason}: ${problem.message}`.slice(0, 1000);
      const reason =
        problem.reason === 'StorageError' || problem.reason === 'KubeError' ? problem.reason : 'BatchError';
      this.events.emit(resource, { type: 'Warning', reason, action: 'Sync', note });
    }
  }

  private wrote(before: Drmaa2Job, after: Drmaa2Job): Drmaa2Job {
    this.ownWrites.wrote(before, after);
    return this.track(after);
  }
}
