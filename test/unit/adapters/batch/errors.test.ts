import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { grpcCodeName, toBatchError } from '../../../../src/adapters/batch/errors.js';
import { BatchError } from '../../../../src/ports/errors.js';

function grpcError(code: number, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('gRPC errors -> BatchError kinds', () => {
  const cases: [number, string][] = [
    [3, 'InvalidArgument'],
    [4, 'DeadlineExceeded'],
    [5, 'NotFound'],
    [6, 'AlreadyExists'],
    [7, 'PermissionDenied'],
    [8, 'ResourceExhausted'],
    [9, 'FailedPrecondition'],
    [13, 'Internal'],
    [14, 'Unavailable'],
    [16, 'Unauthenticated'],
    [1, 'Unknown'],
    [2, 'Unknown'],
    [12, 'Unknown'],
  ];
  for (const [code, kind] of cases) {
    it(`code ${code} -> ${kind}, keeping code and message`, () => {
      const err = toBatchError(grpcError(code, `${code} SOMETHING: went wrong`));
      assert.equal(err.kind, kind);
      assert.equal(err.code, code);
      assert.equal(err.message, `${code} SOMETHING: went wrong`);
    });
  }

  it("a call whose credentials could not be had: the token endpoint's HTTP status decides", () => {
    const refused = toBatchError(
      grpcError(
        403,
        '403 undefined: Getting metadata from plugin failed with error: Could not refresh access token: PERMISSION_DENIED: unable to impersonate',
      ),
    );
    assert.equal(refused.kind, 'PermissionDenied');
    assert.match(refused.message, /^Getting metadata from plugin failed/);
    assert.equal(toBatchError(grpcError(401, '401 undefined: x')).kind, 'Unauthenticated');
    assert.equal(toBatchError(grpcError(503, '503 undefined: x')).kind, 'Unavailable');
    // Never InvalidArgument: a token endpoint's 400 says nothing about the job, which must not fail for it.
    assert.equal(toBatchError(grpcError(400, '400 undefined: x')).kind, 'Unknown');
  });

  it('classifies errors without a code as Unknown', () => {
    assert.equal(toBatchError(new Error('socket hang up')).kind, 'Unknown');
    assert.equal(toBatchError('plain text').message, 'plain text');
  });

  it('passes BatchErrors through', () => {
    const original = new BatchError('NotFound', 'gone', 5);
    assert.equal(toBatchError(original), original);
  });

  it('names codes for metrics', () => {
    assert.equal(grpcCodeName(undefined), 'OK');
    assert.equal(grpcCodeName(grpcError(5, 'x')), 'NOT_FOUND');
    assert.equal(grpcCodeName(grpcError(99, 'x')), 'UNKNOWN');
    assert.equal(grpcCodeName(new Error('x')), 'UNKNOWN');
  });
});
