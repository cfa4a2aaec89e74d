// The session poller: one paged list per interval, only changed resources enqueued, ended jobs leave the
// poll set, and its memory spares the reconciler's GetJob.
import { beforeEach, describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { BatchJobState, Job } from '../../../src/api/batch.js';
import { LABEL_NAME, LABEL_NAMESPACE, LABEL_SESSION } from '../../../src/api/drmaa2job.js';
import {
  SessionPoller,
  activeJobsFilter,
  keyOfJob,
  retained,
  type Enqueue,
} from '../../../src/controller/poller.js';
import { jobInfoOf, taskCountsOf, translateSpec } from '../../../src/translate/index.js';
import { nextStatus } from '../../../src/translate/status.js';
import type { Drmaa2Job } from '../../../src/api/drmaa2job.js';
import type { JobPage, ListJobsQuery } from '../../../src/ports/batchJobs.js';
import { compileFilter } from '../../../src/emulator/filter.js';
import { FakeBatchJobs, batchError } from '../../support/fakes/fakeBatchJobs.js';
import { FakeClock } from '../../support/fakes/fakeClock.js';

const PARENT = 'projects/p/locations/l';
const INTERVAL = 10_000;

/** FakeBatchJobs whose list understands Batch's full filter syntax (OR, parentheses), via the emulator's
 * filter. */
class ListingBatch extends FakeBatchJobs {
  readonly lists: ListJobsQuery[] = [];

  override async listJobs(query: ListJobsQuery): Promise<JobPage> {
    this.lists.push(query);
    const failure = this.nextListFailure;
    this.nextListFailure = undefined;
    if (failure) throw failure;
    const matches = compileFilter(query.filter ?? '');
    const all = this.names()
      .map((name) => this.job(name)!)
      .filter((job) => job.name!.startsWith(`${query.parent}/jobs/`) && matches(job));
    const start = query.pageToken ? Number(query.pageToken) : 0;
    const size = query.pageSize ?? 50;
    const next = start + size < all.length ? String(start + size) : undefined;
    return { jobs: all.slice(start, start + size), ...(next ? { nextPageToken: next } : {}) };
  }

  nextListFailure: Error | undefined;
}

let batch: ListingBatch;
let clock: FakeClock;
let enqueued: string[];
let ended: string[];
let poller: SessionPoller;

function addJob(id: string, state: BatchJobState, session = 'prod'): string {
  const name = `${PARENT}/jobs/${id}`;
  batch.put({
    name,
    labels: { [LABEL_SESSION]: session, [LABEL_NAMESPACE]: 'team', [LABEL_NAME]: id },
    status: { state },
    updateTime: clock.now().toISOString(),
  });
  return name;
}

/** What the runner hands the poller: records every key, and those whose job ended. */
const enqueue: Enqueue = (key, gone) => {
  enqueued.push(key);
  if (gone) ended.push(key);
};

function newPoller(pageSize = 50): SessionPoller {
  return new SessionPoller({
    batch,
    parent: PARENT,
    session: 'prod',
    intervalMs: INTERVAL,
    clock,
    pageSize,
    logger: pino({ level: 'silent' }),
  });
}

beforeEach(() => {
  clock = new FakeClock({ start: '2025-01-01T00:00:00Z', auto: false });
  batch = new ListingBatch({ now: () => clock.now() });
  enqueued = [];
  ended = [];
  poller = newPoller();
});

describe('activeJobsFilter', () => {
  it('selects the session and the running states, in the forms real callers send', () => {
    const filter = activeJobsFilter('prod');
    // Label equality AND a parenthesised OR of state equalities, as dsub lists running jobs.
    assert.equal(
      filter,
      'labels.drmaa2session="prod" AND (status.state="QUEUED" OR status.state="SCHEDULED" OR status.state="RUNNING")',
    );
    const matches = compileFilter(filter);
    const job = (state: BatchJobState, session = 'prod'): Job => ({
      labels: { drmaa2session: session },
      status: { state },
    });
    for (const state of ['QUEUED', 'SCHEDULED', 'RUNNING'] as const) assert.ok(matches(job(state)), state);
    for (const state of [
      'SUCCEEDED',
      'FAILED',
      'CANCELLED',
      'CANCELLATION_IN_PROGRESS',
      'DELETION_IN_PROGRESS',
    ] as const) {
      assert.ok(!matches(job(state)), `${state}: read with GetJob, not listed`);
    }
    assert.ok(!matches(job('RUNNING', 'other')));
  });

  it('keyOfJob reads the resource key from the labels', () => {
    assert.equal(keyOfJob({ labels: { [LABEL_NAMESPACE]: 'ns', [LABEL_NAME]: 'n' } }), 'ns/n');
    assert.equal(keyOfJob({ labels: {} }), undefined);
  });
});

describe('SessionPoller.pollOnce', () => {
  it('enqueues every active job at first sight, then only what changed', async () => {
    addJob('a', 'QUEUED');
    const b = addJob('b', 'RUNNING');
    await poller.pollOnce(enqueue);
    assert.deepEqual(enqueued.sort(), ['team/a', 'team/b']);
    enqueued = [];
    await poller.pollOnce(enqueue);
    assert.deepEqual(enqueued, [], 'nothing changed, nothing enqueued');
    clock.advance(1000);
    batch.setState(b, 'SCHEDULED');
    await poller.pollOnce(enqueue);
    assert.deepEqual(enqueued, ['team/b']);
    assert.deepEqual(ended, [], 'still listed: not marked as left');
  });

  it('a job being cancelled leaves the list: enqueued once, then read with GetJob', async () => {
    const b = addJob('b', 'RUNNING');
    await poller.pollOnce(enqueue);
    enqueued = [];
    clock.advance(1000);
    batch.setState(b, 'CANCELLATION_IN_PROGRESS');
    await poller.pollOnce(enqueue);
    assert.deepEqual(ended, ['team/b']);
    assert.equal(poller.get(b), undefined, 'the reconciler reads it itself');
    poller.remember(batch.job(b)!);
    assert.equal(poller.get(b), undefined, 'not kept: no list would refresh it');
  });

  it('a change of task counts is a change, whether or not updateTime moved', async () => {
    const a = addJob('a', 'RUNNING');
    const at = batch.job(a)!.updateTime!;
    batch.put({
      ...batch.job(a)!,
      name: a,
      status: { state: 'RUNNING', taskGroups: { group0: { counts: { RUNNING: 2 } } } },
    });
    await poller.pollOnce(enqueue);
    enqueued = [];
    batch.put({
      ...batch.job(a)!,
      name: a,
      updateTime: at,
      status: { state: 'RUNNING', taskGroups: { group0: { counts: { RUNNING: 1, SUCCEEDED: 1 } } } },
    });
    await poller.pollOnce(enqueue);
    assert.deepEqual(enqueued, ['team/a']);
    assert.equal(poller.get(a)?.status?.taskGroups?.group0?.counts?.SUCCEEDED, 1);
  });

  it('a new status event is a change, whether or not updateTime moved', async () => {
    const a = addJob('a', 'SCHEDULED');
    await poller.pollOnce(enqueue);
    enqueued = [];
    const event = {
      type: 'OPERATIONAL_INFO',
      description: 'quota exceeded',
      eventTime: '2025-01-01T00:00:01Z',
    };
    batch.put({ ...batch.job(a)!, name: a, status: { state: 'SCHEDULED', statusEvents: [event] } });
    await poller.pollOnce(enqueue);
    assert.deepEqual(enqueued, ['team/a']);
    await poller.pollOnce(enqueue);
    assert.deepEqual(enqueued, ['team/a'], 'once');
  });

  it('a running job whose run time alone moved is not enqueued, however far it moved', async () => {
    const a = addJob('a', 'RUNNING');
    const at = batch.job(a)!.updateTime!;
    const running = (seconds: number) =>
      batch.put({
        ...batch.job(a)!,
        name: a,
        updateTime: at,
        status: { state: 'RUNNING', runDuration: `${seconds}s` },
      });
    running(5);
    await poller.pollOnce(enqueue);
    enqueued = [];
    for (const seconds of [30, 66, 3600]) {
      running(seconds);
      await poller.pollOnce(enqueue);
    }
    assert.deepEqual(enqueued, []);
  });

  it('ignores jobs of other sessions and ended jobs', async () => {
    addJob('mine', 'RUNNING');
    addJob('theirs', 'RUNNING', 'other');
    addJob('old', 'SUCCEEDED');
    await poller.pollOnce(enqueue);
    assert.deepEqual(enqueued, ['team/mine']);
    assert.equal(poller.size(), 1);
  });

  it('a job that ended is enqueued once more, then leaves the poll set', async () => {
    const a = addJob('a', 'RUNNING');
    addJob('b', 'RUNNING');
    await poller.pollOnce(enqueue);
    enqueued = [];
    clock.advance(1000);
    batch.setState(a, 'SUCCEEDED');
    await poller.pollOnce(enqueue);
    assert.deepEqual(enqueued, ['team/a']);
    assert.deepEqual(ended, ['team/a'], 'marked as ended: it goes before new resources');
    assert.equal(poller.size(), 1);
    assert.equal(poller.get(a), undefined, 'no stale view of an ended job');
    enqueued = [];
    await poller.pollOnce(enqueue);
    assert.deepEqual(enqueued, []);
  });

  it('follows every page: list calls per poll equal the pages, never one per job', async () => {
    poller = newPoller(2);
    for (let i = 0; i < 5; i++) addJob(`j${i}`, 'RUNNING');
    assert.equal(await poller.pollOnce(enqueue), 3);
    assert.equal(batch.lists.length, 3);
    assert.equal(enqueued.length, 5);
    assert.deepEqual(
      batch.lists.map((q) => q.pageToken),
      [undefined, '2', '4'],
    );
    assert.ok(batch.lists.every((q) => q.filter === activeJobsFilter('prod') && q.parent === PARENT));
    assert.equal(batch.callsOf('getJob').length, 0);
    await poller.pollOnce(enqueue);
    assert.equal(batch.lists.length, 6);
  });

  it('serves the newest view of a job to the reconciler', async () => {
    const a = addJob('a', 'QUEUED');
    await poller.pollOnce(enqueue);
    assert.equal(poller.get(a)?.status?.state, 'QUEUED');
    clock.advance(1000);
    batch.setState(a, 'RUNNING');
    await poller.pollOnce(enqueue);
    assert.equal(poller.get(a)?.status?.state, 'RUNNING');
  });

  it('remember: a fresher job read by the reconciler is kept and not reported again', async () => {
    const a = addJob('a', 'QUEUED');
    await poller.pollOnce(enqueue);
    enqueued = [];
    clock.advance(1000);
    batch.setState(a, 'RUNNING');
    poller.remember(batch.job(a)!);
    assert.equal(poller.get(a)?.status?.state, 'RUNNING');
    await poller.pollOnce(enqueue);
    assert.deepEqual(enqueued, [], 'the reconciler already saw this change');
  });

  it('remember: an older snapshot never replaces a newer one', async () => {
    const a = addJob('a', 'QUEUED');
    const old = batch.job(a)!;
    clock.advance(1000);
    batch.setState(a, 'RUNNING');
    await poller.pollOnce(enqueue);
    poller.remember(old);
    assert.equal(poller.get(a)?.status?.state, 'RUNNING');
  });

  it('remember: an ended job is dropped', async () => {
    const a = addJob('a', 'RUNNING');
    await poller.pollOnce(enqueue);
    clock.advance(1000);
    batch.setState(a, 'FAILED');
    poller.remember(batch.job(a)!);
    assert.equal(poller.get(a), undefined);
    assert.equal(poller.size(), 0);
  });
});

describe('a poll that keeps failing', () => {
  it('stops serving its memory once it is older than the bound, so reconciles read with GetJob', async () => {
    const a = addJob('a', 'RUNNING');
    await poller.pollOnce(enqueue);
    assert.ok(poller.get(a));
    batch.nextListFailure = batchError('PermissionDenied');
    await assert.rejects(poller.pollOnce(enqueue));
    clock.advance(3 * INTERVAL);
    assert.ok(poller.get(a), 'within three intervals of the last list: served');
    clock.advance(1);
    assert.equal(poller.get(a), undefined, 'older: not served');
    await poller.pollOnce(enqueue);
    assert.ok(poller.get(a), 'a list that works again refreshes it');
  });

  it('says so after three failures in a row, and stops saying so after a success', async () => {
    addJob('a', 'RUNNING');
    for (let i = 1; i <= 3; i++) {
      assert.equal(poller.problem(), undefined, `not after ${i - 1}`);
      batch.nextListFailure = batchError('PermissionDenied', 'caller lacks batch.jobs.list');
      await assert.rejects(poller.pollOnce(enqueue));
      clock.advance(INTERVAL);
    }
    const problem = poller.problem();
    assert.equal(problem?.reason, 'BatchPollFailing');
    assert.match(problem!.message, /3 times in a row since 2025-01-01T00:00:00\.000Z/);
    assert.match(problem!.message, /batch\.jobs\.list/);
    const health = poller.health();
    assert.equal(health.ok, false);
    assert.equal(health.failuresInARow, 3);
    assert.equal(health.lastSuccess, undefined);
    await poller.pollOnce(enqueue);
    assert.equal(poller.problem(), undefined);
    assert.deepEqual(poller.health(), {
      ok: true,
      failuresInARow: 0,
      lastSuccess: new Date('2025-01-01T00:00:30.000Z'),
    });
  });

  it('follows a job while it polls well; at the third failure in a row it enqueues every job it followed', async () => {
    const a = addJob('a', 'RUNNING');
    const b = addJob('b', 'QUEUED');
    assert.equal(poller.follows(a), false, 'not before it was listed');
    await poller.pollOnce(enqueue);
    assert.equal(poller.follows(a) && poller.follows(b), true);
    enqueued = [];
    for (let i = 1; i <= 4; i++) {
      batch.nextListFailure = batchError('Unavailable', 'down');
      await assert.rejects(poller.pollOnce(enqueue));
      assert.equal(poller.follows(a), false, `not after failure ${i}`);
      assert.deepEqual(enqueued, i < 3 ? [] : ['team/a', 'team/b'], `enqueued after failure ${i}`);
    }
    await poller.pollOnce(enqueue);
    assert.equal(poller.follows(a), true, 'again after a success');
  });

  it('tells the metrics hooks of each success and failure', async () => {
    const seen: string[] = [];
    poller = new SessionPoller({
      batch,
      parent: PARENT,
      session: 'prod',
      intervalMs: INTERVAL,
      clock,
      logger: pino({ level: 'silent' }),
      onPoll: (pages) => seen.push(`ok ${pages}`),
      onPollFailed: (_err, n) => seen.push(`failed ${n}`),
    });
    batch.nextListFailure = batchError('Unavailable');
    poller.start(enqueue);
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(INTERVAL);
    await new Promise((resolve) => setImmediate(resolve));
    await poller.stop();
    assert.deepEqual(seen, ['failed 1', 'ok 1']);
  });
});

describe('SessionPoller.start', () => {
  const flush = () => new Promise((resolve) => setImmediate(resolve));

  it('polls once per interval until stopped, and survives a failed list', async () => {
    addJob('a', 'RUNNING');
    batch.nextListFailure = batchError('Unavailable');
    poller.start(enqueue);
    await flush();
    assert.equal(batch.lists.length, 1);
    assert.deepEqual(enqueued, [], 'the failed poll enqueued nothing');
    clock.advance(INTERVAL);
    await flush();
    assert.equal(batch.lists.length, 2);
    assert.deepEqual(enqueued, ['team/a']);
    clock.advance(INTERVAL);
    await flush();
    assert.equal(batch.lists.length, 3);
    await poller.stop();
    clock.advance(INTERVAL * 3);
    await flush();
    assert.equal(batch.lists.length, 3, 'no polls after stop');
    assert.equal(poller.size(), 0, 'a stopped poller forgets');
  });
});

describe('a poll of many pages', () => {
  it('starts one interval after the last one started, and at least half an interval after it ended', async () => {
    const flush = () => new Promise((resolve) => setImmediate(resolve));
    addJob('a', 'RUNNING');
    let listTakesMs = 4_000;
    const listJobs = batch.listJobs.bind(batch);
    batch.listJobs = async (query) => {
      clock.advance(listTakesMs);
      return listJobs(query);
    };
    poller.start(enqueue);
    await flush();
    assert.equal(batch.lists.length, 1);
    clock.advance(INTERVAL - 4_000 - 1);
    await flush();
    assert.equal(batch.lists.length, 1, 'not before an interval from its start');
    clock.advance(1);
    await flush();
    assert.equal(batch.lists.length, 2, 'one interval after the first started');
    listTakesMs = 30_000;
    clock.advance(INTERVAL - 4_000);
    await flush();
    assert.equal(batch.lists.length, 3);
    clock.advance(INTERVAL / 2 - 1);
    await flush();
    assert.equal(batch.lists.length, 3, 'a poll slower than the interval: half an interval of rest');
    clock.advance(1);
    await flush();
    assert.equal(batch.lists.length, 4);
    await poller.stop();
  });

  it('serves what it listed for three periods of interval and poll time, so a slow poll does not expire it', async () => {
    const a = addJob('a', 'RUNNING');
    const listJobs = batch.listJobs.bind(batch);
    batch.listJobs = async (query) => {
      clock.advance(20_000);
      return listJobs(query);
    };
    await poller.pollOnce(enqueue);
    clock.advance(3 * (INTERVAL + 20_000) - 20_000);
    assert.ok(poller.get(a), 'still served');
    clock.advance(1);
    assert.equal(poller.get(a), undefined);
  });
});

describe('retained', () => {
  it('keeps everything the status is computed from, drops runnables, volumes and per-task environments', () => {
    const result = translateSpec(
      {
        jobTemplate: {
          remoteCommand: `echo ${'x'.repeat(10_000)}`,
          jobCategory: '$script$',
          candidateMachines: ['e2-standard-4'],
          stageOutFiles: { '/out': 'gs://results' },
          accountingString: 'lab',
        },
        array: { begin: 1, end: 20 },
      },
      {
        project: 'p',
        location: 'l',
        session: 'prod',
        owner: { namespace: 'ns', name: 'a', uid: '00000000-0000-0000-0000-00000000000a' },
      },
    );
    assert.ok(result.ok);
    const job: Job = {
      ...result.submission.requests[0]!.job,
      name: `${PARENT}/jobs/a`,
      uid: 'a-1',
      createTime: '2025-01-01T00:00:00Z',
      status: {
        state: 'RUNNING',
        taskGroups: {
          group0: {
            counts: { RUNNING: 5, SUCCEEDED: 15 },
            instances: [{ machineType: 'e2-standard-4', taskPack: 1 }],
          },
        },
        statusEvents: [
          { description: 'Job state is set from SCHEDULED to RUNNING', eventTime: '2025-01-01T00:00:03Z' },
        ],
        runDuration: '12.5s',
      },
    };
    job.allocationPolicy!.instances![0]!.policy!.minCpuPlatform = 'Intel Ice Lake';
    const kept = retained(job);
    assert.deepEqual(jobInfoOf(kept), jobInfoOf(job));
    assert.equal(jobInfoOf(kept).extension?.extensionList?.min_cpu_platform, 'Intel Ice Lake');
    assert.deepEqual(taskCountsOf(kept), taskCountsOf(job));
    assert.equal(keyOfJob(kept), keyOfJob(job));
    assert.deepEqual(kept.labels, job.labels, 'the owner guard reads the labels');
    const owner: Drmaa2Job = {
      apiVersion: 'drmaa2.io/v1alpha1',
      kind: 'Drmaa2Job',
      metadata: { name: 'a', namespace: 'ns', uid: '00000000-0000-0000-0000-00000000000a', generation: 1 },
      spec: { jobTemplate: { remoteCommand: 'echo' } },
    };
    const now = new Date('2025-01-01T00:01:00Z');
    assert.deepEqual(
      nextStatus({ resource: owner, phase: { kind: 'submitted', jobs: [kept] }, now }),
      nextStatus({ resource: owner, phase: { kind: 'submitted', jobs: [job] }, now }),
      'the same status from the kept copy',
    );
    assert.equal(kept.allocationPolicy?.labels, undefined, "the VMs' copy of the labels is gone");
    assert.equal(kept.status?.taskGroups?.group0?.instances, undefined);
    assert.ok(
      JSON.stringify(kept).length < JSON.stringify(job).length - 10_000,
      'the runnable with its 10 kB command is gone',
    );
    assert.equal(kept.taskGroups?.[0]?.taskEnvironments, undefined);
    assert.equal(kept.taskGroups?.[0]?.taskSpec?.runnables, undefined);
  });
});
