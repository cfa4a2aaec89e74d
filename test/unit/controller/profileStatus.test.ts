// A profile's status: Ready with the reason it is not, the generation judged, and its job count.
import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import type { BatchProfile } from '../../../src/api/batchProfile.js';
import { profileStatusOf } from '../../../src/controller/profileStatus.js';

const T0 = new Date('2025-01-01T00:00:00Z');
const T1 = new Date('2025-01-01T00:05:00Z');

function profile(project: string, status?: BatchProfile['status']): BatchProfile {
  return {
    apiVersion: 'drmaa2.io/v1alpha1',
    kind: 'BatchProfile',
    metadata: { name: 'team-a', generation: 3 },
    spec: { project, location: 'europe-west4', namespaceSelector: {} },
    ...(status ? { status } : {}),
  };
}

describe('profileStatusOf', () => {
  it('a valid profile is Ready and counts its jobs', () => {
    const status = profileStatusOf(profile('team-a-project'), 4, T0);
    assert.equal(status.jobs, 4);
    assert.equal(status.observedGeneration, 3);
    assert.deepEqual(
      status.conditions?.map((c) => [c.type, c.status, c.reason]),
      [['Ready', 'True', 'Valid']],
    );
  });

  it('an invalid one is not, naming the field; the transition time moves only when the status flips', () => {
    const invalid = profileStatusOf(profile(''), 0, T0);
    const ready = invalid.conditions![0]!;
    assert.equal(ready.status, 'False');
    assert.equal(ready.reason, 'InvalidProfile');
    assert.match(ready.message, /project/);
    const again = profileStatusOf(profile('', invalid), 0, T1);
    assert.equal(again.conditions![0]!.lastTransitionTime, ready.lastTransitionTime);
    const fixed = profileStatusOf(profile('team-a-project', invalid), 0, T1);
    assert.equal(fixed.conditions![0]!.lastTransitionTime, '2025-01-01T00:05:00Z');
  });
});
