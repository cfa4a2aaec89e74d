// Leader election against an in-memory Lease with resourceVersion checks, on a manual fake clock.
import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { LeaderElector } from '../../../src/controller/leaderElector.js';
import { KubeError } from '../../../src/ports/errors.js';
import type { LeaseLock, LeaseRecord } from '../../../src/ports/leaseLock.js';
import { FakeClock } from '../../support/fakes/fakeClock.js';

class MemoryLease {
  record: LeaseRecord | undefined;
  private version = 0;
  failing = new Set<string>();

  lock(identity: string): LeaseLock {
    return {
      get: async () => {
        if (this.failing.has(identity)) throw new KubeError('Transient', 'unreachable');
        return this.record ? { ...this.record } : undefined;
      },
      create: async (record) => {
        if (this.failing.has(identity)) throw new KubeError('Transient', 'unreachable');
        if (this.record) throw new KubeError('Conflict', 'exists', 409);
        this.record = { ...record, resourceVersion: String(++this.version) };
        return { ...this.record };
      },
      update: async (record) => {
        if (this.failing.has(identity)) throw new KubeError('Transient', 'unreachable');
        if (record.resourceVersion !== this.record?.resourceVersion)
          throw new KubeError('Conflict', 'stale', 409);
        this.record = { ...record, resourceVersion: String(++this.version) };
        return { ...this.record };
      },
      describe: () => 'test/lease',
    };
  }
}

function elector(lease: MemoryLease, identity: string, clock: FakeClock) {
  return new LeaderElector({
    lock: lease.lock(identity),
    identity,
    clock,
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
  });
}

describe('LeaderElector', () => {
  it('acquires a free lease, and a second candidate stays standby while it is renewed', async () => {
    const lease = new MemoryLease();
    const clock = new FakeClock({ auto: false });
    const a = elector(lease, 'a', clock);
    const b = elector(lease, 'b', clock);
    assert.equal(await a.tryAcquireOrRenew(), true);
    assert.equal(await b.tryAcquireOrRenew(), false);
    for (let i = 0; i < 10; i++) {
      clock.advance(2_000);
      assert.equal(await a.tryAcquireOrRenew(), true);
      assert.equal(await b.tryAcquireOrRenew(), false, 'never both leading');
    }
    assert.equal(lease.record?.holderIdentity, 'a');
  });

  it('a standby takes over once the record has not changed for the lease duration', async () => {
    const lease = new MemoryLease();
    const clock = new FakeClock({ auto: false });
    const a = elector(lease, 'a', clock);
    const b = elector(lease, 'b', clock);
    await a.tryAcquireOrRenew();
    assert.equal(await b.tryAcquireOrRenew(), false);
    clock.advance(14_000);
    assert.equal(await b.tryAcquireOrRenew(), false, 'not yet expired');
    clock.advance(1_000);
    assert.equal(await b.tryAcquireOrRenew(), true);
    assert.equal(lease.record?.holderIdentity, 'b');
    assert.equal(lease.record?.leaseTransitions, 1);
  });

  it('run(): leads, stops leading when renewals fail past the deadline, and releases on stop', async () => {
    const lease = new MemoryLease();
    const clock = new FakeClock({ auto: false });
    const a = elector(lease, 'a', clock);
    const log: string[] = [];
    let signal: AbortSignal | undefined;
    void a.run({
      onStartedLeading: (s) => {
        signal = s;
        log.push('started');
      },
      onStoppedLeading: () => log.push('stopped'),
    });
    const tick = async (ms: number) => {
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      clock.advance(ms);
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    };
    await tick(0);
    assert.deepEqual(log, ['started']);
    assert.equal(a.isLeader(), true);
    lease.failing.add('a');
    for (let t = 0; t < 6; t++) await tick(2_000);
    assert.deepEqual(log, ['started', 'stopped'], 'lost after the renew deadline');
    assert.equal(signal?.aborted, true);
    lease.failing.delete('a');
    await tick(2_000);
    assert.equal(a.isLeader(), true, 'acquires again (its own lease)');
    const stopping = a.stop();
    await tick(0);
    await stopping;
    assert.equal(lease.record?.holderIdentity, '', 'released for a standby');
  });
});
