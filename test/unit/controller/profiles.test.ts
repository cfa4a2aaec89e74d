// The reconciler under BatchProfiles, with in-memory ports: where and as whom a job is submitted, what is
// refused without any Batch call, what waits for the profiles to change, and what a submitted job keeps.
import { beforeEach, describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { BatchProfile, BatchProfileSpec } from '../../../src/api/batchProfile.js';
import type { Drmaa2Job } from '../../../src/api/drmaa2job.js';
import { profilesFrom } from '../../../src/controller/profiles.js';
import { createReconciler } from '../../../src/controller/reconcile.js';
import type { Reconcile } from '../../../src/controller/reconcileContract.js';
import type { Buckets } from '../../../src/ports/buckets.js';
import type { ClientsFor } from '../../../src/ports/callers.js';
import type { ProfileSource } from '../../../src/ports/profileSource.js';
import { FakeBatchJobs } from '../../support/fakes/fakeBatchJobs.js';
import { FakeClock } from '../../support/fakes/fakeClock.js';
import { FakeKubeStore, RecordingEvents } from '../../support/fakes/fakeKube.js';

const KEY = 'team-a/hello';
const CONFIG = {
  project: 'flags-project',
  location: 'flags-location',
  session: 'flags',
  pollIntervalMs: 10_000,
};

function profile(name: string, spec: Partial<BatchProfileSpec> = {}, generation = 1): BatchProfile {
  return {
    apiVersion: 'drmaa2.io/v1alpha1',
    kind: 'BatchProfile',
    metadata: { name, generation },
    spec: {
      project: `${name}-project`,
      location: 'europe-west4',
      namespaceSelector: { matchLabels: { tenant: name } },
      default: true,
      serviceAccount: { email: `vms@${name}-project.iam.gserviceaccount.com` },
      network: { network: 'projects/x/global/networks/private', noExternalIpAddress: true },
      labels: { team: name },
      ...spec,
    },
  };
}

function resource(spec: Partial<Drmaa2Job['spec']> = {}, template: Record<string, unknown> = {}): Drmaa2Job {
  return {
    apiVersion: 'drmaa2.io/v1alpha1',
    kind: 'Drmaa2Job',
    metadata: {
      name: 'hello',
      namespace: 'team-a',
      uid: '7b1c2d3e-0000-4000-8000-000000000001',
      generation: 1,
    },
    spec: {
      jobTemplate: {
        remoteCommand: 'busybox',
        args: ['echo', 'hi'],
        jobCategory: 'busybox',
        candidateMachines: ['e2-standard-2'],
        ...template,
      },
      ...spec,
    },
  };
}

class MemoryProfiles implements ProfileSource {
  list: BatchProfile[] = [];
  synced = true;
  labels: Record<string, Record<string, string>> = {
    'team-a': { tenant: 'team-a' },
    other: { tenant: 'other' },
  };
  async start() {}
  stop() {}
  hasSynced() {
    return this.synced;
  }
  profiles() {
    return this.list;
  }
  namespaceLabels(ns: string) {
    return this.labels[ns];
  }
  onChange() {}
  async patchStatus() {}
}

/** The buckets that exist, as the platform team made them. */
let existing: Set<string>;
const buckets: Buckets = {
  ensureBucket: async () => 'exists',
  bucketExists: async (name) => existing.has(name),
};
let store: FakeKubeStore;
let batch: FakeBatchJobs;
let source: MemoryProfiles;
let reconcile: Reconcile;
let requireProfile: boolean;
let events: RecordingEvents;
/** Each call made as a profile's caller, by whom: the same jobs, reached with the caller's credentials. */
let asCaller: { caller: string; method: string; arg?: unknown }[];

const callers: ClientsFor = (caller) => {
  const by = [...(caller.delegates ?? []), caller.serviceAccount].join(' > ');
  const batchAs = new Proxy(batch, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        asCaller.push({ caller: by, method: String(property) });
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    batch: batchAs,
    buckets: {
      ensureBucket: async (name, project) => {
        asCaller.push({ caller: by, method: 'ensureBucket', arg: { name, project } });
        return 'created';
      },
      bucketExists: async (name, project) => {
        asCaller.push({ caller: by, method: 'bucketExists', arg: { name, project } });
        return existing.has(name);
      },
    },
  };
};

function build(): Reconcile {
  const clock = new FakeClock({ start: '2025-01-01T00:00:10Z' });
  return createReconciler({
    store,
    batch,
    buckets,
    events,
    clock,
    config: { ...CONFIG, requeueJitter: 0 },
    logger: pino({ level: 'silent' }),
    profiles: profilesFrom(source, { requireProfile }),
    callers,
  });
}

beforeEach(() => {
  store = new FakeKubeStore();
  batch = new FakeBatchJobs();
  source = new MemoryProfiles();
  requireProfile = false;
  events = new RecordingEvents();
  asCaller = [];
  existing = new Set();
  reconcile = build();
});

const status = () => store.current(KEY)?.status;
const reason = (type: string) => status()?.conditions?.find((c) => c.type === type)?.reason;
const creates = () => batch.callsOf('createJob').length;

/** Deletes the resource and runs passes while Batch cancels its job, as the finalizer's passes meet it. */
async function deleteThrough(name: string): Promise<void> {
  store.markDeleted(KEY);
  for (let i = 0; i < 6 && store.current(KEY); i++) {
    await reconcile(KEY);
    if (batch.job(name)?.status?.state === 'CANCELLATION_IN_PROGRESS') batch.setState(name, 'CANCELLED');
  }
}

describe('submission under a profile', () => {
  it("the namespace's default profile: its project, location, session, VM identity, network and labels", async () => {
    source.list = [profile('team-a')];
    store.put(resource());
    await reconcile(KEY);
    const [name] = batch.names();
    assert.ok(name?.startsWith('projects/team-a-project/locations/europe-west4/jobs/hello-'), name);
    const job = batch.job(name!)!;
    assert.equal(job.labels?.drmaa2session, 'team-a');
    assert.equal(job.labels?.team, 'team-a');
    assert.equal(job.allocationPolicy?.serviceAccount?.email, 'vms@team-a-project.iam.gserviceaccount.com');
    assert.equal(job.allocationPolicy?.network?.networkInterfaces?.[0]?.noExternalIpAddress, true);
    assert.deepEqual(status()?.profile, {
      name: 'team-a',
      generation: 1,
      project: 'team-a-project',
      location: 'europe-west4',
      session: 'team-a',
    });
    const submitted = events.events.find((e) => e.reason === 'Submitted');
    assert.match(submitted?.note ?? '', /\(BatchProfile team-a\)$/);
  });

  it('before the profiles were first listed, a job waits: it never goes under the flags by accident', async () => {
    source.synced = false;
    store.put(resource());
    await reconcile(KEY);
    assert.equal(reason('Submitted'), 'ProfilesUnknown');
    assert.equal(batch.calls.length, 0);
    source.synced = true;
    source.list = [profile('team-a')];
    await reconcile(KEY);
    assert.ok(batch.names()[0]?.startsWith('projects/team-a-project/'));
  });

  it('without any profile the flags apply, as before', async () => {
    store.put(resource());
    await reconcile(KEY);
    assert.ok(batch.names()[0]?.startsWith('projects/flags-project/locations/flags-location/jobs/'));
    assert.equal(status()?.profile, undefined);
  });

  it('a violation ends Failed/PolicyViolation with the field and the rule, and no Batch call', async () => {
    source.list = [profile('team-a', { allowed: { machineTypes: ['e2-*'] } })];
    store.put(resource({}, { candidateMachines: ['n2-highmem-96'] }));
    await reconcile(KEY);
    assert.equal(status()?.state, 'Failed');
    assert.equal(status()?.subState, 'POLICY_VIOLATION');
    assert.equal(reason('Failed'), 'PolicyViolation');
    const message = status()?.conditions?.find((c) => c.type === 'Failed')?.message ?? '';
    assert.match(message, /candidateMachines/);
    assert.match(message, /allowed\.machineTypes/);
    assert.equal(batch.calls.length, 0, 'no Batch call');
  });

  it('a profile that does not select the namespace: ProfileNotAllowed, no Batch call', async () => {
    source.list = [profile('team-a'), profile('other')];
    store.put(resource({ profile: 'other' }));
    await reconcile(KEY);
    assert.equal(reason('Failed'), 'ProfileNotAllowed');
    assert.equal(status()?.subState, 'PROFILE_NOT_ALLOWED');
    assert.equal(batch.calls.length, 0);
  });

  it('--require-profile and no profile: NoProfile, no Batch call', async () => {
    requireProfile = true;
    reconcile = build();
    store.put(resource());
    await reconcile(KEY);
    assert.equal(reason('Failed'), 'NoProfile');
    assert.equal(status()?.subState, 'NO_PROFILE');
    assert.equal(batch.calls.length, 0);
  });

  it('a named profile that does not exist yet: waits (Queued), then submits once it does', async () => {
    store.put(resource({ profile: 'later' }));
    await reconcile(KEY);
    assert.equal(status()?.state, 'Queued');
    assert.equal(reason('Submitted'), 'ProfileNotFound');
    assert.equal(creates(), 0);
    source.list = [profile('later', { namespaceSelector: {}, default: false })];
    await reconcile(KEY);
    assert.equal(creates(), 1);
    assert.equal(status()?.profile?.name, 'later');
  });

  it('an invalid profile: its jobs wait with the reason, they do not fail', async () => {
    source.list = [profile('team-a', { project: '' })];
    store.put(resource());
    await reconcile(KEY);
    assert.equal(status()?.state, 'Queued');
    assert.equal(reason('Submitted'), 'ProfileInvalid');
    assert.equal(batch.calls.length, 0);
  });

  it('a held job is judged by the profile as it is when it is submitted', async () => {
    source.list = [profile('team-a', { allowed: { machineTypes: ['n2-*'] } })];
    store.put(resource({ hold: true }));
    await reconcile(KEY);
    assert.equal(status()?.state, 'QueuedHeld', 'not judged while held');
    source.list = [profile('team-a', { allowed: { machineTypes: ['e2-*'] } }, 2)];
    store.editSpec(KEY, (j) => (j.spec.hold = false));
    await reconcile(KEY);
    assert.equal(creates(), 1);
    assert.equal(status()?.profile?.generation, 2);
  });

  it('a profile change after submission does not touch the job: deletion still finds it where it was', async () => {
    source.list = [profile('team-a')];
    store.put(resource());
    await reconcile(KEY);
    const [name] = batch.names();
    source.list = [profile('team-a', { project: 'moved-project' }, 2)];
    batch.setState(name!, 'RUNNING');
    await reconcile(KEY);
    assert.equal(status()?.profile?.project, 'team-a-project');
    assert.equal(status()?.state, 'Running');
    await deleteThrough(name!);
    assert.ok(
      batch.callsOf('cancelJob').length + batch.callsOf('deleteJob').length > 0,
      'the Batch job under the recorded project was cancelled or deleted',
    );
  });
});

describe("a profile's buckets", () => {
  const ruled = (create: boolean) =>
    profile('team-a', {
      securityLevel: 'baseline',
      allowed: { buckets: [{ name: 'team-a-*', access: 'ReadWrite', create }] },
    });

  it('a bucket the profile lets jobs write to but not create: the job waits for it, then goes', async () => {
    source.list = [ruled(false)];
    store.put(resource({}, { outputPath: 'gs://team-a-results/out' }));
    await reconcile(KEY).catch(() => undefined);
    assert.equal(creates(), 0, 'no Batch job while the bucket is missing');
    const synced = status()?.conditions?.find((c) => c.type === 'Synced');
    assert.equal(synced?.reason, 'StorageError');
    assert.match(synced?.message ?? '', /team-a-results.*does not exist.*not create it/);
    existing.add('team-a-results');
    await reconcile(KEY);
    assert.equal(creates(), 1);
  });

  it('one it may create is not looked up as a must-exist bucket', async () => {
    source.list = [ruled(true)];
    store.put(resource({}, { outputPath: 'gs://team-a-results/out' }));
    await reconcile(KEY);
    assert.equal(creates(), 1);
  });
});

describe('deletion under a profile', () => {
  it("finds a job whose creation no status recorded (a crash) under the profile's project", async () => {
    source.list = [profile('team-a')];
    store.put(resource());
    await reconcile(KEY);
    const [name] = batch.names();
    // The create went through, the status write did not: a fresh copy with no status, being deleted.
    const fresh = store.current(KEY)!;
    store.put({
      ...fresh,
      status: {},
      metadata: { ...fresh.metadata, deletionTimestamp: '2025-01-01T00:00:05Z' },
    });
    reconcile = build();
    await reconcile(KEY);
    assert.equal(batch.callsOf('cancelJob').length, 1, `the job under team-a-project was found: ${name}`);
  });
});

describe("a profile's caller identity", () => {
  const CALLER = 'caller@team-a-project.iam.gserviceaccount.com';
  const HOP = 'hop@platform.iam.gserviceaccount.com';
  const impersonating = (serviceAccount = CALLER, generation = 1) =>
    profile('team-a', { impersonate: { serviceAccount, delegates: [HOP] } }, generation);
  const viaCaller = (method: string) => asCaller.filter((c) => c.method === method);

  it('creates the Batch job and its stage-out bucket as the impersonated account, and records it', async () => {
    source.list = [impersonating()];
    store.put(resource({}, { outputPath: 'gs://team-a-results/out' }));
    await reconcile(KEY);
    assert.equal(creates(), 1);
    assert.deepEqual(
      viaCaller('createJob').map((c) => c.caller),
      [`${HOP} > ${CALLER}`],
      'the one create went through the caller, with its delegation chain',
    );
    assert.deepEqual(viaCaller('ensureBucket')[0]?.arg, {
      name: 'team-a-results',
      project: 'team-a-project',
    });
    assert.deepEqual(status()?.profile?.caller, { serviceAccount: CALLER, delegates: [HOP] });
  });

  it("a profile without one: every call is the controller's own", async () => {
    source.list = [profile('team-a')];
    store.put(resource());
    await reconcile(KEY);
    assert.equal(creates(), 1);
    assert.equal(asCaller.length, 0);
    assert.equal(status()?.profile?.caller, undefined);
  });

  it('later passes, deletion included, act as the recorded caller even after the profile changed it', async () => {
    source.list = [impersonating()];
    store.put(resource());
    await reconcile(KEY);
    const [name] = batch.names();
    source.list = [impersonating('someone-else@team-a-project.iam.gserviceaccount.com', 2)];
    batch.setState(name!, 'RUNNING');
    await reconcile(KEY);
    assert.equal(status()?.state, 'Running');
    await deleteThrough(name!);
    const cleanup = [...viaCaller('cancelJob'), ...viaCaller('deleteJob')];
    assert.ok(cleanup.length > 0, 'the job was cancelled or deleted as a caller');
    assert.deepEqual(new Set(asCaller.map((c) => c.caller)), new Set([`${HOP} > ${CALLER}`]));
    const batchCalls = asCaller.filter((c) => !/bucket/i.test(c.method)).length;
    assert.equal(batch.calls.length, batchCalls, 'no Batch call went past the recorded caller');
  });

  it("a crash before the status recorded the caller: deletion finds the job as the profile's caller", async () => {
    source.list = [impersonating()];
    store.put(resource());
    await reconcile(KEY);
    const fresh = store.current(KEY)!;
    store.put({
      ...fresh,
      status: {},
      metadata: { ...fresh.metadata, deletionTimestamp: '2025-01-01T00:00:05Z' },
    });
    reconcile = build();
    asCaller = [];
    await reconcile(KEY);
    assert.equal(viaCaller('cancelJob').length, 1);
    assert.equal(batch.callsOf('cancelJob').length, 1, 'and no cancel went past the caller');
  });
});
