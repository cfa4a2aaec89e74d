// wait() in virtual time: the number and spacing of Batch reads is what matters, never wall-clock time.
import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { isBatchError } from '../../../src/ports/errors.js';
import { InvalidArgumentError, NotInSessionError, TimeoutError } from '../../../src/tracker/index.js';
import { batchError } from '../../support/fakes/fakeBatchJobs.js';
import { PARENT, scriptTemplate, setup } from './setup.js';

async function submitted() {
  const s = setup();
  const id = await s.tracker.addJob(scriptTemplate);
  return { ...s, id };
}

describe('JobTracker.wait', () => {
  it('returns at once when the job is already in a wanted state', async () => {
    const { tracker, batch, clock, id } = await submitted();
    batch.setState(id, 'SUCCEEDED');
    assert.deepEqual(await tracker.wait(id, 60_000), { state: 'Done', subState: 'SUCCEEDED' });
    assert.equal(batch.callsOf('getJob').length, 1);
    assert.deepEqual(clock.sleeps, []);
  });

  it('backs off 1 s, 2 s, 4 s, 8 s while polling', async () => {
    const { tracker, batch, clock, id } = await submitted();
    clock.schedule(10_000, () => batch.setState(id, 'SUCCEEDED'));
    assert.equal((await tracker.wait(id, 60_000)).state, 'Done');
    assert.deepEqual(clock.sleeps, [1000, 2000, 4000, 8000]);
    assert.equal(batch.callsOf('getJob').length, 5);
  });

  it('caps the back-off at 30 s', async () => {
    const { tracker, batch, clock, id } = await submitted();
    clock.schedule(200_000, () => batch.setState(id, 'FAILED'));
    assert.equal((await tracker.wait(id, Infinity)).state, 'Failed');
    assert.deepEqual(
      clock.sleeps,
      [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000, 30_000, 30_000],
    );
    assert.equal(batch.callsOf('getJob').length, 12);
  });

  it('waits for ever with Infinity', async () => {
    const { tracker, batch, clock, id } = await submitted();
    clock.schedule(24 * 3600_000, () => batch.setState(id, 'SUCCEEDED'));
    assert.equal((await tracker.wait(id, Infinity)).state, 'Done');
    assert.ok(Math.max(...clock.sleeps) <= 30_000);
    assert.ok(batch.callsOf('getJob').length < 24 * 120 + 10, 'at most two reads a minute once backed off');
  });

  it('times out with a last read exactly at the deadline', async () => {
    const { tracker, batch, clock, id } = await submitted();
    await assert.rejects(tracker.wait(id, 10_000), (err) => {
      assert.ok(err instanceof TimeoutError);
      assert.match(err.message, /Queued/);
      return true;
    });
    assert.deepEqual(clock.sleeps, [1000, 2000, 4000, 3000]);
    assert.equal(batch.callsOf('getJob').length, 5);
  });

  it('with timeout 0 reads once and does not sleep', async () => {
    const { tracker, batch, clock, id } = await submitted();
    await assert.rejects(tracker.wait(id, 0), TimeoutError);
    assert.equal(batch.callsOf('getJob').length, 1);
    assert.deepEqual(clock.sleeps, []);
  });

  it('waits for the given states', async () => {
    const { tracker, batch, clock, id } = await submitted();
    clock.schedule(2500, () => batch.setState(id, 'RUNNING'));
    assert.deepEqual(await tracker.wait(id, 60_000, ['Running']), { state: 'Running', subState: 'RUNNING' });
  });

  it('retries read errors other than NotFound with back-off', async () => {
    const { tracker, batch, clock, id } = await submitted();
    clock.schedule(500, () => batch.failNext('getJob', batchError('Unavailable'), 3));
    clock.schedule(5000, () => batch.setState(id, 'SUCCEEDED'));
    assert.equal((await tracker.wait(id, 60_000)).state, 'Done');
    assert.deepEqual(clock.sleeps, [1000, 2000, 4000, 8000]);
    assert.equal(batch.callsOf('getJob').length, 5);
  });

  it('ends with NotFound when the job disappears while waiting', async () => {
    const { tracker, batch, clock, id } = await submitted();
    clock.schedule(1500, () => batch.remove(id));
    await assert.rejects(tracker.wait(id, Infinity), (err) => isBatchError(err, 'NotFound'));
    assert.equal(batch.callsOf('getJob').length, 3);
  });

  it('fails at once for a job it cannot read', async () => {
    const { tracker, batch, clock } = setup();
    batch.put({ name: `${PARENT}/jobs/x`, labels: { drmaa2session: 'other' } });
    await assert.rejects(tracker.wait(`${PARENT}/jobs/x`, Infinity), NotInSessionError);
    batch.failNext('getJob', batchError('PermissionDenied'));
    await assert.rejects(tracker.wait(`${PARENT}/jobs/x`, Infinity), (err) =>
      isBatchError(err, 'PermissionDenied'),
    );
    assert.deepEqual(clock.sleeps, []);
  });

  it('stops when aborted', async () => {
    const { tracker, clock, id } = await submitted();
    const controller = new AbortController();
    clock.schedule(5000, () => controller.abort(new Error('shutting down')));
    await assert.rejects(tracker.wait(id, Infinity, undefined, controller.signal), /shutting down/);
  });

  it('rejects a negative or NaN timeout', async () => {
    const { tracker, id } = await submitted();
    await assert.rejects(tracker.wait(id, -1), InvalidArgumentError);
    await assert.rejects(tracker.wait(id, Number.NaN), InvalidArgumentError);
  });
});
