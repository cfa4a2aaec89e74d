import { describe, expect, it } from 'vitest';
import type { Drmaa2Job, Drmaa2JobSpec, Drmaa2JobStatus } from '../../../src/api/drmaa2job.js';
import { logTargetOf } from '../../../src/translate/logTarget.js';

function resource(spec: Partial<Drmaa2JobSpec>, status?: Drmaa2JobStatus): Drmaa2Job {
  return {
    apiVersion: 'drmaa2.io/v1alpha1',
    kind: 'Drmaa2Job',
    metadata: { name: 'j', namespace: 'ns', uid: 'uid-1' },
    spec: { jobTemplate: { remoteCommand: 'x' }, ...spec },
    ...(status ? { status } : {}),
  };
}

const job = (name: string) => ({ name: `projects/p/locations/l/jobs/${name}`, uid: `uid-${name}` });

describe('which Batch jobs and tasks hold the output asked for', () => {
  it('a job never submitted: an error with its state and why', () => {
    const result = logTargetOf(resource({}, { state: 'QueuedHeld', message: 'spec.hold is true' }), {});
    expect(result).toEqual({
      error: 'Drmaa2Job ns/j has not been submitted to Batch: state QueuedHeld (spec.hold is true)',
    });
    expect(logTargetOf(resource({}), {})).toMatchObject({
      error: expect.stringContaining('state Undetermined'),
    });
  });

  it('one task: that job, every task', () => {
    const status = {
      state: 'Done' as const,
      batchJob: job('a'),
      tasks: { total: 1, pending: 0, running: 0, succeeded: 1, failed: 0 },
    };
    expect(logTargetOf(resource({}, status), {})).toEqual({ target: { jobs: [job('a')] } });
  });

  it('several tasks: task 0 unless told, with a note; --task N and --all-tasks', () => {
    const status = {
      state: 'Running' as const,
      batchJob: job('a'),
      tasks: { total: 4, pending: 0, running: 4, succeeded: 0, failed: 0 },
    };
    expect(logTargetOf(resource({}, status), {})).toEqual({
      target: {
        jobs: [job('a')],
        taskIndexes: [0],
        note: 'showing task 0 of 4; --task N shows another, --all-tasks every task',
      },
    });
    expect(logTargetOf(resource({}, status), { task: 3 })).toEqual({
      target: { jobs: [job('a')], taskIndexes: [3] },
    });
    expect(logTargetOf(resource({}, status), { allTasks: true })).toEqual({ target: { jobs: [job('a')] } });
    expect(logTargetOf(resource({}, status), { allTasks: true, task: 1 })).toEqual({
      error: '--task and --all-tasks cannot be given together',
    });
  });

  it('a native array: an index is its task', () => {
    const status = {
      state: 'Running' as const,
      batchJob: job('a'),
      tasks: { total: 3, pending: 0, running: 3, succeeded: 0, failed: 0 },
    };
    const array = resource({ array: { begin: 10, end: 30, step: 10 } }, status);
    expect(logTargetOf(array, { arrayIndex: 20 })).toEqual({
      target: { jobs: [job('a')], taskIndexes: [1] },
    });
    expect(logTargetOf(array, { arrayIndex: 25 })).toEqual({
      error: '25 is not an index of the array 10-30:10',
    });
    expect(logTargetOf(resource({}, status), { arrayIndex: 1 })).toEqual({
      error: 'Drmaa2Job ns/j is not an array job: --array-index does not apply',
    });
  });

  it('an array of one Batch job per element: an index is its element job', () => {
    const spec = {
      array: { begin: 1, end: 3 },
      jobTemplate: { remoteCommand: 'x', minSlots: 2, maxSlots: 2 },
    };
    const status = {
      state: 'Running' as const,
      batchJob: job('e1'),
      array: { jobs: [job('e1'), job('e2'), job('e3')] },
    };
    expect(logTargetOf(resource(spec, status), { arrayIndex: 2 })).toEqual({ target: { jobs: [job('e2')] } });
    expect(logTargetOf(resource(spec, status), { arrayIndex: 2, task: 1 })).toEqual({
      target: { jobs: [job('e2')], taskIndexes: [1] },
    });
    expect(logTargetOf(resource(spec, status), {})).toMatchObject({
      target: { jobs: [job('e1'), job('e2'), job('e3')], taskIndexes: [0] },
    });
    expect(logTargetOf(resource(spec, status), { allTasks: true })).toEqual({
      target: { jobs: [job('e1'), job('e2'), job('e3')] },
    });
    const partly = { ...status, array: { jobs: [job('e1')] } };
    expect(logTargetOf(resource(spec, partly), { arrayIndex: 3 })).toMatchObject({
      error: expect.stringContaining('array index 3 has not been submitted'),
    });
  });
});
