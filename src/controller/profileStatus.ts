// Each BatchProfile's status, written by the leader: Ready (the profile is valid, or why not, with the
// fields), the generation that was judged, and how many Drmaa2Jobs were submitted under it and still exist.
// Written when it changes, after each change of profiles and every 10 seconds for the job counts.
import type { Logger } from 'pino';
import type { BatchProfile, BatchProfileStatus } from '../api/batchProfile.js';
import { parseKey } from '../api/drmaa2job.js';
import type { Clock } from '../ports/clock.js';
import type { JobWatch } from '../ports/jobWatch.js';
import type { ProfileSource } from '../ports/profileSource.js';
import type { MetaCondition } from '../api/drmaa2job.js';
import { nextCondition } from '../translate/conditions.js';
import { checkProfile } from '../translate/policy.js';
import { formatSpecError } from '../translate/specError.js';
import type { Source } from './runner.js';

/** Job counts follow within this long (a pass over the watch cache, a write only when a count moved). */
const REFRESH_MS = 10_000;

/** The status a profile should have: pure, from the profile and the job counts. */
export function profileStatusOf(profile: BatchProfile, jobs: number, now: Date): BatchProfileStatus {
  const errors = checkProfile(profile.spec, { name: profile.metadata.name });
  const generation = profile.metadata.generation;
  const ready = nextCondition<MetaCondition>(
    profile.status?.conditions?.find((c) => c.type === 'Ready'),
    errors.length === 0
      ? {
          type: 'Ready',
          status: 'True',
          reason: 'Valid',
          message: 'The profile is valid and in use as written.',
        }
      : {
          type: 'Ready',
          status: 'False',
          reason: 'InvalidProfile',
          message: errors.map((e) => formatSpecError(e)).join('; '),
        },
    generation,
    now,
  );
  const conditions = [ready];
  return { ...(generation !== undefined ? { observedGeneration: generation } : {}), conditions, jobs };
}

function sameStatus(a: BatchProfileStatus | undefined, b: BatchProfileStatus): boolean {
  const ready = (s: BatchProfileStatus | undefined) => s?.conditions?.find((c) => c.type === 'Ready');
  return (
    a?.observedGeneration === b.observedGeneration &&
    a?.jobs === b.jobs &&
    ready(a)?.status === ready(b)?.status &&
    ready(a)?.message === ready(b)?.message
  );
}

export class ProfileStatusWriter implements Source {
  private timer: ReturnType<typeof setInterval> | undefined;
  private writing: Promise<void> = Promise.resolve();
  private leading = false;

  constructor(
    private readonly source: ProfileSource,
    private readonly watch: JobWatch,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    source.onChange(() => this.refresh());
  }

  start(): void {
    this.leading = true;
    this.timer ??= setInterval(() => this.refresh(), REFRESH_MS);
    this.timer.unref?.();
    this.refresh();
  }

  async stop(): Promise<void> {
    this.leading = false;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.writing;
  }

  /** Writes every profile whose status differs from what it should be (one write at a time). */
  refresh(): void {
    if (!this.leading) return;
    this.writing = this.writing.then(() => this.writeAll()).catch(() => undefined);
  }

  private counts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const key of this.watch.keys()) {
      const parsed = parseKey(key);
      const name = parsed && this.watch.get(parsed.namespace, parsed.name)?.status?.profile?.name;
      if (name) counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    return counts;
  }

  private async writeAll(): Promise<void> {
    const counts = this.counts();
    for (const profile of this.source.profiles()) {
      const next = profileStatusOf(profile, counts.get(profile.metadata.name) ?? 0, this.clock.now());
      if (sameStatus(profile.status, next)) continue;
      try {
        await this.source.patchStatus(profile.metadata.name, next);
      } catch (err) {
        this.logger.warn(
          { profile: profile.metadata.name, err: (err as Error).message },
          'profile status not written',
        );
      }
    }
  }
}
