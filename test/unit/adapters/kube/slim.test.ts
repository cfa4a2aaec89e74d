// What the informer keeps of each Drmaa2Job: everything the controller reads, nothing it never reads.
import { it } from 'vitest';
import assert from 'node:assert/strict';
import { slim } from '../../../../src/adapters/kube/jobInformer.js';
import { StringPool } from '../../../../src/translate/stringPool.js';

it('drops managedFields and the last-applied annotation, keeps the rest', () => {
  const obj = {
    metadata: {
      name: 'a',
      namespace: 'ns',
      resourceVersion: '7',
      finalizers: ['drmaa2.io/batch-job'],
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"spec":{}}', team: 'x' },
      managedFields: [{ manager: 'kubectl', operation: 'Update' }],
    },
    spec: { jobTemplate: { remoteCommand: 'true' } },
    status: { state: 'Done' },
  };
  slim(obj);
  assert.deepEqual(obj, {
    metadata: {
      name: 'a',
      namespace: 'ns',
      resourceVersion: '7',
      finalizers: ['drmaa2.io/batch-job'],
      annotations: { team: 'x' },
    },
    spec: { jobTemplate: { remoteCommand: 'true' } },
    status: { state: 'Done' },
  });
});

it('drops the annotations when the last-applied one was all there was', () => {
  const obj = {
    metadata: {
      name: 'a',
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
      managedFields: [],
    },
  };
  slim(obj, new StringPool());
  assert.deepEqual(obj, { metadata: { name: 'a' } });
});

it('leaves an object without metadata alone', () => {
  const obj = { kind: 'Drmaa2Job' };
  slim(obj);
  assert.deepEqual(obj, { kind: 'Drmaa2Job' });
});
