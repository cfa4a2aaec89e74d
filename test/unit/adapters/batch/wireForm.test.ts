import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import {
  durationFromWire,
  durationToWire,
  fromWire,
  toWire,
} from '../../../../src/adapters/batch/wireForm.js';
import type { Job } from '../../../../src/api/batch.js';

describe('Batch wire form -> core form', () => {
  it('turns int64 strings into numbers, Durations into "Ns" and Timestamps into RFC 3339', () => {
    const job = fromWire<Job>({
      name: 'projects/p/locations/l/jobs/j',
      priority: '0',
      createTime: { seconds: '1700000000', nanos: 250_000_000 },
      taskGroups: [
        {
          taskCount: '4',
          parallelism: '2',
          taskSpec: {
            computeResource: { cpuMilli: '2000', memoryMib: '0', bootDiskMib: '51200' },
            maxRunDuration: { seconds: '1800', nanos: 0 },
          },
        },
      ],
      status: {
        state: 'RUNNING',
        runDuration: { seconds: '12', nanos: 500_000_000 },
        taskGroups: { group0: { counts: { RUNNING: '3', SUCCEEDED: '1' }, instances: [] } },
        statusEvents: [
          { type: 'STATUS_CHANGED', eventTime: { seconds: '1700000001', nanos: 0 }, taskExecution: null },
        ],
      },
    });
    assert.equal(job.priority, 0);
    assert.equal(job.createTime, '2023-11-14T22:13:20.250Z');
    assert.equal(job.taskGroups?.[0]?.taskCount, 4);
    assert.equal(job.taskGroups?.[0]?.parallelism, 2);
    assert.deepEqual(job.taskGroups?.[0]?.taskSpec?.computeResource, {
      cpuMilli: 2000,
      memoryMib: 0,
      bootDiskMib: 51200,
    });
    assert.equal(job.taskGroups?.[0]?.taskSpec?.maxRunDuration, '1800s');
    assert.equal(job.status?.runDuration, '12.5s');
    assert.deepEqual(job.status?.taskGroups, { group0: { counts: { RUNNING: 3, SUCCEEDED: 1 } } });
    assert.deepEqual(job.status?.statusEvents, [
      { type: 'STATUS_CHANGED', eventTime: '2023-11-14T22:13:21.000Z' },
    ]);
  });

  it('drops defaults, enum zero values and oneof markers but keeps numeric zeros and empty label values', () => {
    const job = fromWire<Job>({
      uid: '',
      labels: { drmaa2session: '', accounting: 'x' },
      allocationPolicy: null,
      taskGroups: [
        {
          requireHostsFile: false,
          taskSpec: {
            runnables: [
              {
                executable: 'script',
                script: { command: 'text', text: 'echo hi', path: '' },
                container: null,
                barrier: null,
                ignoreExitStatus: false,
                environment: { variables: {}, secretVariables: {}, encryptedVariables: null },
              },
            ],
            volumes: [],
          },
        },
      ],
      logsPolicy: { destination: 'DESTINATION_UNSPECIFIED', logsPath: '' },
      status: {
        state: 'STATE_UNSPECIFIED',
        statusEvents: [{ taskExecution: { exitCode: 0 }, taskState: 'SUCCEEDED' }],
      },
    });
    assert.deepEqual(job, {
      labels: { drmaa2session: '', accounting: 'x' },
      taskGroups: [{ taskSpec: { runnables: [{ script: { text: 'echo hi' } }] } }],
      status: { statusEvents: [{ taskExecution: { exitCode: 0 }, taskState: 'SUCCEEDED' }] },
    });
  });

  it('gives an empty object for a null message', () => {
    assert.deepEqual(fromWire(null), {});
  });
});

describe('core form -> Batch wire form', () => {
  it('turns duration strings into {seconds, nanos} and leaves maps alone', () => {
    const wire = toWire({
      taskGroups: [
        { taskSpec: { maxRunDuration: '90s', runnables: [{ timeout: '1.5s', labels: { timeout: '3s' } }] } },
      ],
      labels: { maxRunDuration: '5s' },
    });
    assert.deepEqual(wire, {
      taskGroups: [
        {
          taskSpec: {
            maxRunDuration: { seconds: 90, nanos: 0 },
            runnables: [{ timeout: { seconds: 1, nanos: 500_000_000 }, labels: { timeout: '3s' } }],
          },
        },
      ],
      labels: { maxRunDuration: '5s' },
    });
  });

  it('rejects a duration the service would not understand', () => {
    assert.throws(() => durationToWire('30m'), /not a protobuf Duration/);
  });

  it('round-trips durations', () => {
    for (const text of ['0s', '1s', '90.5s', '0.000000001s', '123456.25s']) {
      assert.equal(durationFromWire(durationToWire(text)), text);
    }
  });
});
