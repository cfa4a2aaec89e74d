import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import {
  InvalidArgumentError,
  nativeArrayId,
  parseId,
  perElementArrayId,
} from '../../../src/tracker/index.js';
import { arrayElements } from '../../../src/tracker/jobIds.js';

const parent = 'projects/p/locations/l';

describe('tracker job IDs', () => {
  it('parses full names, bare IDs, task names and native array IDs', () => {
    assert.deepEqual(parseId(`${parent}/jobs/a1`, parent), { kind: 'job', job: `${parent}/jobs/a1` });
    assert.deepEqual(parseId('a1', parent), { kind: 'job', job: `${parent}/jobs/a1` });
    assert.deepEqual(parseId(`${parent}/jobs/a1/taskGroups/group0/tasks/4`, parent), {
      kind: 'task',
      job: `${parent}/jobs/a1`,
      task: `${parent}/jobs/a1/taskGroups/group0/tasks/4`,
      taskIndex: 4,
    });
    assert.deepEqual(parseId(nativeArrayId(`${parent}/jobs/a1`, 2, 8, 2), parent), {
      kind: 'array',
      job: `${parent}/jobs/a1`,
      begin: 2,
      end: 8,
      step: 2,
    });
  });

  it('rejects anything else', () => {
    for (const bad of ['', 'A1', '1abc', 'projects/p/jobs/x', `${parent}/jobs/a1[1-3]`]) {
      assert.throws(() => parseId(bad, parent), InvalidArgumentError, bad);
    }
  });

  it('expands both array ID forms', () => {
    assert.equal(arrayElements(nativeArrayId(`${parent}/jobs/a`, 5, 5, 1), parent).length, 1);
    assert.equal(arrayElements(nativeArrayId(`${parent}/jobs/a`, 1, 100, 10), parent).length, 10);
    const names = [`${parent}/jobs/a-1`, `${parent}/jobs/a-2`];
    assert.deepEqual(arrayElements(perElementArrayId(names), parent), names);
    assert.throws(() => arrayElements('["not a name"]', parent), InvalidArgumentError);
    assert.throws(() => arrayElements(`${parent}/jobs/a`, parent), InvalidArgumentError);
  });
});
