// The emulator's API rules through the real client: validation with Batch's status codes, listing with
// filters, order and pages, idempotent request IDs, faults, quota, and robustness against random requests.
import { afterAll, beforeAll, describe, it } from 'vitest';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { BatchServiceClient } from '@google-cloud/batch';
import { startEmulator, type RunningEmulator } from '../../../src/emulator/index.js';
import { PARENT, rawClient, scriptJob } from './client.js';

let emulator: RunningEmulator;
let client: BatchServiceClient;

beforeAll(async () => {
  emulator = await startEmulator({ stepMs: 5, adminPort: 0 });
  client = rawClient(emulator.host);
});
afterAll(async () => {
  await client.close();
  await emulator.stop();
});

const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;
const RESOURCE_EXHAUSTED = 8;
const UNAVAILABLE = 14;

function rejectsWith(promise: Promise<unknown>, code: number, message?: RegExp) {
  return assert.rejects(promise, (err: { code: number; details?: string }) => {
    assert.equal(err.code, code, String(err.details));
    if (message) assert.match(String(err.details), message);
    return true;
  });
}

const create = (jobId: string, job: Record<string, unknown>, requestId = '') =>
  client.createJob({ parent: PARENT, jobId, job, requestId });

describe('validation', () => {
  const cases: [string, string, Record<string, unknown>, RegExp][] = [
    ['job ID with uppercase', 'Bad-Id', scriptJob('true'), /job_id/],
    ['job ID ending in a hyphen', 'bad-', scriptJob('true'), /job_id/],
    ['job ID longer than 63', `a${'b'.repeat(63)}`, scriptJob('true'), /job_id/],
    ['no task group', 'v1', { taskGroups: [] }, /exactly one task group/],
    ['no runnables', 'v2', { taskGroups: [{ taskSpec: { runnables: [] } }] }, /runnables/],
    [
      'parallelism above task count',
      'v3',
      scriptJob('true', {}, { taskCount: 2, parallelism: 3 }),
      /parallelism/,
    ],
    [
      'barrier without full parallelism',
      'v4',
      {
        taskGroups: [{ taskCount: 2, parallelism: 1, taskSpec: { runnables: [{ barrier: { name: 'b' } }] } }],
      },
      /barriers/,
    ],
    ['bad label key', 'v5', { ...scriptJob('true'), labels: { Key: 'v' } }, /label key/],
    ['bad label value', 'v6', { ...scriptJob('true'), labels: { k: 'Value With Spaces' } }, /label/],
    ['oversize label value', 'v7', { ...scriptJob('true'), labels: { k: 'a'.repeat(64) } }, /label/],
    [
      'too many labels',
      'v8',
      {
        ...scriptJob('true'),
        labels: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])),
      },
      /64 labels/,
    ],
    ['priority above 99', 'v9', { ...scriptJob('true'), priority: 100 }, /priority/],
    ['maxRetryCount above 10', 'v10', scriptJob('true', { maxRetryCount: 11 }), /max_retry_count/],
    [
      'unknown provisioning model',
      'v11',
      { ...scriptJob('true'), allocationPolicy: { instances: [{ policy: { provisioningModel: 42 } }] } },
      /provisioning_model/,
    ],
    ['negative duration', 'v12', scriptJob('true', { maxRunDuration: { seconds: -5 } }), /max_run_duration/],
  ];
  for (const [title, jobId, job, message] of cases) {
    it(`rejects ${title} with INVALID_ARGUMENT`, () =>
      rejectsWith(create(jobId, job), INVALID_ARGUMENT, message));
  }

  it('rejects a request ID that is not a UUID, or the zero UUID', async () => {
    await rejectsWith(create('r1', scriptJob('true'), 'not-a-uuid'), INVALID_ARGUMENT, /request_id/);
    await rejectsWith(
      create('r2', scriptJob('true'), '00000000-0000-0000-0000-000000000000'),
      INVALID_ARGUMENT,
    );
  });

  it('answers ALREADY_EXISTS for a duplicate job ID, but replays the original for the same request ID', async () => {
    const requestId = '5f0c6b0e-7c8e-4d57-9a43-3b2f0a1c9d11';
    const [first] = await create('dup', scriptJob('true'), requestId);
    const [again] = await create('dup', scriptJob('true'), requestId);
    assert.equal(again.uid, first.uid);
    await rejectsWith(create('dup', scriptJob('true')), ALREADY_EXISTS);
  });

  it('answers NOT_FOUND for unknown jobs, tasks and operations', async () => {
    await rejectsWith(client.getJob({ name: `${PARENT}/jobs/nope` }), NOT_FOUND);
    await rejectsWith(client.getTask({ name: `${PARENT}/jobs/nope/taskGroups/group0/tasks/0` }), NOT_FOUND);
    await rejectsWith(client.cancelJob({ name: `${PARENT}/jobs/nope` }), NOT_FOUND);
    await rejectsWith(client.checkDeleteJobProgress(`${PARENT}/operations/nope`), NOT_FOUND);
  });
});

