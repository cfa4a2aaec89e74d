// The names the code uses for the resource, its states, its finalizer and its Batch labels are the ones the
// shipped manifests use: the CRD that serves the resource, the admission policies that add and guard the
// finalizer, and Batch's label rules. The BatchProfile CRD serves the fields of the BatchProfile types.
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
  type DeletionPolicy,
  type ProfileRef,
} from '../../../src/api/index.js';
import {
  PROFILE_KIND,
  PROFILE_PLURAL,
  SECURITY_LEVELS,
  type BatchProfileSpec,
  type BatchProfileStatus,
  type BucketRule,
  type LabelSelector,
} from '../../../src/api/batchProfile.js';
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

/** Every optional field required, all the way down: a literal of this type names each field of T once. */
type Complete<T> = T extends readonly (infer U)[]
  ? Complete<U>[]
  : T extends object
    ? { [K in keyof T]-?: Complete<NonNullable<T[K]>> }
    : T;

/** A BatchProfile spec and status with every field, as the TypeScript types have them (maps left empty). */
const EVERY_SPEC_FIELD: Complete<BatchProfileSpec> = {
  namespaceSelector: { matchLabels: {}, matchExpressions: [{ key: '', operator: 'In', values: [] }] },
  default: true,
  project: '',
  location: '',
  session: '',
  serviceAccount: { email: '', scopes: [] },
  impersonate: { serviceAccount: '', delegates: [] },
  network: { network: '', subnetwork: '', noExternalIpAddress: true },
  labels: {},
  securityLevel: 'restricted',
  allowed: {
    machineTypes: [],
    accelerators: [],
    instanceTemplates: [],
    reservations: [],
    buckets: [{ name: '', access: 'ReadOnly', create: true }],
    nfsServers: [],
    secretPrefixes: [],
    deletionPolicies: [],
  },
  limits: {
    tasks: 0,
    parallelism: 0,
    arrayElements: 0,
    maxRunDuration: '',
    defaultRunDuration: '',
    bootDiskGiB: 0,
    cpuMilliPerTask: 0,
    memoryMiBPerTask: 0,
    priority: { min: 0, max: 0 },
  },
  outputInStatus: true,
  kueue: { required: true },
};
const EVERY_STATUS_FIELD: Complete<BatchProfileStatus> = {
  observedGeneration: 0,
  conditions: [
    { type: '', status: 'True', observedGeneration: 0, lastTransitionTime: '', reason: '', message: '' },
  ],
  jobs: 0,
};
const EVERY_PROFILE_REF_FIELD: Complete<ProfileRef> = {
  name: '',
  generation: 0,
  project: '',
  location: '',
  session: '',
  caller: { serviceAccount: '', delegates: [] },
};
/** Exhaustive by type: a member added to a union and not here fails the type check. */
const OPERATORS: Record<NonNullable<LabelSelector['matchExpressions']>[number]['operator'], true> = {
  In: true,
  NotIn: true,
  Exists: true,
  DoesNotExist: true,
};
const ACCESS: Record<BucketRule['access'], true> = { ReadOnly: true, ReadWrite: true };
const DELETION_POLICIES: Record<DeletionPolicy, true> = { Delete: true, Orphan: true };

interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  additionalProperties?: SchemaNode;
  enum?: string[];
  required?: string[];
}

/** The field paths below a node: of the schema's properties, or of a sample value's keys. Maps (schema
 * additionalProperties, an empty sample object) end the path. */
function schemaPaths(node: SchemaNode, path = ''): string[] {
  if (node.items) return schemaPaths(node.items, `${path}[]`);
  return Object.entries(node.properties ?? {}).flatMap(([key, child]) => [
    `${path}.${key}`,
    ...schemaPaths(child, `${path}.${key}`),
  ]);
}
function samplePaths(value: unknown, path = ''): string[] {
  if (Array.isArray(value)) return value.length ? samplePaths(value[0], `${path}[]`) : [];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, child]) => [
    `${path}.${key}`,
    ...samplePaths(child, `${path}.${key}`),
  ]);
}

describe('the BatchProfile CRD serves exactly the fields of src/api/batchProfile.ts', () => {
  const profileCrd = load(read('crds', 'drmaa2.io_batchprofiles.yaml')) as {
    spec: {
      group: string;
      scope: string;
      names: { kind: string; plural: string };
      versions: { name: string; storage: boolean; schema: { openAPIV3Schema: SchemaNode } }[];
    };
  };
  const version = profileCrd.spec.versions.find((v) => v.storage)!;
  const root = version.schema.openAPIV3Schema;
  const spec = root.properties!.spec!;
  const at = (node: SchemaNode, path: string): SchemaNode =>
    path.split('.').reduce((n, key) => (key === '[]' ? n.items! : n.properties![key]!), node);

  it('group, version, kind, plural and scope', () => {
    expect(`${profileCrd.spec.group}/${version.name}`).toBe(API_VERSION);
    expect(profileCrd.spec.names.kind).toBe(PROFILE_KIND);
    expect(profileCrd.spec.names.plural).toBe(PROFILE_PLURAL);
    expect(profileCrd.spec.scope).toBe('Cluster');
  });

  it('spec and status: the same fields, no more, no fewer; required where the type requires them', () => {
    expect(schemaPaths(spec).sort()).toEqual(samplePaths(EVERY_SPEC_FIELD).sort());
    expect(schemaPaths(root.properties!.status!).sort()).toEqual(samplePaths(EVERY_STATUS_FIELD).sort());
    expect(spec.required?.sort()).toEqual(['location', 'project']);
    expect(at(spec, 'serviceAccount').required).toEqual(['email']);
    expect(at(spec, 'allowed.buckets.[]').required?.sort()).toEqual(['access', 'name']);
    expect(at(spec, 'namespaceSelector.matchExpressions.[]').required?.sort()).toEqual(['key', 'operator']);
  });

  it('enums: security levels, selector operators, bucket access, deletion policies', () => {
    expect(at(spec, 'securityLevel').enum).toEqual([...SECURITY_LEVELS]);
    expect(at(spec, 'namespaceSelector.matchExpressions.[].operator').enum).toEqual(Object.keys(OPERATORS));
    expect(at(spec, 'allowed.buckets.[].access').enum).toEqual(Object.keys(ACCESS));
    expect(at(spec, 'allowed.deletionPolicies.[]').enum).toEqual(Object.keys(DELETION_POLICIES));
    const jobSpec = (
      crd.spec.versions.find((v) => v.storage)!.schema.openAPIV3Schema as unknown as SchemaNode
    ).properties!.spec!;
    expect(at(jobSpec, 'deletionPolicy').enum).toEqual(Object.keys(DELETION_POLICIES));
  });

  it("the Drmaa2Job CRD's spec.profile and status.profile are the types' fields", () => {
    const jobRoot = crd.spec.versions.find((v) => v.storage)!.schema.openAPIV3Schema as unknown as SchemaNode;
    expect(jobRoot.properties!.spec!.properties!.profile).toBeDefined();
    const ref = jobRoot.properties!.status!.properties!.profile!;
    expect(schemaPaths(ref).sort()).toEqual(samplePaths(EVERY_PROFILE_REF_FIELD).sort());
    expect(ref.required?.sort()).toEqual(['location', 'name', 'project', 'session']);
  });
});
