import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { bucketNameProblem } from '../../../../src/adapters/storage/bucketName.js';

describe('bucket names', () => {
  it('accepts valid names', () => {
    for (const name of ['my-results', 'abc', 'a_b.c-d', 'results.example.com', 'x'.repeat(63)]) {
      assert.equal(bucketNameProblem(name), undefined, name);
    }
  });

  it('rejects a name with a path and says so', () => {
    assert.match(bucketNameProblem('my-results/run1') ?? '', /no path/);
  });

  it('rejects names the service would reject', () => {
    const bad = [
      'ab',
      'My-Bucket',
      '-abc',
      'abc-',
      'a b c',
      'x'.repeat(64),
      'a..b',
      '192.168.1.1',
      'google-x',
    ];
    for (const name of bad) assert.notEqual(bucketNameProblem(name), undefined, name);
  });
});