describe('listing', () => {
  beforeAll(async () => {
    for (let i = 0; i < 7; i++) {
      await create(`list-${i}`, { ...scriptJob('true'), labels: { drmaa2session: i % 2 ? 'odd' : 'even' } });
    }
  });

  it('filters by label and follows page tokens', async () => {
    const names: string[] = [];
    let pageToken = '';
    let pages = 0;
    do {
      const [jobs, , response] = await client.listJobs(
        { parent: PARENT, filter: 'labels.drmaa2session="even"', pageSize: 2, pageToken },
        { autoPaginate: false },
      );
      names.push(...jobs.map((j) => j.name!));
      pageToken = response?.nextPageToken ?? '';
      pages++;
    } while (pageToken);
    assert.deepEqual(
      names.sort(),
      [0, 2, 4, 6].map((i) => `${PARENT}/jobs/list-${i}`),
    );
    assert.equal(pages, 2);
  });

  it('combines filters with AND / OR and orders by name desc', async () => {
    const [jobs] = await client.listJobs({
      parent: PARENT,
      filter:
        '(labels.drmaa2session="odd" OR labels.drmaa2session="even") AND NOT name="projects/p/locations/l/jobs/list-0"',
      orderBy: 'name desc',
    });
    assert.deepEqual(
      jobs.map((j) => j.name),
      [6, 5, 4, 3, 2, 1].map((i) => `${PARENT}/jobs/list-${i}`),
    );
  });

  it('rejects a malformed filter', () =>
    rejectsWith(client.listJobs({ parent: PARENT, filter: 'labels.x=' }), INVALID_ARGUMENT));
});

describe('faults and quota', () => {
  it('injects the configured status codes and counts calls by method and code', async () => {
    emulator.setFaults({ errors: { GetJob: { probability: 1, codes: ['UNAVAILABLE'] } } });
    // The client's own retries are switched off so that the injected code reaches the caller.
    await rejectsWith(
      client.getJob(
        { name: `${PARENT}/jobs/list-1` },
        { retry: { retryCodes: [], backoffSettings: {} } as never },
      ),
      UNAVAILABLE,
      /injected/,
    );
    emulator.setFaults({});
    await client.getJob({ name: `${PARENT}/jobs/list-1` });
    const calls = emulator.stats().calls.GetJob!;
    assert.ok((calls.UNAVAILABLE ?? 0) >= 1 && (calls.OK ?? 0) >= 1);
  });

  it('answers RESOURCE_EXHAUSTED beyond the per-minute quota, and the admin endpoint reports it', async () => {
    emulator.setQuota({ mutationsPerMinute: 1000, readsPerMinute: 3 });
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, () => client.getJob({ name: `${PARENT}/jobs/list-1` })),
    );
    emulator.setQuota(undefined);
    const exhausted = results.filter(
      (r) => r.status === 'rejected' && (r.reason as { code: number }).code === RESOURCE_EXHAUSTED,
    );
    assert.equal(exhausted.length, 3);
    const stats = (await (await fetch(`${emulator.adminUrl}/admin/stats`)).json()) as {
      calls: Record<string, Record<string, number>>;
    };
    assert.ok(stats.calls.GetJob!.RESOURCE_EXHAUSTED! >= 3);
  });
});

describe('robustness', () => {
  it('survives a couple of thousand random requests and still answers', async () => {
    const value = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.string(), { maxLength: 3 }),
    );
    const job = fc.dictionary(
      fc.constantFrom('taskGroups', 'labels', 'priority', 'allocationPolicy', 'logsPolicy', 'name', 'status'),
      fc.oneof(
        value,
        fc.dictionary(fc.string(), value, { maxKeys: 4 }),
        fc.array(fc.dictionary(fc.string(), value), { maxLength: 2 }),
      ),
    );
    const samples = fc.sample(fc.tuple(fc.string({ maxLength: 70 }), job, fc.string({ maxLength: 40 })), {
      numRuns: 2000,
      seed: 42,
    });
    let answered = 0;
    for (const chunk of Array.from({ length: 20 }, (_, i) => samples.slice(i * 100, (i + 1) * 100))) {
      const results = await Promise.allSettled(
        chunk.map(([jobId, body, requestId]) =>
          client.createJob({ parent: PARENT, jobId, job: body as never, requestId }),
        ),
      );
      answered += results.filter(
        (r) => r.status === 'fulfilled' || typeof (r.reason as { code?: unknown }).code === 'number',
      ).length;
    }
    assert.equal(answered, 2000);
    const [job0] = await client.getJob({ name: `${PARENT}/jobs/list-0` });
    assert.equal(job0.name, `${PARENT}/jobs/list-0`);
  });
});
