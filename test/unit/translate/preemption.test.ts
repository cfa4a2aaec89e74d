// Spot preemption: Batch fails a task whose Spot VM is preempted with exit code 50001 and retries it only if
// the job asks. A spot job asks for it (preemption_retries, 3 by default) and for nothing else.
import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import type { LifecyclePolicy, TaskSpec } from '../../../src/api/batch.js';
import { busybox, only, submit, templateErrors } from './helpers.js';

const AT = 'spec.jobTemplate.extension.extensionList.preemption_retries';

function specOf(change: Record<string, unknown>): TaskSpec {
  return only(change).job.taskGroups![0]!.taskSpec!;
}

function ext(extensionList: Record<string, string>, change: Record<string, unknown> = {}) {
  return { ...change, extension: { extensionList } };
}

/** The exit codes a failed task can end with: its runnables' own and Batch's reserved ones. */
const EXIT_CODES = [
  ...Array.from({ length: 255 }, (_, i) => i + 1),
  50000,
  50001,
  50002,
  50003,
  50004,
  50005,
  50006,
];

/** Whether Batch retries a task that failed with `code`, under each reading of what an exit code no policy
 * lists gets: the opposite of the policy's action (LifecyclePolicy.action), or the default policy that
 * retries any non-zero exit (TaskSpec.lifecycle_policies). Only the first policy counts ("only one"). */
function retried(policies: LifecyclePolicy[], code: number, reading: 'opposite' | 'default'): boolean {
  const policy = policies[0];
  if (!policy) return reading === 'default';
  const listed = (policy.actionCondition?.exitCodes ?? []).includes(code);
  if (listed) return policy.action === 'RETRY_TASK';
  return reading === 'opposite' ? policy.action === 'FAIL_TASK' : true;
}

describe('a spot job retries preemptions', () => {
  it('by default three times, through one FAIL_TASK policy on every exit code but 50001', () => {
    const spec = specOf(ext({ spot: 'true' }));
    assert.equal(spec.maxRetryCount, 3);
    assert.equal(spec.lifecyclePolicies!.length, 1, 'Batch supports one lifecycle policy');
    const [policy] = spec.lifecyclePolicies!;
    assert.equal(policy!.action, 'FAIL_TASK');
    assert.deepEqual(
      policy!.actionCondition!.exitCodes,
      EXIT_CODES.filter((c) => c !== 50001),
    );
  });

  it('retries exit code 50001 and only it, whichever way Batch reads codes no policy lists', () => {
    const policies = specOf(ext({ spot: 'true' })).lifecyclePolicies!;
    for (const reading of ['opposite', 'default'] as const) {
      const retriedCodes = EXIT_CODES.filter((code) => retried(policies, code, reading));
      assert.deepEqual(retriedCodes, [50001], reading);
    }
  });

  it('preemption_retries sets the count; 0 means no retries at all', () => {
    assert.equal(specOf(ext({ spot: 'true', preemption_retries: '10' })).maxRetryCount, 10);
    assert.equal(specOf(ext({ spot: 'true', preemption_retries: '1' })).maxRetryCount, 1);
    const none = specOf(ext({ spot: 'true', preemption_retries: '0' }));
    assert.ok(!('maxRetryCount' in none) && !('lifecyclePolicies' in none), JSON.stringify(none));
  });

  it('a job on standard VMs asks for no retries', () => {
    const spec = specOf({});
    assert.ok(!('maxRetryCount' in spec) && !('lifecyclePolicies' in spec));
  });
});

describe('preemption_retries elsewhere', () => {
  it('on standard VMs it has no effect and says so; 0 says nothing', () => {
    const { requests, warnings } = submit({
      jobTemplate: { ...busybox, ...ext({ preemption_retries: '2' }) },
    });
    const spec = requests[0]!.job.taskGroups![0]!.taskSpec!;
    assert.equal(spec.maxRetryCount, undefined);
    assert.equal(spec.lifecyclePolicies, undefined);
    assert.deepEqual(warnings, [
      {
        path: AT,
        message:
          'no effect: standard VMs are not preempted (set spot to true, or name a Spot instance template in candidateMachines[0])',
      },
    ]);
    const zero = submit({ jobTemplate: { ...busybox, ...ext({ spot: 'false', preemption_retries: '0' }) } });
    assert.deepEqual(zero.warnings, []);
  });

  it('with an instance template it applies as given (the template may be Spot), and nothing by default', () => {
    const template = { candidateMachines: ['template:spot-vms'] };
    const given = specOf(ext({ preemption_retries: '4' }, template));
    assert.equal(given.maxRetryCount, 4);
    assert.equal(given.lifecyclePolicies![0]!.action, 'FAIL_TASK');
    const { requests, warnings } = submit({
      jobTemplate: { ...busybox, ...ext({ spot: 'true' }, template) },
    });
    assert.equal(requests[0]!.job.taskGroups![0]!.taskSpec!.maxRetryCount, undefined);
    assert.deepEqual(
      warnings.map((w) => w.path),
      ['spec.jobTemplate.extension.extensionList.spot'],
    );
  });
});

describe('preemption_retries values', () => {
  it('anything but a whole number from 0 to 10 is an error at its key', () => {
    const cases: [string, string][] = [
      ['11', "at most 10 (Batch's limit of maxRetryCount), got 11"],
      ['100000000000000000000', 'at most 10'],
      ['-1', 'expected a whole number of retries from 0 to 10, got "-1"'],
      ['1.5', 'expected a whole number of retries from 0 to 10, got "1.5"'],
      ['03', 'expected a whole number'],
      [' 3', 'expected a whole number'],
      ['', 'expected a whole number'],
      ['three', 'expected a whole number'],
    ];
    for (const [value, expected] of cases) {
      const errors = templateErrors(ext({ spot: 'true', preemption_retries: value }));
      assert.deepEqual(
        errors.map((e) => e.slice(0, `${AT}: ${expected}`.length)),
        [`${AT}: ${expected}`],
        JSON.stringify(value),
      );
    }
  });
});
