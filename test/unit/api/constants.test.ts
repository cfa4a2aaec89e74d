import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JOB_STATES, API_VERSION, FINALIZER } from '../../../src/api/index.js';

test('DRMAA2 job states keep the order of the DRMAA2 enum', () => {
  assert.equal(JOB_STATES.indexOf('Unset'), 0);
  assert.equal(JOB_STATES.indexOf('Queued'), 2);
  assert.equal(JOB_STATES.indexOf('Done'), 8);
  assert.equal(JOB_STATES.indexOf('Failed'), 9);
});

test('resource identity', () => {
  assert.equal(API_VERSION, 'drmaa2.io/v1alpha1');
  assert.equal(FINALIZER, 'drmaa2.io/batch-job');
});
