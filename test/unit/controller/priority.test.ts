// Which keys jump the queue: changes to what was already submitted, not new resources.
import { it } from 'vitest';
import assert from 'node:assert/strict';
import type { Drmaa2Job } from '../../../src/api/drmaa2job.js';
import { isUrgent } from '../../../src/controller/priority.js';

type Seen = Pick<Drmaa2Job, 'metadata' | 'status'>;

const meta = (generation: number): Drmaa2Job['metadata'] => ({
  name: 'a',
  namespace: 'ns',
  uid: 'u',
  generation,
});

const submitted = (generation: number, observedGeneration: number, deleting = false): Seen => ({
  metadata: { ...meta(generation), ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
  status: { observedGeneration, batchJob: { name: 'projects/p/locations/l/jobs/a' } },
});

it('a new resource, or one the controller is up to date with, waits its turn', () => {
  assert.equal(isUrgent({ metadata: meta(1) }), false);
  assert.equal(isUrgent(submitted(1, 1)), false);
  assert.equal(
    isUrgent({ metadata: meta(2), status: { observedGeneration: 1 } }),
    false,
    'not submitted yet',
  );
});

it('a submitted resource with a new spec, or being deleted, goes first', () => {
  assert.equal(isUrgent(submitted(2, 1)), true);
  assert.equal(isUrgent(submitted(1, 1, true)), true);
});
