// Batch's documented job limits (cloud.google.com/batch/quotas, the v1 TaskGroup proto): at most 5,000 tasks
// of a job at once and a hosts file of at most 1,000 VMs; the hosts file, ssh between VMs and barriers only
// for the multi-node jobs that use them.
import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import type { TaskGroup } from '../../../src/api/batch.js';
import { busybox, errorsOf, kinds, runnablesOf, submit, type LooseSpec } from './helpers.js';

function groupOf(spec: LooseSpec): TaskGroup {
  return submit(spec).requests[0]!.job.taskGroups![0]!;
}

function nativeArray(tasks: number, maxParallel?: number): LooseSpec {
  return {
    jobTemplate: { ...busybox },
    array: { begin: 1, end: tasks, ...(maxParallel !== undefined ? { maxParallel } : {}) },
  };
}

function slots(minSlots: number, maxSlots: number, extensionList: Record<string, string> = {}): LooseSpec {
  return { jobTemplate: { ...busybox, minSlots, maxSlots, extension: { extensionList } } };
}

describe('parallelism at most 5,000', () => {
  it('a native array runs up to 5,000 tasks at once without a word', () => {
    const { requests, warnings } = submit(nativeArray(5000));
    assert.equal(requests[0]!.job.taskGroups![0]!.parallelism, 5000);
    assert.deepEqual(warnings, []);
    assert.equal(groupOf(nativeArray(6000, 5000)).parallelism, 5000);
    assert.equal(groupOf(nativeArray(6000, 4000)).parallelism, 4000);
  });

  it('a larger native array is lowered to 5,000 with a warning at spec.array', () => {
    const { requests, warnings } = submit(nativeArray(5001));
    assert.equal(requests[0]!.job.taskGroups![0]!.taskCount, 5001);
    assert.equal(requests[0]!.job.taskGroups![0]!.parallelism, 5000);
    assert.deepEqual(warnings, [
      {
        path: 'spec.array',
        message:
          "at most 5000 of the 5001 tasks run at once (Batch's limit of parallel tasks per job); the others wait for a free place",
      },
    ]);
  });

  it('a maxParallel above 5,000 is a ceiling Batch still keeps: lowered, with a warning naming it', () => {
    const { requests, warnings } = submit(nativeArray(8000, 6000));
    assert.equal(requests[0]!.job.taskGroups![0]!.parallelism, 5000);
    assert.deepEqual(
      warnings.map((w) => w.path),
      ['spec.array.maxParallel'],
    );
    assert.match(warnings[0]!.message, /^at most 5000 of the 8000 tasks run at once/);
  });

  it('the warning follows the base path the caller gives', () => {
    const result = submit(nativeArray(5001), {
      project: 'p',
      location: 'l',
      session: 's',
      basePath: 'doc[1]',
    });
    assert.deepEqual(
      result.warnings.map((w) => w.path),
      ['doc[1].array'],
    );
  });

  it('minSlots asks for that many tasks at once: up to 5,000, beyond an error naming it', () => {
    assert.equal(groupOf(slots(5000, 6000)).parallelism, 5000);
    assert.deepEqual(errorsOf(slots(5001, 6000)), [
      'spec.jobTemplate.minSlots: asks for 5001 tasks at once; Batch runs at most 5000 tasks of a job at once',
    ]);
  });

  it('a multi-node job runs every task at once: more than 5,000 is an error at maxSlots', () => {
    // 1,000 VMs fit the hosts file, so only the parallel limit speaks.
    assert.deepEqual(errorsOf(slots(6000, 6000, { tasks_per_node: '6' })), [
      "spec.jobTemplate.maxSlots: a multi-node job (minSlots == maxSlots) runs all its tasks at once: at most 5000 (Batch's limit of parallel tasks per job), got 6000",
    ]);
    const group = groupOf(slots(5000, 5000, { tasks_per_node: '5' }));
    assert.deepEqual([group.taskCount, group.parallelism], [5000, 5000]);
  });
});

describe('the hosts file of a multi-node job lists at most 1,000 VMs', () => {
  it('1,000 VMs are accepted, 1,001 are an error at maxSlots', () => {
    assert.equal(groupOf(slots(1000, 1000)).requireHostsFile, true);
    assert.deepEqual(errorsOf(slots(1001, 1001)), [
      "spec.jobTemplate.maxSlots: a multi-node job (minSlots == maxSlots) lists its VMs in Batch's hosts file, which holds at most 1000: 1001 tasks at 1 per node (tasks_per_node) need 1001",
    ]);
  });

  it('VMs are tasks over tasks_per_node, rounded up', () => {
    assert.equal(groupOf(slots(2000, 2000, { tasks_per_node: '2' })).requireHostsFile, true);
    assert.match(
      errorsOf(slots(2001, 2001, { tasks_per_node: '2' }))[0]!,
      /^spec\.jobTemplate\.maxSlots: .* 2001 tasks at 2 per node \(tasks_per_node\) need 1001$/,
    );
  });

  it('each element of a per-element array is held to it', () => {
    assert.match(
      errorsOf({ ...slots(1001, 1001), array: { begin: 0, end: 1 } })[0]!,
      /^spec\.jobTemplate\.maxSlots: a multi-node job .* need 1001$/,
    );
  });

  it('jobs that are not multi-node have no hosts file, so no such bound', () => {
    const group = groupOf(slots(1, 2000));
    assert.equal(group.taskCount, 2000);
    assert.equal(group.requireHostsFile, undefined);
  });
});

describe('hosts file, ssh between VMs and barriers only for multi-node jobs', () => {
  const singleNode: [string, LooseSpec][] = [
    ['one task', slots(1, 1)],
    ['tasks that run apart (minSlots < maxSlots)', slots(2, 4)],
    ['a native array', nativeArray(3)],
  ];
  for (const [name, spec] of singleNode) {
    it(`${name}: none of them`, () => {
      const { requests } = submit(spec);
      const group = requests[0]!.job.taskGroups![0]!;
      assert.ok(!('requireHostsFile' in group), 'no requireHostsFile');
      assert.ok(!('permissiveSsh' in group), 'no permissiveSsh');
      assert.ok(!runnablesOf(requests[0]!).some((r) => r.barrier), kinds(runnablesOf(requests[0]!)).join());
    });
  }

  it('a multi-node job keeps all three, and its containers the hosts file mount', () => {
    const { requests } = submit(slots(4, 4, { epilog: 'e' }));
    const group = requests[0]!.job.taskGroups![0]!;
    assert.equal(group.requireHostsFile, true);
    assert.equal(group.permissiveSsh, true);
    assert.deepEqual(kinds(runnablesOf(requests[0]!)), [
      'barrier:before_job_barrier',
      'script',
      'barrier:after_prolog_barrier',
      'container',
      'barrier:after_job_barrier',
      'script',
    ]);
    const container = runnablesOf(requests[0]!).find((r) => r.container)!.container!;
    assert.ok(container.volumes!.includes('/etc/cloudbatch-taskgroup-hosts:/etc/cloudbatch-taskgroup-hosts'));
  });

  it('so does each element of a per-element array of multi-node elements', () => {
    const { requests } = submit({ ...slots(2, 2), array: { begin: 0, end: 1 } });
    assert.equal(requests.length, 2);
    for (const request of requests) {
      const group = request.job.taskGroups![0]!;
      assert.deepEqual([group.requireHostsFile, group.permissiveSsh], [true, true]);
      assert.equal(runnablesOf(request).filter((r) => r.barrier).length, 2);
    }
  });
});
