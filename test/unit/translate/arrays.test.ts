// DRMAA2 array jobs: native Batch arrays for single-task elements, one job per element otherwise.
import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { busybox, errorsOf, kinds, submit } from './helpers.js';

describe('array jobs', () => {
  it('single-task elements: one job, TASK_ID per task environment, maxParallel as parallelism', () => {
    const sub = submit({ jobTemplate: busybox, array: { begin: 1, end: 5, step: 2, maxParallel: 2 } });
    assert.deepEqual(sub.array, { begin: 1, end: 5, step: 2, indexes: [1, 3, 5], mode: 'native' });
    assert.equal(sub.requests.length, 1);
    const group = sub.requests[0]!.job.taskGroups![0]!;
    assert.equal(group.taskCount, 3);
    assert.equal(group.parallelism, 2);
    assert.deepEqual(group.taskEnvironments, [
      { variables: { TASK_ID: '1' } },
      { variables: { TASK_ID: '3' } },
      { variables: { TASK_ID: '5' } },
    ]);
    assert.deepEqual(kinds(group.taskSpec!.runnables!), ['script', 'container']);
  });

  it('parallelism defaults to all tasks and never exceeds them', () => {
    const all = submit({ jobTemplate: busybox, array: { begin: 0, end: 9 } }).requests[0]!.job
      .taskGroups![0]!;
    assert.deepEqual([all.taskCount, all.parallelism], [10, 10]);
    const capped = submit({ jobTemplate: busybox, array: { begin: 0, end: 1, maxParallel: 50 } }).requests[0]!
      .job.taskGroups![0]!;
    assert.equal(capped.parallelism, 2);
  });

  it('multi-task elements: one job per element with TASK_ID, the template kept per element', () => {
    const sub = submit({
      jobTemplate: { ...busybox, minSlots: 3, maxSlots: 3 },
      array: { begin: 4, end: 6 },
    });
    assert.equal(sub.array?.mode, 'perElement');
    assert.deepEqual(sub.array?.indexes, [4, 5, 6]);
    assert.equal(sub.requests.length, 3);
    for (const [i, r] of sub.requests.entries()) {
      const group = r.job.taskGroups![0]!;
      assert.equal(group.taskCount, 3);
      assert.equal(group.taskSpec!.environment!.variables!.TASK_ID, String(4 + i));
      assert.match(r.jobId, new RegExp(`-${4 + i}$`));
      assert.equal(group.taskEnvironments, undefined);
    }
  });

  it('rejects a step that is not positive, begin after end and maxParallel below 1', () => {
    const cases: [{ begin: number; end: number; step?: number; maxParallel?: number }, string][] = [
      [{ begin: 1, end: 3, step: 0 }, 'spec.array.step: must be greater than 0'],
      [{ begin: 1, end: 3, step: -1 }, 'spec.array.step: must be greater than 0'],
      [{ begin: 5, end: 3 }, 'spec.array.begin: must not be greater than end'],
      [{ begin: 1, end: 3, maxParallel: 0 }, 'spec.array.maxParallel: must be at least 1'],
      [{ begin: 0, end: 1_000_000 }, 'spec.array: at most 100000 indexes'],
    ];
    for (const [array, expected] of cases)
      assert.deepEqual(errorsOf({ jobTemplate: busybox, array }), [expected]);
    assert.deepEqual(errorsOf({ jobTemplate: busybox, array: { begin: '1', end: 2 } as never }), [
      'spec.array.begin: expected an integer',
    ]);
  });
});
