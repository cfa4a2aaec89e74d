// The real @google-cloud/batch client through the adapter, against a scripted gRPC server on loopback that
// serves the BatchService from the protos the client ships: proves the emulator options, the wire-form
// conversion in both directions, paging, error kinds, no client-side retries, and the call observer.
import { afterAll, beforeAll, beforeEach, describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createBatchJobs, type ClosableBatchJobs } from '../../../../src/adapters/batch/index.js';
import { LIST_PAGE_SIZE } from '../../../../src/ports/batchJobs.js';
import { isBatchError } from '../../../../src/ports/errors.js';

type Handler = (request: Record<string, unknown>) => unknown;

const require = createRequire(import.meta.url);
const batchRoot = join(dirname(require.resolve('@google-cloud/batch/package.json')), 'build', 'protos');
// google-gax's main is build/src/index.js; its protos sit beside in build/protos.
const gaxRoot = join(
  dirname(createRequire(require.resolve('@google-cloud/batch')).resolve('google-gax')),
  '..',
  'protos',
);

const parent = 'projects/p/locations/l';
let server: grpc.Server;
let port: number;
const received: { method: string; request: Record<string, unknown> }[] = [];
let handlers: Record<string, Handler> = {};

function status(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
}

function unary(method: string) {
  return (
    call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>,
    callback: grpc.sendUnaryData<unknown>,
  ) => {
    received.push({ method, request: call.request });
    try {
      callback(null, handlers[method]!(call.request));
    } catch (err) {
      callback(err as grpc.ServiceError, null);
    }
  };
}

