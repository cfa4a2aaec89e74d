// Ended element jobs of per-element arrays whose other elements still run, by resource key. An ended Batch
// job no longer changes and has left the poller's list, so without this memory every pass would read each
// finished element again. Forgotten when the resource ends, is deleted or is gone.
import { isActiveJob } from '../api/batch.js';
import type { OwnedJob } from './ownedJobs.js';
import { retained } from './poller.js';

export class EndedElements {
  private readonly byKey = new Map<string, Map<string, OwnedJob>>();

  /** The ended element job remembered under `name` for the resource `key`. */
  get(key: string, name: string): OwnedJob | undefined {
    return this.byKey.get(key)?.get(name);
  }

  /** Remembers the element jobs among `jobs` that ended (in their slim form). */
  note(key: string, jobs: readonly OwnedJob[]): void {
    const ended = this.byKey.get(key) ?? new Map<string, OwnedJob>();
    for (const job of jobs) if (job.name && !isActiveJob(job)) ended.set(job.name, retained(job) as OwnedJob);
    if (ended.size > 0) this.byKey.set(key, ended);
  }

  forget(key: string): void {
    this.byKey.delete(key);
  }
}
