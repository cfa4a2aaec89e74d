// Batch job IDs and request IDs: deterministic, within Batch's rules, and distinct where they must be.
import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { batchJobId, requestIdFor, type SubmitContext } from '../../../src/translate/index.js';
import { busybox, errorsOf, submit } from './helpers.js';

const JOB_ID = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const base: SubmitContext = { project: 'p', location: 'l', session: 's' };
const hash8 = (uid: string) => createHash('sha256').update(uid).digest('hex').slice(0, 8);

describe('batchJobId', () => {
  it('uses jobName with a hash of the namespace for a resource, and as given without one', () => {
    const owner = { namespace: 'team-a', name: 'x', uid: 'u' };
    assert.equal(batchJobId({ jobName: 'my-job' }, { ...base, owner }), `my-job-${hash8('team-a')}`);
    assert.equal(batchJobId({ jobName: 'my-job' }, base), 'my-job');
    assert.equal(batchJobId({ jobName: 'my-job' }, { ...base, owner }, 3), `my-job-${hash8('team-a')}-3`);
  });

  it('two namespaces that pick the same jobName get different IDs; one namespace gets one', () => {
    const a = { namespace: 'team-a', name: 'x', uid: 'u1' };
    const b = { namespace: 'team-b', name: 'x', uid: 'u2' };
    const id = (owner: typeof a) => batchJobId({ jobName: 'nightly' }, { ...base, owner });
    assert.notEqual(id(a), id(b));
    assert.equal(id(a), id({ ...a, name: 'other', uid: 'u3' }), 'jobName names one job per namespace');
    const long = batchJobId({ jobName: 'x'.repeat(63) }, { ...base, owner: a }, 12);
    assert.match(long, JOB_ID);
    assert.equal(long, `${'x'.repeat(51)}-${hash8('team-a')}-12`);
  });

  it('fits the owner name and appends 8 hex digits of the UID hash', () => {
    const cases: [string, string][] = [
      ['blast', 'blast'],
      ['Hello.World', 'hello-world'],
      ['9lives', 'lives'],
      ['a..b', 'a-b'],
      ['x'.repeat(100), 'x'.repeat(54)],
      ['123', 'job'],
    ];
    for (const [name, fitted] of cases) {
      const uid = `uid-${name}`;
      const id = batchJobId({}, { ...base, owner: { namespace: 'n', name, uid } });
      assert.equal(id, `${fitted}-${hash8(uid)}`, name);
      assert.match(id, JOB_ID);
    }
  });

  it('names the element of a per-element array', () => {
    const owner = { namespace: 'n', name: 'arr', uid: 'u1' };
    assert.equal(batchJobId({}, { ...base, owner }, 7), `arr-${hash8('u1')}-7`);
    assert.equal(batchJobId({ jobName: 'x'.repeat(63) }, base, 12), `${'x'.repeat(60)}-12`);
  });

  it('without an owner or job name: drmaa2-<unix seconds>-<nonce>', () => {
    assert.equal(
      batchJobId({}, { ...base, now: new Date('2024-01-01T00:00:00Z'), nonce: 42 }),
      'drmaa2-1704067200-42',
    );
  });

  it('the same resource always gets the same ID; another UID another one', () => {
    const owner = { namespace: 'n', name: 'same', uid: 'a' };
    assert.equal(batchJobId({}, { ...base, owner }), batchJobId({}, { ...base, owner }));
    assert.notEqual(
      batchJobId({}, { ...base, owner }),
      batchJobId({}, { ...base, owner: { ...owner, uid: 'b' } }),
    );
  });

  it('an invalid jobName is an error at its path, also for arrays', () => {
    assert.deepEqual(
      errorsOf({ jobTemplate: { ...busybox, jobName: '-bad' }, array: { begin: 1, end: 2 } }).map(
        (e) => e.split(':')[0],
      ),
      ['spec.jobTemplate.jobName'],
    );
  });
});

describe('requestIdFor', () => {
  it('is a version-5 style UUID, stable for the same inputs and distinct otherwise', () => {
    const id = requestIdFor('uid-1', 'job-1');
    assert.match(id, UUID);
    assert.equal(requestIdFor('uid-1', 'job-1'), id);
    assert.notEqual(requestIdFor('uid-1', 'job-2'), id);
    assert.notEqual(requestIdFor('uid-2', 'job-1'), id);
    assert.match(requestIdFor('', ''), UUID);
  });

  it('each per-element job carries its own request ID', () => {
    const sub = submit({
      jobTemplate: { ...busybox, minSlots: 2, maxSlots: 2 },
      array: { begin: 1, end: 3 },
    });
    const ids = sub.requests.map((r) => r.requestId);
    assert.equal(new Set(ids).size, 3);
    for (const r of sub.requests)
      assert.equal(r.requestId, requestIdFor('6c1f1c52-9d7a-4f7e-8b5e-0a1b2c3d4e5f', r.jobId));
  });
});