beforeAll(async () => {
  const definition = protoLoader.loadSync('google/cloud/batch/v1/batch.proto', {
    includeDirs: [batchRoot, gaxRoot],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    google: { cloud: { batch: { v1: { BatchService: { service: grpc.ServiceDefinition } } } } };
  };
  server = new grpc.Server();
  const methods = ['CreateJob', 'GetJob', 'ListJobs', 'CancelJob', 'DeleteJob', 'ListTasks'];
  const impl = Object.fromEntries(methods.map((m) => [m, unary(m)]));
  server.addService(loaded.google.cloud.batch.v1.BatchService.service, impl);
  port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
});

beforeEach(() => {
  received.length = 0;
  handlers = {};
});

function client(observed?: [string, string][]): ClosableBatchJobs {
  return createBatchJobs({
    emulatorHost: `127.0.0.1:${port}`,
    projectId: 'p',
    timeoutMs: 5000,
    ...(observed ? { observer: (method, code) => observed.push([method, code]) } : {}),
  });
}

const storedJob = {
  name: `${parent}/jobs/j1`,
  uid: 'j1-uid',
  priority: '10',
  labels: { drmaa2session: 's' },
  createTime: { seconds: '1700000000', nanos: 0 },
  taskGroups: [
    {
      name: `${parent}/jobs/j1/taskGroups/group0`,
      taskCount: '3',
      taskSpec: {
        runnables: [{ script: { text: 'echo hi' } }],
        maxRunDuration: { seconds: '1800', nanos: 0 },
      },
    },
  ],
  status: {
    state: 'RUNNING',
    runDuration: { seconds: '5', nanos: 0 },
    taskGroups: { group0: { counts: { RUNNING: '3' } } },
  },
};

describe('GoogleBatchJobs with the real client', () => {
  it('creates a job: durations and numbers on the wire, core form back', async () => {
    handlers.CreateJob = () => storedJob;
    const batch = client();
    try {
      const job = await batch.createJob({
        parent,
        jobId: 'j1',
        requestId: '8a2f6a76-7c3e-4f51-9d1c-0a5b2c3d4e5f',
        job: {
          priority: 10,
          labels: { drmaa2session: 's' },
          taskGroups: [
            {
              taskCount: 3,
              taskSpec: { runnables: [{ script: { text: 'echo hi' } }], maxRunDuration: '1800s' },
            },
          ],
        },
      });
      const request = received[0]!.request as {
        jobId: string;
        requestId: string;
        job: { taskGroups: { taskCount: string; taskSpec: { maxRunDuration: { seconds: string } } }[] };
      };
      assert.equal(request.jobId, 'j1');
      assert.equal(request.requestId, '8a2f6a76-7c3e-4f51-9d1c-0a5b2c3d4e5f');
      assert.equal(request.job.taskGroups[0]!.taskCount, '3');
      assert.equal(request.job.taskGroups[0]!.taskSpec.maxRunDuration.seconds, '1800');
      assert.equal(job.name, `${parent}/jobs/j1`);
      assert.equal(job.priority, 10);
      assert.equal(job.taskGroups?.[0]?.taskCount, 3);
      assert.equal(job.taskGroups?.[0]?.taskSpec?.maxRunDuration, '1800s');
      assert.equal(job.createTime, '2023-11-14T22:13:20.000Z');
      assert.equal(job.status?.state, 'RUNNING');
      assert.equal(job.status?.runDuration, '5s');
      assert.deepEqual(job.status?.taskGroups, { group0: { counts: { RUNNING: 3 } } });
      assert.deepEqual(job.taskGroups?.[0]?.taskSpec?.runnables, [{ script: { text: 'echo hi' } }]);
    } finally {
      await batch.close();
    }
  });

  it('lists one page and hands back the next page token', async () => {
    handlers.ListJobs = (req) =>
      req.pageToken === ''
        ? { jobs: [storedJob], nextPageToken: 'page-2' }
        : { jobs: [{ ...storedJob, name: `${parent}/jobs/j2` }], nextPageToken: '' };
    const batch = client();
    try {
      const first = await batch.listJobs({ parent, filter: 'labels.drmaa2session="s"', pageSize: 1 });
      assert.deepEqual(
        first.jobs.map((j) => j.name),
        [`${parent}/jobs/j1`],
      );
      assert.equal(first.nextPageToken, 'page-2');
      const second = await batch.listJobs({ parent, pageToken: first.nextPageToken! });
      assert.equal(second.nextPageToken, undefined);
      assert.equal(received.length, 2, 'no automatic paging');
      assert.equal(received[0]!.request.filter, 'labels.drmaa2session="s"');
      assert.equal(received[0]!.request.pageSize, 1);
    } finally {
      await batch.close();
    }
  });

  it('lists all task pages of group0', async () => {
    handlers.ListTasks = (req) =>
      req.pageToken === ''
        ? { tasks: [{ name: 't0', status: { state: 'SUCCEEDED', statusEvents: [] } }], nextPageToken: 'n' }
        : {
            tasks: [
              { name: 't1', status: { state: 'FAILED', statusEvents: [{ taskExecution: { exitCode: 0 } }] } },
            ],
          };
    const batch = client();
    try {
      const tasks = await batch.listTasks(`${parent}/jobs/j1`);
      assert.deepEqual(tasks, [
        { name: 't0', status: { state: 'SUCCEEDED' } },
        { name: 't1', status: { state: 'FAILED', statusEvents: [{ taskExecution: { exitCode: 0 } }] } },
      ]);
      assert.equal(received[0]!.request.parent, `${parent}/jobs/j1/taskGroups/group0`);
      assert.equal(received.length, 2);
      // Batch refuses a later page whose size differs from its token's (googleapis/python-batch#101).
      assert.deepEqual(
        received.map((r) => r.request.pageSize),
        [LIST_PAGE_SIZE, LIST_PAGE_SIZE],
      );
      assert.equal(received[1]!.request.pageToken, 'n');
    } finally {
      await batch.close();
    }
  });

  it('resolves cancel and delete once the operation is accepted', async () => {
    const pending = { name: 'operations/op1', done: false };
    handlers.CancelJob = () => pending;
    handlers.DeleteJob = () => pending;
    const batch = client();
    try {
      await batch.cancelJob(`${parent}/jobs/j1`);
      await batch.deleteJob(`${parent}/jobs/j1`, 'job deleted by user');
      assert.deepEqual(
        received.map((r) => r.method),
        ['CancelJob', 'DeleteJob'],
      );
      assert.equal(received[1]!.request.reason, 'job deleted by user');
    } finally {
      await batch.close();
    }
  });

  it('maps gRPC statuses to BatchError kinds, keeping the message', async () => {
    const cases: [grpc.status, string][] = [
      [grpc.status.NOT_FOUND, 'NotFound'],
      [grpc.status.ALREADY_EXISTS, 'AlreadyExists'],
      [grpc.status.INVALID_ARGUMENT, 'InvalidArgument'],
      [grpc.status.RESOURCE_EXHAUSTED, 'ResourceExhausted'],
    ];
    const batch = client();
    try {
      for (const [code, kind] of cases) {
        handlers.GetJob = () => {
          throw status(code, `scripted ${kind}`);
        };
        await assert.rejects(batch.getJob(`${parent}/jobs/x`), (err) => {
          assert.ok(isBatchError(err), String(err));
          assert.equal(err.kind, kind);
          assert.equal(err.code, code);
          assert.match(err.message, new RegExp(`scripted ${kind}`));
          return true;
        });
      }
    } finally {
      await batch.close();
    }
  });

  it('does not retry UNAVAILABLE on reads (the caller backs off) and reports each call', async () => {
    handlers.GetJob = () => {
      throw status(grpc.status.UNAVAILABLE, 'down');
    };
    const observed: [string, string][] = [];
    const batch = client(observed);
    try {
      await assert.rejects(batch.getJob(`${parent}/jobs/x`), (err) => isBatchError(err, 'Unavailable'));
      assert.equal(received.length, 1);
      handlers.GetJob = () => storedJob;
      await batch.getJob(`${parent}/jobs/j1`);
      assert.deepEqual(observed, [
        ['GetJob', 'UNAVAILABLE'],
        ['GetJob', 'OK'],
      ]);
    } finally {
      await batch.close();
    }
  });
});
