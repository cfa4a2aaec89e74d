// The runner: keys from the watch reach the reconciler through the work queue; requeueAfter and errors
// come back; only a leader works; shutdown lets in-flight reconciles finish before the lease goes.
import { afterEach, describe, expect, it } from 'vitest';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { Drmaa2Job } from '../../../src/api/drmaa2job.js';
import type { LeaderCallbacks } from '../../../src/controller/leaderElector.js';
import { TerminalError, type ReconcileResult } from '../../../src/controller/reconcileContract.js';
import { Runner, type Elector, type Source, type RunnerMetrics } from '../../../src/controller/runner.js';
import type { JobWatch } from '../../../src/ports/jobWatch.js';

class FakeWatch implements JobWatch {
  private handlers: ((key: string) => void)[] = [];
  synced = false;
  stopped = false;
  constructor(readonly jobs = new Map<string, Drmaa2Job>()) {}
  onKey(handler: (key: string) => void): void {
    this.handlers.push(handler);
  }
  async start(): Promise<void> {
    this.synced = true;
  }
  stop(): void {
    this.stopped = true;
  }
  hasSynced(): boolean {
    return this.synced;
  }
  keys(): string[] {
    return [...this.jobs.keys()];
  }
  get(namespace: string, name: string): Drmaa2Job | undefined {
    return this.jobs.get(`${namespace}/${name}`);
  }
  lastSeen(): number {
    return 0;
  }
  emit(key: string): void {
    for (const handler of this.handlers) handler(key);
  }
}

function job(key: string, state?: Drmaa2Job['status']): Drmaa2Job {
  const [namespace = '', name = ''] = key.split('/');
  return {
    apiVersion: 'drmaa2.io/v1alpha1',
    kind: 'Drmaa2Job',
    metadata: { namespace, name, uid: key },
    spec: { jobTemplate: {} },
    ...(state ? { status: state } : {}),
  };
}

class FakeElector implements Elector {
  callbacks: LeaderCallbacks | undefined;
  stops: string[] = [];
  private done: (() => void) | undefined;
  constructor(private readonly log: string[] = []) {}
  run(callbacks: LeaderCallbacks): Promise<void> {
    this.callbacks = callbacks;
    return new Promise((resolve) => (this.done = resolve));
  }
  async stop(): Promise<void> {
    this.log.push('elector stopped');
    this.done?.();
  }
  lead(): void {
    this.callbacks!.onStartedLeading(new AbortController().signal);
  }
  lose(): void {
    this.callbacks!.onStoppedLeading();
  }
}

class FakePoller implements Source {
  running = false;
  starts = 0;
  /** What the runner handed the last start: a stopped source's is the old, shut-down queue's. */
  enqueue: (key: string, urgent: boolean) => void = () => {
    throw new Error('not started');
  };
  start(enqueue: (key: string, urgent: boolean) => void): void {
    this.running = true;
    this.starts++;
    this.enqueue = enqueue;
  }
  async stop(): Promise<void> {
    this.running = false;
  }
}

const logger = pino({ level: 'silent' });
const runners: Runner[] = [];

afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.stop()));
});

/** Waits until `check` holds, polling the event loop; fails naming `what` after a generous bound. */
async function until(check: () => boolean, what: string): Promise<void> {
  await expect.poll(check, { message: `waiting for ${what}`, timeout: 2_000, interval: 1 }).toBe(true);
}

function runner(opts: Partial<ConstructorParameters<typeof Runner>[0]> & { watch: FakeWatch }): Runner {
  const r = new Runner({
    reconcile: async () => ({}),
    concurrency: 2,
    logger,
    queue: { baseDelayMs: 1, maxDelayMs: 4, jitter: 0 },
    ...opts,
  });
  runners.push(r);
  return r;
}

