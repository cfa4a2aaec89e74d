// The names the code uses for the resource, its states, its finalizer and its Batch labels are the ones the
// shipped manifests use: the CRD that serves the resource, the admission policies that add and guard the
// finalizer, and Batch's label rules.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { load, loadAll } from 'js-yaml';
import {
  API_VERSION,
  FINALIZER,
  GROUP,
  JOB_STATES,
  KIND,
  LABEL_ACCOUNTING,
  LABEL_JOB_NAME,
  LABEL_NAME,
  LABEL_NAMESPACE,
  LABEL_ORIGIN,
  LABEL_SESSION,
  LABEL_UID,
  PLURAL,
  VERSION,
} from '../../../src/api/index.js';
import { PROJECT_ROOT } from '../../support/peers.js';

interface Crd {
  spec: {
    group: string;
    names: { kind: string; plural: string };
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      schema: {
        openAPIV3Schema: { properties: { status: { properties: { state: { enum: string[] } } } } };
      };
    }[];
  };
}

const read = (...path: string[]) => readFileSync(join(PROJECT_ROOT, ...path), 'utf8');
const crd = load(read('crds', 'drmaa2.io_drmaa2jobs.yaml')) as Crd;
const stored = crd.spec.versions.find((v) => v.storage)!;

/** Batch's label key rule (values are checked where labels are built). */
const BATCH_LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;

describe('the CRD serves what the code reads and writes', () => {
  it('group, version, kind and names', () => {
    expect(`${crd.spec.group}/${stored.name}`).toBe(API_VERSION);
    expect([crd.spec.group, stored.name]).toEqual([GROUP, VERSION]);
    expect(stored.served).toBe(true);
    expect(crd.spec.names.kind).toBe(KIND);
    expect(crd.spec.names.plural).toBe(PLURAL);
  });

  it('status.state admits exactly the DRMAA2 job states, in the order of the DRMAA2 enum', () => {
    expect(stored.schema.openAPIV3Schema.properties.status.properties.state.enum).toEqual([...JOB_STATES]);
  });
});

describe('the finalizer', () => {
  it('is the one deploy/finalizer-policy/ puts on in each create', () => {
    expect(read('deploy', 'finalizer-policy', 'policy.yaml')).toContain(`finalizers: ["${FINALIZER}"]`);
  });

  it('is the one deploy/finalizer-guard.yaml keeps on against anyone but the controller', () => {
    const docs = loadAll(read('deploy', 'finalizer-guard.yaml')) as {
      kind: string;
      spec?: { variables?: { name: string; expression: string }[]; validations?: { message?: string }[] };
    }[];
    const policy = docs.find((doc) => doc.kind === 'ValidatingAdmissionPolicy')!;
    // The validation compares the two variables: the finalizer before and after the update.
    const variables = policy.spec?.variables ?? [];
    expect(variables.map((v) => v.name).sort()).toEqual(['hadFinalizer', 'hasFinalizer']);
    for (const v of variables) expect(v.expression).toContain(`'${FINALIZER}' in `);
    expect(policy.spec?.validations?.[0]?.message).toContain(
      `the finalizer ${FINALIZER} may be removed only`,
    );
  });
});

it('every label key the controller puts on Batch jobs passes Batch label rules, and no two are the same', () => {
  const keys = [
    LABEL_SESSION,
    LABEL_ACCOUNTING,
    LABEL_ORIGIN,
    LABEL_NAMESPACE,
    LABEL_NAME,
    LABEL_UID,
    LABEL_JOB_NAME,
  ];
  for (const key of keys) expect(key).toMatch(BATCH_LABEL_KEY);
  expect(new Set(keys).size).toBe(keys.length);
});
