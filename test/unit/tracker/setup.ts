// A JobTracker over the in-memory Batch, a recording Buckets fake and a virtual clock.
import type { Buckets } from '../../../src/ports/buckets.js';
import { JobTracker, type JobTrackerOptions } from '../../../src/tracker/index.js';
import type { Warning } from '../../../src/translate/index.js';
import { FakeBatchJobs } from '../../support/fakes/fakeBatchJobs.js';
import { FakeClock } from '../../support/fakes/fakeClock.js';

export const PROJECT = 'p1';
export const LOCATION = 'us-central1';
export const SESSION = 'sess1';
export const PARENT = `projects/${PROJECT}/locations/${LOCATION}`;

export class RecordingBuckets implements Buckets {
  readonly ensured: { name: string; project: string }[] = [];
  failWith: Error | undefined;

  async ensureBucket(name: string, project: string): Promise<'exists' | 'created'> {
    this.ensured.push({ name, project });
    if (this.failWith) throw this.failWith;
    return 'created';
  }

  async bucketExists(): Promise<boolean> {
    return true;
  }
}

export interface Setup {
  tracker: JobTracker;
  batch: FakeBatchJobs;
  buckets: RecordingBuckets;
  clock: FakeClock;
  warnings: Warning[];
}

export function setup(overrides: Partial<JobTrackerOptions> = {}, pageSize?: number): Setup {
  const clock = new FakeClock({ start: '2025-03-01T12:00:00Z' });
  const batch = new FakeBatchJobs({
    now: () => clock.now(),
    ...(pageSize ? { defaultPageSize: pageSize, maxPageSize: pageSize } : {}),
  });
  const buckets = new RecordingBuckets();
  const warnings: Warning[] = [];
  let nonce = 0;
  const tracker = new JobTracker({
    batch,
    buckets,
    clock,
    project: PROJECT,
    location: LOCATION,
    session: SESSION,
    nonce: () => nonce++,
    onWarning: (w) => warnings.push(w),
    ...overrides,
  });
  return { tracker, batch, buckets, clock, warnings };
}

export const scriptTemplate = {
  remoteCommand: 'echo hello',
  jobCategory: '$script$',
  candidateMachines: ['e2-standard-2'],
};
