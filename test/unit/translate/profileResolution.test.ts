// Which profile a job gets: named, the namespace's default, none, or refused, and label-selector semantics.
import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import type { BatchProfile, BatchProfileSpec } from '../../../src/api/batchProfile.js';
import { resolveProfile, selectorMatches } from '../../../src/translate/profileResolution.js';

function profile(name: string, spec: Partial<BatchProfileSpec> = {}): BatchProfile {
  return {
    apiVersion: 'drmaa2.io/v1alpha1',
    kind: 'BatchProfile',
    metadata: { name, generation: 1 },
    spec: { project: `p-${name}`, location: 'europe-west4', ...spec },
  };
}

const TEAM_A = { tenant: 'a', 'kubernetes.io/metadata.name': 'team-a' };
const teamA = profile('team-a', { namespaceSelector: { matchLabels: { tenant: 'a' } }, default: true });
const shared = profile('shared', { namespaceSelector: {} });
const teamB = profile('team-b', { namespaceSelector: { matchLabels: { tenant: 'b' } }, default: true });

const resolve = (requested: string | undefined, profiles: BatchProfile[], requireProfile = false) =>
  resolveProfile({ namespace: 'team-a', namespaceLabels: TEAM_A, requested, profiles, requireProfile });

describe('selectorMatches', () => {
  const cases: [string, Parameters<typeof selectorMatches>[0], boolean][] = [
    ['absent selects nothing', undefined, false],
    ['empty selects everything', {}, true],
    ['matchLabels equal', { matchLabels: { tenant: 'a' } }, true],
    ['matchLabels differ', { matchLabels: { tenant: 'b' } }, false],
    ['In', { matchExpressions: [{ key: 'tenant', operator: 'In', values: ['a', 'c'] }] }, true],
    ['In, not among', { matchExpressions: [{ key: 'tenant', operator: 'In', values: ['c'] }] }, false],
    ['NotIn', { matchExpressions: [{ key: 'tenant', operator: 'NotIn', values: ['b'] }] }, true],
    ['NotIn, among', { matchExpressions: [{ key: 'tenant', operator: 'NotIn', values: ['a'] }] }, false],
    ['Exists', { matchExpressions: [{ key: 'tenant', operator: 'Exists' }] }, true],
    ['Exists, missing', { matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, false],
    ['DoesNotExist', { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, true],
    ['DoesNotExist, present', { matchExpressions: [{ key: 'tenant', operator: 'DoesNotExist' }] }, false],
    [
      'labels and expressions both hold',
      { matchLabels: { tenant: 'a' }, matchExpressions: [{ key: 'tier', operator: 'Exists' }] },
      false,
    ],
  ];
  for (const [what, selector, expected] of cases) {
    it(what, () => assert.equal(selectorMatches(selector, TEAM_A), expected));
  }
});

describe('resolveProfile', () => {
  it('a named profile that selects the namespace', () => {
    const r = resolve('shared', [teamA, shared]);
    assert.equal(r.kind === 'profile' && r.profile.metadata.name, 'shared');
  });

  it('a named profile that does not select the namespace is refused: ProfileNotAllowed', () => {
    const r = resolve('team-b', [teamA, teamB]);
    assert.equal(r.kind, 'refused');
    assert.equal(r.kind === 'refused' && r.reason, 'ProfileNotAllowed');
    assert.match(r.kind === 'refused' ? r.message : '', /team-b .*does not select namespace team-a/);
  });

  it('a named profile that does not exist waits for it: ProfileNotFound', () => {
    const r = resolve('later', [teamA]);
    assert.equal(r.kind === 'waiting' && r.reason, 'ProfileNotFound');
  });

  it("without a name, the namespace's one default", () => {
    const r = resolve(undefined, [teamB, teamA, shared]);
    assert.equal(r.kind === 'profile' && r.profile.metadata.name, 'team-a');
  });

  it('two defaults for one namespace wait: ProfileAmbiguous, naming both', () => {
    const other = profile('other', { namespaceSelector: {}, default: true });
    const r = resolve(undefined, [teamA, other]);
    assert.equal(r.kind === 'waiting' && r.reason, 'ProfileAmbiguous');
    assert.match(r.kind === 'waiting' ? r.message : '', /other, team-a/);
  });

  it('no profile applies: the flags (none), or NoProfile under --require-profile', () => {
    assert.deepEqual(resolve(undefined, [teamB, shared]), { kind: 'none' });
    const r = resolve(undefined, [teamB, shared], true);
    assert.equal(r.kind === 'refused' && r.reason, 'NoProfile');
  });

  it('a default of another namespace is not used', () => {
    assert.deepEqual(resolve(undefined, [teamB]), { kind: 'none' });
  });
});