describe('Runner without leader election', () => {
  it('reconciles every cached key at start and every key the watch reports', async () => {
    const watch = new FakeWatch(
      new Map([
        ['a/one', job('a/one')],
        ['a/two', job('a/two')],
      ]),
    );
    const seen: string[] = [];
    const r = runner({ watch, reconcile: async (key) => (seen.push(key), {}) });
    await r.start();
    await until(() => seen.length === 2, 'the cached keys');
    assert.deepEqual(seen.sort(), ['a/one', 'a/two']);
    watch.emit('a/three');
    await until(() => seen.includes('a/three'), 'the watched key');
    assert.ok(r.ready());
    assert.ok(r.isWorking());
  });

  it('requeueAfter brings the key back; no requeue means it waits for a change', async () => {
    const watch = new FakeWatch(
      new Map([
        ['a/poll', job('a/poll')],
        ['a/done', job('a/done')],
      ]),
    );
    const counts = new Map<string, number>();
    const r = runner({
      watch,
      reconcile: async (key): Promise<ReconcileResult> => {
        counts.set(key, (counts.get(key) ?? 0) + 1);
        return key === 'a/poll' && counts.get(key)! < 3 ? { requeueAfterMs: 1 } : {};
      },
    });
    await r.start();
    await until(() => counts.get('a/poll') === 3, 'three passes of a/poll');
    assert.equal(counts.get('a/done'), 1);
  });

  it('an error backs off and retries; a terminal error is not retried', async () => {
    const watch = new FakeWatch(
      new Map([
        ['a/flaky', job('a/flaky')],
        ['a/broken', job('a/broken')],
      ]),
    );
    const counts = new Map<string, number>();
    const reconcileDone: string[] = [];
    const metrics: RunnerMetrics = {
      reconcileDone: (result) => reconcileDone.push(result),
      setQueueDepth: () => {},
      queueLatency: () => {},
      setJobsByState: () => {},
    };
    const r = runner({
      watch,
      metrics,
      reconcile: async (key) => {
        const n = (counts.get(key) ?? 0) + 1;
        counts.set(key, n);
        if (key === 'a/broken') throw new TerminalError('no way');
        if (n < 3) throw new Error('transient');
        return {};
      },
    });
    await r.start();
    await until(() => counts.get('a/flaky') === 3, 'the retries of a/flaky');
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(counts.get('a/broken'), 1);
    assert.equal(counts.get('a/flaky'), 3);
    assert.equal(reconcileDone.filter((x) => x === 'error').length, 3);
    assert.equal(reconcileDone.filter((x) => x === 'success').length, 1);
  });

  it('runs different keys in parallel, never the same key twice at once', async () => {
    const watch = new FakeWatch(
      new Map([
        ['a/1', job('a/1')],
        ['a/2', job('a/2')],
      ]),
    );
    let inFlight = 0;
    let most = 0;
    const perKey = new Map<string, number>();
    let overlapSameKey = false;
    const releases: (() => void)[] = [];
    const r = runner({
      watch,
      concurrency: 4,
      reconcile: async (key) => {
        inFlight++;
        most = Math.max(most, inFlight);
        perKey.set(key, (perKey.get(key) ?? 0) + 1);
        if (perKey.get(key)! > 1) overlapSameKey = true;
        await new Promise<void>((resolve) => releases.push(resolve));
        perKey.set(key, perKey.get(key)! - 1);
        inFlight--;
        return {};
      },
    });
    await r.start();
    await until(() => inFlight === 2, 'both keys in flight');
    watch.emit('a/1');
    watch.emit('a/1');
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(inFlight, 2, 'a/1 is not started twice');
    for (const release of releases.splice(0)) release();
    await until(() => inFlight === 1, 'a/1 again, after its first pass');
    for (const release of releases.splice(0)) release();
    await until(() => inFlight === 0, 'all done');
    assert.equal(most, 2);
    assert.equal(overlapSameKey, false);
  });

  it('a deleted submitted resource and an ended Batch job go before new resources', async () => {
    const submitted = { state: 'Running' as const, batchJob: { name: 'projects/p/locations/l/jobs/x' } };
    const deleting = job('a/deleting', { ...submitted, observedGeneration: 1 });
    deleting.metadata.generation = 1;
    deleting.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    const watch = new FakeWatch(new Map([['a/blocker', job('a/blocker')]]));
    const seen: string[] = [];
    let release: (() => void) | undefined;
    const poller = new FakePoller();
    const r = runner({
      watch,
      concurrency: 1,
      sources: [poller],
      reconcile: async (key) => {
        seen.push(key);
        if (key === 'a/blocker') await new Promise<void>((resolve) => (release = resolve));
        return {};
      },
    });
    await r.start();
    await until(() => release !== undefined, 'the only worker busy');
    for (const key of ['a/new-1', 'a/new-2']) {
      watch.jobs.set(key, job(key));
      watch.emit(key);
    }
    watch.jobs.set('a/deleting', deleting);
    watch.emit('a/deleting');
    poller.enqueue('a/ended', true);
    release!();
    await until(() => seen.length === 5, 'every key');
    assert.deepEqual(seen, ['a/blocker', 'a/deleting', 'a/ended', 'a/new-1', 'a/new-2']);
  });

  it('reports jobs by state from the watch cache', async () => {
    const watch = new FakeWatch(
      new Map([
        ['a/1', job('a/1', { state: 'Running' })],
        ['a/2', job('a/2', { state: 'Running' })],
        ['a/3', job('a/3')],
      ]),
    );
    let counts: Partial<Record<string, number>> = {};
    const metrics: RunnerMetrics = {
      reconcileDone: () => {},
      setQueueDepth: () => {},
      queueLatency: () => {},
      setJobsByState: (c) => (counts = c),
    };
    const r = runner({ watch, metrics, stateReportMs: 1 });
    await r.start();
    await until(() => counts.Running === 2, 'the state report');
    assert.equal(counts.Unset, 1);
  });
});

