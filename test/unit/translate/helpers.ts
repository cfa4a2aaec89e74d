// Shared fixtures of the translation tests: a fixed owner, a minimal valid template, and shorthands that
// fail the test with the other outcome's details.
import assert from 'node:assert/strict';
import type { CreateJobRequest, Runnable } from '../../../src/api/batch.js';
import type { Drmaa2JobSpec } from '../../../src/api/drmaa2job.js';
import {
  formatSpecError,
  translateSpec,
  type Submission,
  type SubmitContext,
} from '../../../src/translate/index.js';

export const ctx: SubmitContext = {
  project: 'p',
  location: 'us-central1',
  session: 'testsession',
  owner: { namespace: 'team', name: 'hello.world', uid: '6c1f1c52-9d7a-4f7e-8b5e-0a1b2c3d4e5f' },
};

export const busybox = {
  remoteCommand: '/bin/sleep',
  args: ['1'],
  jobCategory: 'busybox',
  candidateMachines: ['n2-standard-2'],
};

export type LooseSpec = Omit<Partial<Drmaa2JobSpec>, 'jobTemplate'> & {
  jobTemplate: Record<string, unknown>;
};

export function submit(spec: LooseSpec, context: SubmitContext = ctx): Submission {
  const result = translateSpec(spec as Drmaa2JobSpec, context);
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  return result.submission;
}

export function only(change: Record<string, unknown>, context: SubmitContext = ctx): CreateJobRequest {
  const { requests } = submit({ jobTemplate: { ...busybox, ...change } }, context);
  assert.equal(requests.length, 1);
  return requests[0]!;
}

export function errorsOf(spec: LooseSpec, context: SubmitContext = ctx): string[] {
  const result = translateSpec(spec as Drmaa2JobSpec, context);
  assert.ok(!result.ok, `expected errors, got ${JSON.stringify(result)}`);
  assert.ok(result.errors.length > 0);
  return result.errors.map(formatSpecError);
}

export function templateErrors(change: Record<string, unknown>): string[] {
  return errorsOf({ jobTemplate: { ...busybox, ...change } });
}

export function runnablesOf(request: CreateJobRequest): Runnable[] {
  return request.job.taskGroups![0]!.taskSpec!.runnables!;
}

export function mainContainer(request: CreateJobRequest) {
  const container = runnablesOf(request).find((r) => r.container)?.container;
  assert.ok(container, 'a container runnable');
  return container;
}

export function kinds(runnables: Runnable[]): string[] {
  return runnables.map((r) => (r.barrier ? `barrier:${r.barrier.name}` : r.script ? 'script' : 'container'));
}
