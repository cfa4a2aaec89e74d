// A BatchProfile's limits, each at its boundary, and the defaults it sets where the template says nothing.
import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import type { CreateJobRequest } from '../../../src/api/batch.js';
import type { ProfileLimits } from '../../../src/api/batchProfile.js';
import { accepted, refused } from './policyHelpers.js';

function group(request: CreateJobRequest) {
  return request.job.taskGroups![0]!;
}

function one(change: Record<string, unknown>, limits: ProfileLimits, spec: Record<string, unknown> = {}) {
  const { requests } = accepted(change, { limits }, spec);
  return requests[0]!;
}

const limitOf = (name: string, value: string | number) => `BatchProfile team-a's limits.${name} (${value})`;

describe('limits.tasks', () => {
  it('maxSlots at the limit passes, one more is refused', () => {
    assert.equal(group(one({ maxSlots: 8 }, { tasks: 8 })).taskCount, 8);
    assert.deepEqual(refused({ maxSlots: 9 }, { limits: { tasks: 8 } }), [
      `spec.jobTemplate.maxSlots: 9 tasks in one Batch job: more than ${limitOf('tasks', 8)}`,
    ]);
  });

  it("a native array's indexes are its tasks", () => {
    one({}, { tasks: 5 }, { array: { begin: 1, end: 5 } });
    assert.deepEqual(refused({}, { limits: { tasks: 5 } }, { array: { begin: 1, end: 6 } }), [
      `spec.array: 6 tasks in one Batch job: more than ${limitOf('tasks', 5)}`,
    ]);
  });

  it("a per-element array's Batch jobs have maxSlots tasks each", () => {
    accepted({ maxSlots: 3 }, { limits: { tasks: 3 } }, { array: { begin: 1, end: 10 } });
    assert.match(
      refused({ maxSlots: 4 }, { limits: { tasks: 3 } }, { array: { begin: 1, end: 2 } })[0]!,
      /^spec\.jobTemplate\.maxSlots: 4 tasks/,
    );
  });
});

describe('limits.parallelism', () => {
  it('minSlots at the limit passes, above is refused', () => {
    one({ minSlots: 4, maxSlots: 10 }, { parallelism: 4 });
    assert.deepEqual(refused({ minSlots: 5, maxSlots: 10 }, { limits: { parallelism: 4 } }), [
      `spec.jobTemplate.minSlots: 5 tasks at once: more than ${limitOf('parallelism', 4)}`,
    ]);
  });

  it("a native array's maxParallel is judged up to its indexes", () => {
    one({}, { parallelism: 3 }, { array: { begin: 1, end: 10, maxParallel: 3 } });
    // maxParallel above the indexes asks only for the indexes.
    one({}, { parallelism: 3 }, { array: { begin: 1, end: 3, maxParallel: 50 } });
    assert.deepEqual(
      refused({}, { limits: { parallelism: 3 } }, { array: { begin: 1, end: 10, maxParallel: 4 } }),
      [`spec.array.maxParallel: 4 tasks at once: more than ${limitOf('parallelism', 3)}`],
    );
  });

  it('a native array without maxParallel is clamped to the limit, not refused', () => {
    assert.equal(group(one({}, { parallelism: 3 }, { array: { begin: 1, end: 10 } })).parallelism, 3);
    assert.equal(group(one({}, { parallelism: 30 }, { array: { begin: 1, end: 10 } })).parallelism, 10);
  });

  it('a per-element array runs all its elements at once: elements × minSlots', () => {
    accepted({ minSlots: 2, maxSlots: 4 }, { limits: { parallelism: 6 } }, { array: { begin: 1, end: 3 } });
    assert.deepEqual(
      refused({ minSlots: 2, maxSlots: 4 }, { limits: { parallelism: 6 } }, { array: { begin: 1, end: 4 } }),
      [`spec.array: 8 tasks at once: more than ${limitOf('parallelism', 6)}`],
    );
  });
});

describe('limits.arrayElements', () => {
  it('indexes at the limit pass, one more is refused', () => {
    accepted({}, { limits: { arrayElements: 5 } }, { array: { begin: 0, end: 8, step: 2 } });
    assert.deepEqual(
      refused({}, { limits: { arrayElements: 5 } }, { array: { begin: 0, end: 10, step: 2 } }),
      [`spec.array: 6 array indexes: more than ${limitOf('arrayElements', 5)}`],
    );
  });
});

describe('limits.maxRunDuration and defaultRunDuration', () => {
  it('a runtime at the limit passes, above is refused', () => {
    assert.equal(
      group(one({ resourceLimits: { runtime: '24h' } }, { maxRunDuration: '24h' })).taskSpec!.maxRunDuration,
      '86400s',
    );
    assert.deepEqual(
      refused({ resourceLimits: { runtime: '24h0m1s' } }, { limits: { maxRunDuration: '24h' } }),
      [
        `spec.jobTemplate.resourceLimits.runtime: runtime 24h0m1s: more than ${limitOf('maxRunDuration', '24h')}`,
      ],
    );
  });

  it('a template without a runtime gets defaultRunDuration, else maxRunDuration', () => {
    const runOf = (limits: ProfileLimits) => group(one({}, limits)).taskSpec!.maxRunDuration;
    assert.equal(runOf({ maxRunDuration: '24h', defaultRunDuration: '1h30m' }), '5400s');
    assert.equal(runOf({ maxRunDuration: '2h' }), '7200s');
    assert.equal(runOf({ defaultRunDuration: '90s' }), '90s');
    assert.equal(runOf({}), undefined);
  });

  it("a template's own runtime below the limit is kept", () => {
    assert.equal(
      group(one({ resourceLimits: { runtime: '10m' } }, { maxRunDuration: '24h', defaultRunDuration: '1h' }))
        .taskSpec!.maxRunDuration,
      '600s',
    );
  });
});

