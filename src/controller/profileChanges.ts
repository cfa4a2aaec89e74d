// What a change of BatchProfiles (or of namespace labels) sets going: the pollers follow the places profiles
// name, and resources not submitted yet are looked at again (one waiting for its profile is submitted once
// the profile exists). Submitted resources are not touched: the profile they were submitted under is
// recorded in their status, and a later change of it does not apply to them.
import { parseKey } from '../api/drmaa2job.js';
import type { JobWatch } from '../ports/jobWatch.js';
import type { ProfileSource } from '../ports/profileSource.js';
import { isTerminal } from '../translate/status.js';
import type { Source } from './runner.js';

export class ProfileChanges implements Source {
  private enqueue: ((key: string, urgent: boolean) => void) | undefined;

  constructor(
    source: ProfileSource,
    private readonly watch: JobWatch,
    private readonly onProfiles: () => void,
  ) {
    source.onChange(() => this.changed());
  }

  start(enqueue: (key: string, urgent: boolean) => void): void {
    this.enqueue = enqueue;
    this.changed();
  }

  async stop(): Promise<void> {
    this.enqueue = undefined;
  }

  private changed(): void {
    this.onProfiles();
    const enqueue = this.enqueue;
    if (!enqueue) return;
    for (const key of this.watch.keys()) {
      const parsed = parseKey(key);
      const job = parsed && this.watch.get(parsed.namespace, parsed.name);
      if (!job || job.status?.batchJob || isTerminal(job.status?.state)) continue;
      enqueue(key, false);
    }
  }
}
