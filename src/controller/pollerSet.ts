// One session poller per place Batch jobs live in: each distinct project, location, session and caller (the
// controller's own, and each BatchProfile's) is listed by its own poller, as that caller, started while this instance leads
// and as profiles come and go. To the reconciler the set is one JobCache: a job is found through the
// pollers of its parent (`projects/p/locations/l`).
import type { Job } from '../api/batch.js';
import { LABEL_SESSION } from '../api/drmaa2job.js';
import { callerKey, type Caller } from '../ports/callers.js';
import type { SyncProblem } from '../translate/conditions.js';
import type { Enqueue, JobCache, PollHealth, SessionPoller } from './poller.js';
import type { Source } from './runner.js';

export interface Place {
  /** `projects/{project}/locations/{location}` */
  parent: string;
  session: string;
  /** The service account the poller lists as (a profile's `impersonate`); absent: the controller's own. */
  caller?: Caller;
}

export interface PollerSetOptions {
  /** The places to poll now (called at start and after each change of profiles). */
  places(): Place[];
  make(place: Place): SessionPoller;
}

function keyOfPlace(place: Place): string {
  return `${place.parent}|${place.session}|${place.caller ? callerKey(place.caller) : ''}`;
}

function parentOfJob(name: string): string {
  return name.replace(/\/jobs\/[^/]+$/, '');
}

export class PollerSet implements JobCache, Source {
  private readonly pollers = new Map<string, { place: Place; poller: SessionPoller }>();
  private enqueue: Enqueue | undefined;

  constructor(private readonly opts: PollerSetOptions) {}

  /** Starts the pollers of the places there are now. */
  start(enqueue: Enqueue): void {
    this.enqueue = enqueue;
    this.sync();
  }

  /** Starts pollers for new places and stops those of places that went (a profile deleted or moved). */
  sync(): void {
    const enqueue = this.enqueue;
    if (!enqueue) return;
    const wanted = new Map(this.opts.places().map((place) => [keyOfPlace(place), place]));
    for (const [key, place] of wanted) {
      if (this.pollers.has(key)) continue;
      const poller = this.opts.make(place);
      this.pollers.set(key, { place, poller });
      poller.start(enqueue);
    }
    for (const [key, { poller }] of this.pollers) {
      if (wanted.has(key)) continue;
      this.pollers.delete(key);
      void poller.stop();
    }
  }

  async stop(): Promise<void> {
    this.enqueue = undefined;
    const all = [...this.pollers.values()];
    this.pollers.clear();
    await Promise.all(all.map(({ poller }) => poller.stop()));
  }

  private of(parent: string): SessionPoller[] {
    return [...this.pollers.values()].filter((p) => p.place.parent === parent).map((p) => p.poller);
  }

  get(name: string): Job | undefined {
    for (const poller of this.of(parentOfJob(name))) {
      const job = poller.get(name);
      if (job) return job;
    }
    return undefined;
  }

  follows(name: string): boolean {
    return this.of(parentOfJob(name)).some((poller) => poller.follows(name));
  }

  remember(job: Job): void {
    if (!job.name) return;
    const session = job.labels?.[LABEL_SESSION] ?? '';
    const parent = parentOfJob(job.name);
    for (const { place, poller } of this.pollers.values())
      if (place.parent === parent && place.session === session) poller.remember(job);
  }

  problem(jobName?: string): SyncProblem | undefined {
    const pollers = jobName ? this.of(parentOfJob(jobName)) : [...this.pollers.values()].map((p) => p.poller);
    for (const poller of pollers) {
      const problem = poller.problem();
      if (problem) return problem;
    }
    return undefined;
  }

  /** Each place's poll health, for the readiness check. */
  health(): { place: Place; health: PollHealth }[] {
    return [...this.pollers.values()].map(({ place, poller }) => ({ place, health: poller.health() }));
  }

  size(): number {
    return [...this.pollers.values()].reduce((n, { poller }) => n + poller.size(), 0);
  }
}