describe('limits.bootDiskGiB', () => {
  it('bootdiskmib at the limit passes, above is refused', () => {
    one({ resourceLimits: { bootdiskmib: '20480' } }, { bootDiskGiB: 20 });
    assert.deepEqual(refused({ resourceLimits: { bootdiskmib: '20481' } }, { limits: { bootDiskGiB: 20 } }), [
      `spec.jobTemplate.resourceLimits.bootdiskmib: a boot disk of 20481 MiB: more than ${limitOf('bootDiskGiB', '20 GiB = 20480 MiB')}`,
    ]);
  });

  it('the default boot disk is lowered to the limit; a larger limit leaves it', () => {
    assert.equal(group(one({}, { bootDiskGiB: 20 })).taskSpec!.computeResource!.bootDiskMib, 20480);
    assert.equal(group(one({}, { bootDiskGiB: 100 })).taskSpec!.computeResource!.bootDiskMib, 51200);
  });
});

describe('limits.cpuMilliPerTask', () => {
  it('cpumilli at the limit passes, above is refused', () => {
    one(
      { candidateMachines: ['n2-standard-96'], resourceLimits: { cpumilli: '8000' } },
      { cpuMilliPerTask: 8000 },
    );
    assert.deepEqual(
      refused({ resourceLimits: { cpumilli: '8001' } }, { limits: { cpuMilliPerTask: 8000 } }),
      [
        `spec.jobTemplate.resourceLimits.cpumilli: cpumilli 8001: more than ${limitOf('cpuMilliPerTask', 8000)}`,
      ],
    );
  });

  it('what the machine type gives a task is judged when cpumilli is not set', () => {
    one({ candidateMachines: ['n2-standard-8'] }, { cpuMilliPerTask: 8000 });
    assert.deepEqual(
      refused({ candidateMachines: ['n2-standard-96'] }, { limits: { cpuMilliPerTask: 8000 } }),
      [
        `spec.jobTemplate.candidateMachines[0]: 96000 cpuMilli per task (one task fills a n2-standard-96 VM unless resourceLimits.cpumilli says less): more than ${limitOf('cpuMilliPerTask', 8000)}`,
      ],
    );
  });
});

describe('limits.memoryMiBPerTask', () => {
  it('minPhysMemory at the limit passes, above is refused, none asks for nothing', () => {
    one({ minPhysMemory: 4096 }, { memoryMiBPerTask: 4096 });
    one({}, { memoryMiBPerTask: 1 });
    assert.deepEqual(refused({ minPhysMemory: 4097 }, { limits: { memoryMiBPerTask: 4096 } }), [
      `spec.jobTemplate.minPhysMemory: minPhysMemory 4097 MiB: more than ${limitOf('memoryMiBPerTask', 4096)}`,
    ]);
  });
});

describe('limits.priority', () => {
  it('a priority inside the range passes, at either end too; outside is refused', () => {
    assert.equal(one({ priority: 10 }, { priority: { min: 10, max: 20 } }).job.priority, 10);
    one({ priority: 20 }, { priority: { min: 10, max: 20 } });
    assert.deepEqual(refused({ priority: 21 }, { limits: { priority: { min: 10, max: 20 } } }), [
      "spec.jobTemplate.priority: priority 21 is outside BatchProfile team-a's limits.priority (10-20)",
    ]);
    assert.match(
      refused({ priority: 9 }, { limits: { priority: { min: 10 } } })[0]!,
      /priority 9 is outside .*\(10-99\)$/,
    );
    assert.match(refused({ priority: 0 }, { limits: { priority: { min: 1 } } })[0]!, /priority 0 is outside/);
    // Without min the range starts at 0, Batch's lowest.
    one({ priority: 0 }, { priority: { max: 20 } });
  });

  it('a template without a priority gets the lowest allowed', () => {
    assert.equal(one({}, { priority: { min: 10, max: 20 } }).job.priority, 10);
    assert.equal(one({}, { priority: { max: 20 } }).job.priority, undefined);
  });
});

it('a template inside every limit passes untouched by them', () => {
  const request = one(
    {
      minSlots: 2,
      maxSlots: 4,
      resourceLimits: { runtime: '1h', bootdiskmib: '10240', cpumilli: '2000' },
      minPhysMemory: 1024,
      priority: 5,
    },
    {
      tasks: 4,
      parallelism: 2,
      maxRunDuration: '1h',
      bootDiskGiB: 10,
      cpuMilliPerTask: 2000,
      memoryMiBPerTask: 1024,
      priority: { min: 5, max: 5 },
    },
  );
  assert.deepEqual(group(request).taskSpec!.computeResource, {
    cpuMilli: 2000,
    bootDiskMib: 10240,
    memoryMib: 1024,
  });
  assert.equal(group(request).parallelism, 2);
});
