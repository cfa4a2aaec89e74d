// The quota throttle in virtual time: the configured ceiling holds, RESOURCE_EXHAUSTED lowers the rate to
// what got through in the last minute with a doubling jittered pause, and calm minutes raise it again.
import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { QuotaBucket, ThrottledBatchJobs } from '../../../src/controller/batchThrottle.js';
import { BatchError } from '../../../src/ports/errors.js';
import { FakeClock } from '../../support/fakes/fakeClock.js';
import { FakeBatchJobs } from '../../support/fakes/fakeBatchJobs.js';

const exhausted = new BatchError('ResourceExhausted', 'Quota exceeded', 8);

/** Calls per sliding minute, the way Batch counts them. */
function maxPerMinute(times: number[]): number {
  let max = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= 60_000) j++;
    max = Math.max(max, i - j + 1);
  }
  return max;
}

describe('QuotaBucket', () => {
  it('never lets more than the ceiling through in any minute', async () => {
    const clock = new FakeClock();
    const bucket = new QuotaBucket('mutation', 120, clock, () => 0.5);
    const times: number[] = [];
    for (let i = 0; i < 600; i++) {
      await bucket.take();
      times.push(clock.nowMs());
      bucket.answered(undefined);
    }
    assert.ok(maxPerMinute(times) <= 120 + 2, `max per minute ${maxPerMinute(times)}`);
    assert.ok(maxPerMinute(times) >= 110, 'and uses what it is allowed');
  });

  it('learns the quota from RESOURCE_EXHAUSTED and stays under it', async () => {
    const clock = new FakeClock();
    const rates: number[] = [];
    const bucket = new QuotaBucket(
      'mutation',
      6000,
      clock,
      () => 1,
      (_k, perMinute) => rates.push(perMinute),
    );
    // A server that allows 50 per sliding minute.
    const accepted: number[] = [];
    const attempts: number[] = [];
    let refused = 0;
    let firstRefusal = -1;
    for (let i = 0; i < 400; i++) {
      await bucket.take();
      const now = clock.nowMs();
      attempts.push(now);
      while (accepted.length > 0 && accepted[0]! <= now - 60_000) accepted.shift();
      if (accepted.length >= 50) {
        refused++;
        if (firstRefusal < 0) firstRefusal = now;
        bucket.answered(exhausted);
        continue;
      }
      accepted.push(now);
      bucket.answered(undefined);
    }
    assert.ok(refused >= 1, 'the quota was met');
    assert.equal(rates[0], 45, 'rate lowered to 90% of what got through');
    assert.ok(refused < 20, `refusals stay few: ${refused}`);
    const after = attempts.filter((t) => t > firstRefusal);
    // Probing for more after a calm minute may meet a full window a few times: at most a tenth over.
    assert.ok(maxPerMinute(after) <= 55, `attempts per minute once throttled: ${maxPerMinute(after)}`);
  });

  it('pauses for a doubling cool-down with jitter, reset by a success', async () => {
    const clock = new FakeClock();
    const waits: number[] = [];
    const bucket = new QuotaBucket(
      'read',
      600,
      clock,
      () => 0,
      (_k, _r, coolDown) => coolDown > 0 && waits.push(coolDown),
    );
    for (let i = 0; i < 4; i++) {
      await bucket.take();
      bucket.answered(exhausted);
    }
    assert.deepEqual(waits, [500, 1000, 2000, 4000], 'half the back-off with jitter 0, doubling');
    await bucket.take();
    bucket.answered(undefined);
    await bucket.take();
    bucket.answered(exhausted);
    assert.equal(waits.at(-1), 500, 'back to the first cool-down after a success');
  });

  it('raises a lowered rate by half after each calm minute, up to the ceiling', async () => {
    const clock = new FakeClock();
    const bucket = new QuotaBucket('read', 100, clock, () => 0.5);
    for (let i = 0; i < 10; i++) {
      await bucket.take();
      bucket.answered(undefined);
    }
    await bucket.take();
    bucket.answered(exhausted);
    assert.equal(bucket.rate(), 9);
    clock.advance(61_000);
    await bucket.take();
    bucket.answered(undefined);
    assert.equal(bucket.rate(), 14);
    for (let minute = 0; minute < 8; minute++) {
      clock.advance(61_000);
      await bucket.take();
      bucket.answered(undefined);
    }
    assert.equal(bucket.rate(), 100);
  });
});

describe('ThrottledBatchJobs', () => {
  it('passes calls and errors through, mutations and reads on their own buckets', async () => {
    const clock = new FakeClock();
    const inner = new FakeBatchJobs();
    const batch = new ThrottledBatchJobs(inner, { mutationsPerMinute: 60, readsPerMinute: 600, clock });
    await assert.rejects(batch.getJob('projects/p/locations/l/jobs/none'), { kind: 'NotFound' });
    assert.equal(batch.reads.rate(), 600, 'NotFound does not lower the rate');
    assert.equal(batch.mutations.rate(), 60);
  });

  it("another caller's client draws from the same budget", async () => {
    const clock = new FakeClock();
    const own = new FakeBatchJobs();
    const other = new FakeBatchJobs();
    const batch = new ThrottledBatchJobs(own, { mutationsPerMinute: 60, readsPerMinute: 600, clock });
    const asOther = batch.over(other);
    await assert.rejects(asOther.getJob('projects/p/locations/l/jobs/none'), { kind: 'NotFound' });
    assert.equal(other.callsOf('getJob').length, 1, "the call went to the other caller's client");
    assert.equal(own.calls.length, 0);
    assert.equal(asOther.reads, batch.reads, 'one read bucket');
    assert.equal(asOther.mutations, batch.mutations, 'one mutation bucket');
  });
});