describe('Runner with leader election', () => {
  it('a standby watches and is ready but takes no keys and does not poll', async () => {
    const watch = new FakeWatch(new Map([['a/1', job('a/1')]]));
    const elector = new FakeElector();
    const poller = new FakePoller();
    const seen: string[] = [];
    const r = runner({ watch, elector, sources: [poller], reconcile: async (key) => (seen.push(key), {}) });
    await r.start();
    watch.emit('a/1');
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(seen, []);
    assert.equal(poller.running, false);
    assert.ok(r.ready(), 'a synced standby is ready');
    assert.equal(r.isWorking(), false);
    elector.lead();
    await until(() => seen.length === 1, 'the leader reconciles');
    assert.equal(poller.running, true);
  });

  it('a leader that loses the lease stops taking keys and polling at once', async () => {
    const watch = new FakeWatch(new Map([['a/1', job('a/1')]]));
    const elector = new FakeElector();
    const poller = new FakePoller();
    const seen: string[] = [];
    const r = runner({ watch, elector, sources: [poller], reconcile: async (key) => (seen.push(key), {}) });
    await r.start();
    elector.lead();
    await until(() => seen.length === 1, 'the first pass');
    elector.lose();
    assert.equal(r.isWorking(), false);
    watch.emit('a/1');
    poller.enqueue('a/1', false);
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(seen.length, 1);
    assert.equal(poller.running, false);
    elector.lead();
    await until(() => seen.length === 2, 'leading again reconciles again');
    assert.equal(poller.starts, 2);
  });

  it('shutdown finishes in-flight reconciles before it releases the lease', async () => {
    const watch = new FakeWatch(new Map([['a/slow', job('a/slow')]]));
    const log: string[] = [];
    const elector = new FakeElector(log);
    let release: () => void = () => {};
    const r = runner({
      watch,
      elector,
      reconcile: async () => {
        log.push('reconcile started');
        await new Promise<void>((resolve) => (release = resolve));
        log.push('reconcile finished');
        return { requeueAfterMs: 1 };
      },
    });
    await r.start();
    elector.lead();
    await until(() => log.length === 1, 'the reconcile in flight');
    const stopped = r.stop();
    assert.equal(r.ready(), false, 'not ready while stopping');
    watch.emit('a/other');
    setTimeout(() => release(), 5);
    await stopped;
    assert.deepEqual(log, ['reconcile started', 'reconcile finished', 'elector stopped']);
    assert.ok(watch.stopped);
  });
});
