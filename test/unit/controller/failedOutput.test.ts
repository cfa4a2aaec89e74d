// A failed job's Failed condition carries the failed task's last lines, read from Cloud Logging once, as the
// reconciler's in-memory ports see it: bounded by the controller's own read budget, never for a job whose
// output could carry secrets or that turned it off, and never holding the failure back.
import { beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { Drmaa2Job } from '../../../src/api/drmaa2job.js';
import type { BatchProfile } from '../../../src/api/batchProfile.js';
import { QuotaBucket } from '../../../src/controller/batchThrottle.js';
import type { Profiles } from '../../../src/controller/profiles.js';
import { createReconciler, type ReconcilerDeps } from '../../../src/controller/reconcile.js';
import type { Reconcile } from '../../../src/controller/reconcileContract.js';
import type { Buckets } from '../../../src/ports/buckets.js';
import { taskLogIds } from '../../../src/translate/batchLogs.js';
import { FakeBatchJobs } from '../../support/fakes/fakeBatchJobs.js';
import { FakeClock } from '../../support/fakes/fakeClock.js';
import { FakeKubeStore, RecordingEvents } from '../../support/fakes/fakeKube.js';
import { FakeLogEntries } from '../../support/fakes/fakeLogEntries.js';

const KEY = 'team/fails';
const buckets: Buckets = { bucketExists: async () => true, ensureBucket: async () => 'exists' };

function resource(spec: Partial<Drmaa2Job['spec']> = {}, extensions?: Record<string, string>): Drmaa2Job {
  return {
    apiVersion: 'drmaa2.io/v1alpha1',
    kind: 'Drmaa2Job',
    metadata: { name: 'fails', namespace: 'team', uid: 'res-uid', generation: 1 },
    spec: {
      jobTemplate: {
        remoteCommand: 'exit 3',
        jobCategory: '$script$',
        candidateMachines: ['e2-standard-2'],
        ...(extensions ? { extension: { extensionList: extensions } } : {}),
      },
      ...spec,
    },
  };
}

let store: FakeKubeStore;
let batch: FakeBatchJobs;
let clock: FakeClock;
let logs: FakeLogEntries;
let budget: QuotaBucket;

function build(more: Partial<ReconcilerDeps> = {}): Reconcile {
  return createReconciler({
    store,
    batch,
    buckets,
    events: new RecordingEvents(),
    clock,
    config: { project: 'p', location: 'l', session: 's', pollIntervalMs: 10_000, requeueJitter: 0 },
    logger: pino({ level: 'silent' }),
    logs,
    logReads: budget,
    ...more,
  });
}

beforeEach(() => {
  store = new FakeKubeStore();
  clock = new FakeClock({ start: '2025-01-01T00:00:10Z' });
  batch = new FakeBatchJobs({ now: () => clock.now() });
  logs = new FakeLogEntries();
  budget = new QuotaBucket('logRead', 60, clock, () => 0.5);
});

const status = () => store.current(KEY)?.status;
const failedMessage = () => status()?.conditions?.find((c) => c.type === 'Failed')?.message ?? '';

/** Submits, then fails task 1 of the job with exit code 3 after it printed `lines`. */
async function failWith(reconcile: Reconcile, job: Drmaa2Job, lines: string[]): Promise<string> {
  store.put(job);
  await reconcile(KEY);
  const name = status()!.batchJob!.name;
  const uid = batch.job(name)!.uid!;
  lines.forEach((text, i) =>
    logs.add({
      timestamp: `2025-01-01T00:00:${String(20 + i).padStart(2, '0')}.000000000Z`,
      insertId: `e${i}`,
      severity: i % 2 ? 'ERROR' : 'INFO',
      text,
      jobUid: uid,
      taskIndex: 1,
    }),
  );
  // Another task's line, newer: not the failed task's output.
  logs.add({
    timestamp: '2025-01-01T00:00:59Z',
    insertId: 'other',
    severity: 'INFO',
    text: 'task 0 ok',
    jobUid: uid,
    taskIndex: 0,
  });
  batch.setState(name, 'FAILED');
  batch.setTasks(name, [
    { name: `${name}/taskGroups/group0/tasks/0`, status: { state: 'SUCCEEDED' } },
    {
      name: `${name}/taskGroups/group0/tasks/1`,
      status: {
        state: 'FAILED',
        statusEvents: [{ type: 'STATUS_CHANGED', taskState: 'FAILED', taskExecution: { exitCode: 3 } }],
      },
    },
  ]);
  await reconcile(KEY);
  expect(status()?.state).toBe('Failed');
  return uid;
}

describe("a failed task's output in its status", () => {
  it('the Failed condition names the task and its exit code and ends with its last lines, oldest first', async () => {
    const uid = await failWith(build(), resource(), ['starting', 'reading input', 'input.csv: no such file']);
    expect(failedMessage()).toMatch(
      /^The Batch job failed \(exit status 3\)\..* Task 1 exited with code 3; its last output:\nstarting\nreading input\ninput\.csv: no such file$/s,
    );
    expect(logs.queries).toHaveLength(1);
    expect(logs.queries[0]).toMatchObject({ project: 'p', order: 'desc', pageSize: 10 });
    expect(logs.queries[0]!.filter).toContain(`labels.task_id="${taskLogIds(uid, 1)[0]}"`);
    // status.logs says where all of it is.
    expect(status()?.logs?.filter).toBe(
      `logName="projects/p/logs/batch_task_logs" AND labels.job_uid="${uid}"`,
    );
    expect(status()?.logs?.url).toMatch(
      /^https:\/\/console\.cloud\.google\.com\/logs\/query;query=.*project=p$/,
    );
  });

  it('read once: later passes of the ended job make no Logging call', async () => {
    const reconcile = build();
    await failWith(reconcile, resource(), ['boom']);
    for (let i = 0; i < 3; i++) await reconcile(KEY);
    expect(logs.queries).toHaveLength(1);
  });

  it('no read for a job with secret_env: its output could carry the values', async () => {
    await failWith(
      build(),
      resource(
        {},
        {
          secret_env: Buffer.from(JSON.stringify({ TOKEN: 'projects/p/secrets/t/versions/1' })).toString(
            'base64',
          ),
        },
      ),
      ['TOKEN=hunter2'],
    );
    expect(failedMessage()).toContain(
      'Task 1 exited with code 3; no output excerpt: the job reads secret_env values',
    );
    expect(failedMessage()).not.toContain('hunter2');
    expect(logs.queries).toHaveLength(0);
  });

  it('no read with outputInStatus: false in the job', async () => {
    await failWith(build(), resource({ outputInStatus: false }), ['private']);
    expect(failedMessage()).toContain('output excerpts are turned off for this job');
    expect(failedMessage()).not.toContain('private');
    expect(logs.queries).toHaveLength(0);
  });

  it("no read with outputInStatus: false in the job's profile, whatever the job says", async () => {
    const profile = {
      metadata: { name: 'quiet', generation: 1 },
      spec: {
        project: 'team-project',
        location: 'us-central1',
        securityLevel: 'baseline',
        outputInStatus: false,
      },
    } as BatchProfile;
    const profiles = { resolve: () => ({ kind: 'profile', profile }) } as unknown as Profiles;
    await failWith(build({ profiles }), resource({ outputInStatus: true }), ['private']);
    expect(failedMessage()).not.toContain('private');
    expect(logs.queries).toHaveLength(0);
  });

  it('a spent budget leaves the excerpt out at once rather than waiting', async () => {
    budget = new QuotaBucket('logRead', 1, clock, () => 0.5);
    expect(budget.tryTake()).toBe(true);
    await failWith(build(), resource(), ['boom']);
    expect(failedMessage()).toContain('no output excerpt: the Cloud Logging read budget is spent for now');
    expect(logs.queries).toHaveLength(0);
  });

  it('a failed read still ends the job Failed, saying so', async () => {
    logs.listFailures.push('PermissionDenied');
    await failWith(build(), resource(), ['boom']);
    expect(failedMessage()).toContain(
      'Task 1 exited with code 3; its output could not be read from Cloud Logging.',
    );
  });

  it('an empty log, and no Logging port at all, are said too', async () => {
    await failWith(build(), resource(), []);
    expect(failedMessage()).toContain('Task 1 exited with code 3; no output in Cloud Logging yet.');
  });

  it('without a Logging port the job still ends Failed', async () => {
    await failWith(build({ logs: undefined }), resource(), ['boom']);
    expect(failedMessage()).toContain('could not be read');
  });

  it('a job that succeeded, or was terminated, reads no output', async () => {
    const reconcile = build();
    store.put(resource());
    await reconcile(KEY);
    batch.setState(status()!.batchJob!.name, 'SUCCEEDED');
    await reconcile(KEY);
    expect(status()?.state).toBe('Done');
    expect(logs.queries).toHaveLength(0);
  });
});
