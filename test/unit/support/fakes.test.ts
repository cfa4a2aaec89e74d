// The fakes other unit tests lean on must behave like the real thing where it matters.
import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { FakeBatchJobs, batchError } from '../../support/fakes/fakeBatchJobs.js';
import { FakeClock } from '../../support/fakes/fakeClock.js';
import { isBatchError } from '../../../src/ports/errors.js';

const parent = 'projects/p/locations/l';

function request(jobId: string, session = 's1') {
  return { parent, jobId, job: { labels: { drmaa2session: session }, taskGroups: [{ taskCount: 2 }] } };
}

describe('FakeBatchJobs', () => {
  it('creates, gets and refuses a duplicate job ID', async () => {
    const batch = new FakeBatchJobs();
    const job = await batch.createJob(request('a'));
    assert.equal(job.name, `${parent}/jobs/a`);
    assert.equal(job.status?.state, 'QUEUED');
    assert.equal((await batch.getJob(`${parent}/jobs/a`)).uid, job.uid);
    await assert.rejects(batch.createJob(request('a')), (e) => isBatchError(e, 'AlreadyExists'));
    await assert.rejects(batch.getJob(`${parent}/jobs/b`), (e) => isBatchError(e, 'NotFound'));
  });

  it('lists by label filter, page by page', async () => {
    const batch = new FakeBatchJobs();
    for (const id of ['a', 'b', 'c']) await batch.createJob(request(id));
    await batch.createJob(request('other', 's2'));
    const filter = 'labels.drmaa2session="s1"';
    const first = await batch.listJobs({ parent, filter, pageSize: 2 });
    assert.equal(first.jobs.length, 2);
    assert.ok(first.nextPageToken);
    const second = await batch.listJobs({ parent, filter, pageSize: 2, pageToken: first.nextPageToken });
    assert.deepEqual(
      second.jobs.map((j) => j.name),
      [`${parent}/jobs/c`],
    );
    assert.equal(second.nextPageToken, undefined);
    const running = await batch.listJobs({ parent, filter: `${filter} AND status.state="RUNNING"` });
    assert.equal(running.jobs.length, 0);
  });

  it('cancels and deletes through the in-progress states', async () => {
    const batch = new FakeBatchJobs();
    await batch.createJob(request('a'));
    await batch.createJob(request('b'));
    await batch.cancelJob(`${parent}/jobs/a`);
    await batch.deleteJob(`${parent}/jobs/b`);
    assert.equal(batch.job(`${parent}/jobs/a`)?.status?.state, 'CANCELLATION_IN_PROGRESS');
    assert.equal(batch.job(`${parent}/jobs/b`)?.status?.state, 'DELETION_IN_PROGRESS');
    batch.settle();
    assert.equal(batch.job(`${parent}/jobs/a`)?.status?.state, 'CANCELLED');
    assert.equal(batch.has(`${parent}/jobs/b`), false);
    await assert.rejects(batch.cancelJob(`${parent}/jobs/a`), (e) => isBatchError(e, 'FailedPrecondition'));
  });

  it('lists tasks following the job state, or as set', async () => {
    const batch = new FakeBatchJobs();
    const name = (await batch.createJob(request('a'))).name!;
    batch.setState(name, 'RUNNING');
    const tasks = await batch.listTasks(name);
    assert.deepEqual(
      tasks.map((t) => [t.name, t.status?.state]),
      [
        [`${name}/taskGroups/group0/tasks/0`, 'RUNNING'],
        [`${name}/taskGroups/group0/tasks/1`, 'RUNNING'],
      ],
    );
    batch.setTasks(name, [{ name: 't', status: { state: 'FAILED' } }]);
    assert.equal((await batch.listTasks(name))[0]?.status?.state, 'FAILED');
  });

  it('injects errors and records calls', async () => {
    const batch = new FakeBatchJobs();
    batch.failNext('getJob', batchError('Unavailable'), 2);
    await assert.rejects(batch.getJob('x'), (e) => isBatchError(e, 'Unavailable'));
    await assert.rejects(batch.getJob('x'), (e) => isBatchError(e, 'Unavailable'));
    await assert.rejects(batch.getJob('x'), (e) => isBatchError(e, 'NotFound'));
    assert.equal(batch.callsOf('getJob').length, 3);
  });
});

describe('FakeClock', () => {
  it('advances by each sleep in auto mode and runs scheduled actions on the way', async () => {
    const clock = new FakeClock({ start: '2025-01-01T00:00:00Z' });
    let ran = 0;
    clock.schedule(1500, () => ran++);
    await clock.sleep(1000);
    assert.equal(ran, 0);
    await clock.sleep(1000);
    assert.equal(ran, 1);
    assert.equal(clock.now().toISOString(), '2025-01-01T00:00:02.000Z');
    assert.deepEqual(clock.sleeps, [1000, 1000]);
  });

  it('waits for advance() in manual mode and honours abort', async () => {
    const clock = new FakeClock({ auto: false });
    let woke = false;
    const sleeping = clock.sleep(500).then(() => (woke = true));
    await Promise.resolve();
    clock.advance(499);
    await Promise.resolve();
    assert.equal(woke, false);
    clock.advance(1);
    await sleeping;
    assert.equal(woke, true);
    const controller = new AbortController();
    const aborted = clock.sleep(1000, controller.signal);
    controller.abort();
    await assert.rejects(aborted);
    assert.equal(clock.pendingSleeps, 0);
  });
});
