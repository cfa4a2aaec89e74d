// The BatchProfile CRD and the profile admission policy (deploy/profile-policy.yaml) served by a real
// kube-apiserver: the CRD installs cluster-scoped with its names, the example profiles are accepted, every CEL
// rule and every pattern, enum and bound rejects a violating profile naming the field, kubectl explain and get
// show the descriptions and printer columns; Drmaa2Jobs take spec.profile and status.profile. The policy refuses
// at create a job whose profile does not select its namespace (selectors evaluated as the controller evaluates
// them) or whose template breaks the profile's limits or security level, and lets through what it cannot
// judge. CEL, server-side apply and admission policies need the real server, so none of this passes against a
// fake.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump, load, loadAll } from 'js-yaml';
import type { BatchProfileSpec, LabelSelector } from '../../src/api/batchProfile.js';
import type { Drmaa2JobSpec } from '../../src/api/drmaa2job.js';
import { formatSpecError, translateSpec, type TranslateResult } from '../../src/translate/index.js';
import { checkProfile } from '../../src/translate/policy.js';
import { selectorMatches } from '../../src/translate/profileResolution.js';
import { startControlPlane, type ControlPlane } from '../support/controlPlane.js';
import type { KubectlResult } from '../support/kubectl.js';
import { PROJECT_ROOT } from '../support/peers.js';
import { waitUntil } from '../support/wait.js';
import { celRules, parseTable, squash, type Schema } from '../support/crdSchema.js';

const CRD_NAME = 'batchprofiles.drmaa2.io';
const POLICY = 'drmaa2-batch-profile';
const TEAM_A = 'team-a';
const TEAM_B = 'team-b';
const OTHER = 'other';
/** Labels of the test's namespaces (the API server adds kubernetes.io/metadata.name). */
const NAMESPACES: Record<string, Record<string, string>> = {
  [TEAM_A]: { 'drmaa2.io/tenant': 'team-a', tier: 'gold' },
  [TEAM_B]: { 'drmaa2.io/tenant': 'team-b' },
  [OTHER]: {},
};

/** A container job that every level allows. */
const CONTAINER = {
  remoteCommand: '/bin/echo',
  args: ['hello'],
  jobCategory: 'busybox:1.36',
  candidateMachines: ['e2-standard-2'],
};

type JobSpec = Record<string, unknown> & { jobTemplate: Record<string, unknown> };

type Job = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec: JobSpec;
};

function job(name: string, namespace: string, spec: Partial<JobSpec> = {}): Job {
  return {
    apiVersion: 'drmaa2.io/v1alpha1',
    kind: 'Drmaa2Job',
    metadata: { name, namespace },
    spec: { jobTemplate: { ...CONTAINER }, ...spec },
  };
}

const read = (...path: string[]) => readFileSync(join(PROJECT_ROOT, ...path), 'utf8');
const crd = load(read('crds', 'drmaa2.io_batchprofiles.yaml')) as Crd;
const served = crd.spec.versions.find((v) => v.storage)!;
let cp: ControlPlane;

beforeAll(async () => {
  cp = await startControlPlane();
  for (const [name, labels] of Object.entries(NAMESPACES))
    await cp.apply(dump({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } }));
});

afterAll(async () => {
  await cp?.stop();
});

interface Crd {
  spec: {
    scope: string;
    names: { kind: string; plural: string; singular: string; shortNames: string[]; categories: string[] };
    versions: {
      name: string;
      storage: boolean;
      schema: { openAPIV3Schema: Schema };
      additionalPrinterColumns?: { name: string; type: string; jsonPath: string; priority?: number }[];
    }[];
  };
}

type Profile = {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: Record<string, unknown>;
};

function profile(name: string, spec: Record<string, unknown> = {}): Profile {
  return {
    apiVersion: 'drmaa2.io/v1alpha1',
    kind: 'BatchProfile',
    metadata: { name },
    spec: { project: 'team-a-batch', location: 'europe-west4', ...spec },
  };
}

function ok(result: KubectlResult): void {
  assert.equal(result.code, 0, result.stderr);
}

function applyProfile(manifest: Profile): Promise<KubectlResult> {
  return cp.kubectl(
    ['apply', '--server-side', '--force-conflicts', '--field-manager=profile-test', '-f', '-'],
    {
      input: dump(manifest),
    },
  );
}

/** The refusal of an invalid object naming the field. */
function invalid(result: KubectlResult, field: string, what: string): void {
  assert.notEqual(result.code, 0, `accepted: ${what}`);
  assert.match(result.stderr, /is invalid/, result.stderr);
  assert.ok(result.stderr.includes(`${field}: `), `field ${field} not named: ${result.stderr}`);
}

interface Violation {
  /** The field path kubectl names in the error. */
  field: string;
  violate: (manifest: Profile) => void;
}

const DURATION = (f: string) => `duration(self.${f})`;
/** One violating profile per CEL rule of the CRD, keyed by the rule's expression. */
const VIOLATIONS: Record<string, Violation> = {
  [`self.all(k, size(k) <= 317 && k.matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$'))`]:
    {
      field: 'spec.namespaceSelector.matchLabels',
      violate: (m) => (m.spec.namespaceSelector = { matchLabels: { 'not a key': 'x' } }),
    },
  "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 : !has(self.values) || size(self.values) == 0":
    {
      field: 'spec.namespaceSelector.matchExpressions[0].values',
      violate: (m) =>
        (m.spec.namespaceSelector = { matchExpressions: [{ key: 'drmaa2.io/tenant', operator: 'In' }] }),
    },
  "self.all(k, size(k) <= 63 && k.matches('^[a-z][a-z0-9_-]*$'))": {
    field: 'spec.labels',
    violate: (m) => (m.spec.labels = { Team: 'a' }),
  },
  "!has(self.create) || !self.create || self.access == 'ReadWrite'": {
    field: 'spec.allowed.buckets[0].create',
    violate: (m) => (m.spec.allowed = { buckets: [{ name: 'ref', access: 'ReadOnly', create: true }] }),
  },
  '!has(self.min) || !has(self.max) || self.min <= self.max': {
    field: 'spec.limits.priority.min',
    violate: (m) => (m.spec.limits = { priority: { min: 60, max: 50 } }),
  },
  [`!has(self.maxRunDuration) || !has(self.defaultRunDuration) || ${DURATION('defaultRunDuration')} <= ${DURATION('maxRunDuration')}`]:
    {
      field: 'spec.limits.defaultRunDuration',
      violate: (m) => (m.spec.limits = { maxRunDuration: '1h', defaultRunDuration: '61m' }),
    },
  "!has(self.network) || !has(self.network.subnetwork) || ('/' + self.network.subnetwork).contains('/regions/' + self.location + '/subnetworks/')":
    {
      field: 'spec.network.subnetwork',
      violate: (m) => (m.spec.network = { subnetwork: 'regions/us-central1/subnetworks/batch' }),
    },
  "has(self.spec.session) || self.metadata.name.matches('^[a-z0-9_-]{1,63}$')": {
    field: 'spec.session',
    violate: (m) => (m.metadata.name = 'team.a'),
  },
};

/** Field values the schema refuses (pattern, enum, bound, uniqueness), each with one it accepts. */
const FIELD_CASES: {
  field: string;
  /** Server-side apply refuses duplicates of a set or map list before validation, in its own words. */
  duplicate?: true;
  bad: (m: Profile) => void;
  good: (m: Profile) => void;
}[] = [
  {
    field: 'spec.project',
    bad: (m) => (m.spec.project = 'My_Project'),
    good: (m) => (m.spec.project = 'example.com:team-a-batch'),
  },
  { field: 'spec.project', bad: (m) => (m.spec.project = 'abc'), good: (m) => (m.spec.project = 'abcdef') },
  {
    field: 'spec.location',
    bad: (m) => (m.spec.location = 'us-central1-a'),
    good: (m) => (m.spec.location = 'northamerica-northeast1'),
  },
  {
    field: 'spec.session',
    bad: (m) => (m.spec.session = 'Team A'),
    good: (m) => (m.spec.session = 'team_a-1'),
  },
  {
    field: 'spec.serviceAccount.email',
    bad: (m) => (m.spec.serviceAccount = { email: 'alice@example.com' }),
    good: (m) => (m.spec.serviceAccount = { email: '123456789-compute@developer.gserviceaccount.com' }),
  },
  {
    field: 'spec.serviceAccount.scopes[0]',
    bad: (m) => (m.spec.serviceAccount = { email: 'vms@p-123456.iam.gserviceaccount.com', scopes: ['all'] }),
    good: (m) =>
      (m.spec.serviceAccount = {
        email: 'vms@p-123456.iam.gserviceaccount.com',
        scopes: ['https://www.googleapis.com/auth/cloud-platform'],
      }),
  },
  {
    field: 'spec.impersonate.serviceAccount',
    bad: (m) => (m.spec.impersonate = { serviceAccount: 'alice@example.com' }),
    good: (m) => (m.spec.impersonate = { serviceAccount: 'caller@p-123456.iam.gserviceaccount.com' }),
  },
  {
    field: 'spec.impersonate.delegates',
    bad: (m) =>
      (m.spec.impersonate = {
        serviceAccount: 'caller@p-123456.iam.gserviceaccount.com',
        delegates: Array.from({ length: 11 }, (_, i) => `d${i}@p-123456.iam.gserviceaccount.com`),
      }),
    good: (m) =>
      (m.spec.impersonate = {
        serviceAccount: 'caller@p-123456.iam.gserviceaccount.com',
        delegates: ['hop@platform-1.iam.gserviceaccount.com'],
      }),
  },
  {
    field: 'spec.network.network',
    bad: (m) => (m.spec.network = { network: 'default' }),
    good: (m) => (m.spec.network = { network: 'global/networks/default' }),
  },
  {
    field: 'spec.network.subnetwork',
    bad: (m) => (m.spec.network = { subnetwork: 'batch-private' }),
    good: (m) =>
      (m.spec.network = {
        subnetwork: 'https://www.googleapis.com/compute/v1/projects/p/regions/europe-west4/subnetworks/b',
      }),
  },
  {
    field: 'spec.labels.team',
    bad: (m) => (m.spec.labels = { team: 'Team A' }),
    good: (m) => (m.spec.labels = { team: 'team-a', empty: '' }),
  },
  {
    field: 'spec.labels',
    bad: (m) => (m.spec.labels = Object.fromEntries([...Array(33).keys()].map((i) => [`l${i}`, 'v']))),
    good: (m) => (m.spec.labels = Object.fromEntries([...Array(32).keys()].map((i) => [`l${i}`, 'v']))),
  },
  {
    field: 'spec.securityLevel',
    bad: (m) => (m.spec.securityLevel = 'open'),
    good: (m) => (m.spec.securityLevel = 'privileged'),
  },
  {
    field: 'spec.namespaceSelector.matchExpressions[0].operator',
    bad: (m) => (m.spec.namespaceSelector = { matchExpressions: [{ key: 'a', operator: 'Equals' }] }),
    good: (m) => (m.spec.namespaceSelector = { matchExpressions: [{ key: 'a', operator: 'Exists' }] }),
  },
  {
    field: 'spec.namespaceSelector.matchLabels.team',
    bad: (m) => (m.spec.namespaceSelector = { matchLabels: { team: 'a b' } }),
    good: (m) => (m.spec.namespaceSelector = { matchLabels: { 'example.com/team': 'A.b_c' } }),
  },
  {
    field: 'spec.allowed.machineTypes[0]',
    bad: (m) => (m.spec.allowed = { machineTypes: ['E2 *'] }),
    good: (m) => (m.spec.allowed = { machineTypes: ['e2-*', 'n2-standard-*'] }),
  },
  {
    field: 'spec.allowed.machineTypes',
    duplicate: true,
    bad: (m) => (m.spec.allowed = { machineTypes: ['e2-*', 'e2-*'] }),
    good: (m) => (m.spec.allowed = { machineTypes: [] }),
  },
  {
    field: 'spec.allowed.buckets[0].access',
    bad: (m) => (m.spec.allowed = { buckets: [{ name: 'b', access: 'Write' }] }),
    good: (m) => (m.spec.allowed = { buckets: [{ name: 'team-a-*', access: 'ReadWrite', create: true }] }),
  },
  {
    field: 'spec.allowed.buckets',
    duplicate: true,
    bad: (m) =>
      (m.spec.allowed = {
        buckets: [
          { name: 'b', access: 'ReadOnly' },
          { name: 'b', access: 'ReadWrite' },
        ],
      }),
    good: (m) => (m.spec.allowed = { buckets: [{ name: 'b', access: 'ReadOnly' }] }),
  },
  {
    field: 'spec.allowed.secretPrefixes[0]',
    bad: (m) => (m.spec.allowed = { secretPrefixes: ['team-a/'] }),
    good: (m) => (m.spec.allowed = { secretPrefixes: ['projects/team-a-batch/secrets/'] }),
  },
  {
    field: 'spec.allowed.deletionPolicies[0]',
    bad: (m) => (m.spec.allowed = { deletionPolicies: ['Keep'] }),
    good: (m) => (m.spec.allowed = { deletionPolicies: ['Delete', 'Orphan'] }),
  },
  {
    field: 'spec.limits.tasks',
    bad: (m) => (m.spec.limits = { tasks: 0 }),
    good: (m) => (m.spec.limits = { tasks: 100000 }),
  },
  {
    field: 'spec.limits.priority.max',
    bad: (m) => (m.spec.limits = { priority: { max: 100 } }),
    good: (m) => (m.spec.limits = { priority: { min: 0, max: 99 } }),
  },
  {
    field: 'spec.limits.maxRunDuration',
    bad: (m) => (m.spec.limits = { maxRunDuration: '1 day' }),
    good: (m) => (m.spec.limits = { maxRunDuration: '1h30m', defaultRunDuration: '1.5h' }),
  },
  {
    field: 'spec.limits.maxRunDuration',
    bad: (m) => (m.spec.limits = { maxRunDuration: '-1h' }),
    good: (m) => (m.spec.limits = { maxRunDuration: '90s' }),
  },
];

describe('the BatchProfile CRD', () => {
  test('installs and is Established, cluster-scoped, with its names', async () => {
    const got = await cp.kubectl(['get', 'crd', CRD_NAME, '-o', 'json']);
    ok(got);
    const live = JSON.parse(got.stdout) as {
      spec: Crd['spec'];
      status: { conditions: { type: string; status: string }[] };
    };
    const condition = (type: string) => live.status.conditions.find((c) => c.type === type)?.status;
    assert.equal(condition('Established'), 'True');
    assert.equal(condition('NamesAccepted'), 'True');
    assert.equal(live.spec.scope, 'Cluster');
    assert.equal(live.spec.names.kind, 'BatchProfile');
    assert.deepEqual(live.spec.names.shortNames, ['bprof']);
    assert.ok(live.spec.names.categories.includes('drmaa2'));
    const clusterScoped = await cp.kubectl(['api-resources', '--namespaced=false', '-o', 'name']);
    ok(clusterScoped);
    assert.ok(clusterScoped.stdout.split('\n').includes(CRD_NAME), clusterScoped.stdout);
  });

  test('the example profiles are accepted by server-side apply, securityLevel defaulting to restricted', async () => {
    const file = join(PROJECT_ROOT, 'deploy', 'examples', 'batchprofile.yaml');
    const docs = loadAll(read('deploy', 'examples', 'batchprofile.yaml')) as Profile[];
    assert.deepEqual(
      docs.map((d) => d.metadata.name),
      ['team-a', 'team-b'],
    );
    // The controller finds nothing wrong with them either (they would be Ready).
    for (const doc of docs)
      assert.deepEqual(
        checkProfile(doc.spec as unknown as BatchProfileSpec, { name: doc.metadata.name }),
        [],
      );
    ok(await cp.kubectl(['apply', '--server-side', '-f', file]));
    const levels = await cp.kubectl([
      'get',
      'bprof',
      '-o',
      'jsonpath={range .items[*]}{.metadata.name}={.spec.securityLevel} {end}',
    ]);
    assert.equal(levels.stdout.trim(), 'team-a=restricted team-b=baseline');
    ok(await applyProfile(profile('minimal')));
    const level = await cp.kubectl(['get', 'bprof', 'minimal', '-o', 'jsonpath={.spec.securityLevel}']);
    assert.equal(level.stdout, 'restricted');
    ok(await cp.kubectl(['delete', '-f', file]));
    ok(await cp.kubectl(['delete', 'bprof', 'minimal']));
  });

  test('every CEL rule of the CRD has a violating profile here', () => {
    const rules = celRules(served.schema.openAPIV3Schema);
    assert.ok(rules.length > 0, 'the CRD has no CEL rules');
    const missing = rules
      .filter(({ rule }) => !VIOLATIONS[rule.rule])
      .map(({ path, rule }) => `${path}: ${rule.rule}`);
    assert.deepEqual(missing, []);
  });

  const CEL_CASES = celRules(served.schema.openAPIV3Schema)
    .filter(({ rule }) => VIOLATIONS[rule.rule])
    .map(
      ({ path, rule }, n) =>
        [`${path}: ${rule.rule}`, { rule, violation: VIOLATIONS[rule.rule]!, n }] as const,
    );

  test.each(CEL_CASES)('CEL %s rejects its violation with its message, naming the field', async (_, c) => {
    const manifest = profile(`cel-${c.n}`);
    c.violation.violate(manifest);
    const result = await applyProfile(manifest);
    invalid(result, c.violation.field, dump(manifest.spec));
    assert.ok(c.rule.message && result.stderr.includes(c.rule.message), `message missing: ${result.stderr}`);
  });

  test.each(FIELD_CASES.map((c, n) => [c.field, { ...c, n }] as const))(
    'schema rule at %s: refuses a bad value naming the field, takes a good one',
    async (field, c) => {
      const bad = profile(`field-${c.n}`);
      c.bad(bad);
      const refused = await applyProfile(bad);
      if (c.duplicate) {
        assert.notEqual(refused.code, 0, `accepted: ${dump(bad.spec)}`);
        assert.ok(refused.stderr.includes(`.${field}: duplicate entries`), refused.stderr);
      } else invalid(refused, field, dump(bad.spec));
      const good = profile(`field-${c.n}`);
      c.good(good);
      ok(await applyProfile(good));
      ok(await cp.kubectl(['delete', 'bprof', good.metadata.name]));
    },
  );

  test('project and location are required', async () => {
    const manifest = profile('required');
    delete manifest.spec.project;
    delete manifest.spec.location;
    const result = await applyProfile(manifest);
    invalid(result, 'spec.project', 'no project');
    assert.ok(result.stderr.includes('spec.location: Required value'), result.stderr);
  });

  test('kubectl explain shows the description of every field of the spec', async () => {
    const spec = served.schema.openAPIV3Schema.properties!.spec!;
    const objects: [string, Schema][] = [['spec', spec]];
    for (const [name, child] of Object.entries(spec.properties!)) {
      if (child.properties) objects.push([`spec.${name}`, child]);
      for (const [inner, grandChild] of Object.entries(child.properties ?? {}))
        if (grandChild.properties) objects.push([`spec.${name}.${inner}`, grandChild]);
    }
    assert.ok(objects.length >= 7, objects.map(([p]) => p).join(' '));
    for (const [path, schema] of objects) {
      const result = await cp.kubectl(['explain', `batchprofile.${path}`]);
      ok(result);
      const text = squash(result.stdout);
      for (const [field, child] of Object.entries(schema.properties!)) {
        assert.ok(child.description, `${path}.${field} has no description`);
        assert.ok(text.includes(`${field} <`), `${path}.${field} not listed`);
        assert.ok(text.includes(squash(child.description)), `description of ${path}.${field} not shown`);
      }
    }
  });

  test('kubectl get bprof shows the printer columns with the spec and status values', async () => {
    const columns = served.additionalPrinterColumns ?? [];
    assert.deepEqual(
      columns.map((c) => c.name),
      ['Project', 'Location', 'Level', 'Default', 'Ready', 'Jobs', 'Age'],
    );
    ok(await applyProfile(profile('columns', { default: true, securityLevel: 'baseline' })));
    const status = {
      observedGeneration: 1,
      jobs: 3,
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Valid',
          message: 'The profile is valid and in use as written.',
          lastTransitionTime: '2030-01-01T00:00:00Z',
        },
      ],
    };
    ok(
      await cp.kubectl([
        'patch',
        'bprof',
        'columns',
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify({ status }),
      ]),
    );
    const table = await cp.kubectl(['get', 'bprof', 'columns']);
    ok(table);
    const row = parseTable(table.stdout);
    assert.deepEqual(
      [...row.entries()].filter(([header]) => header !== 'AGE'),
      [
        ['NAME', 'columns'],
        ['PROJECT', 'team-a-batch'],
        ['LOCATION', 'europe-west4'],
        ['LEVEL', 'baseline'],
        ['DEFAULT', 'true'],
        ['READY', 'True'],
        ['JOBS', '3'],
      ],
    );
    assert.match(row.get('AGE')!, /^\d+[smhdy]/);
    // The status is a subresource: the spec cannot carry it in, nor the status a spec change.
    ok(
      await cp.kubectl([
        'patch',
        'bprof',
        'columns',
        '--subresource=status',
        '--type=merge',
        '-p',
        '{"spec":{"project":"elsewhere"}}',
      ]),
    );
    const project = await cp.kubectl(['get', 'bprof', 'columns', '-o', 'jsonpath={.spec.project}']);
    assert.equal(project.stdout, 'team-a-batch');
    ok(await cp.kubectl(['delete', 'bprof', 'columns']));
  });

  test('kubectl get drmaa2 lists both kinds of the category', async () => {
    ok(await applyProfile(profile('category')));
    const listed = await cp.kubectl(['get', 'drmaa2', '-A', '-o', 'name']);
    ok(listed);
    assert.match(listed.stdout, /^batchprofile\.drmaa2\.io\/category$/m);
    ok(await cp.kubectl(['delete', 'bprof', 'category']));
  });
});

describe('the Drmaa2Job CRD: spec.profile and status.profile', () => {
  test('spec.profile must be a DNS-1123 subdomain name', async () => {
    for (const bad of ['Team_A', 'team-a.', '-team', 'a'.repeat(254)]) {
      const result = await cp.kubectl(['create', '--dry-run=server', '-f', '-'], {
        input: JSON.stringify(job('bad-profile', TEAM_A, { profile: bad })),
      });
      invalid(result, 'spec.profile', bad);
    }
    ok(
      await cp.kubectl(['create', '--dry-run=server', '-f', '-'], {
        input: JSON.stringify(job('good-profile', TEAM_A, { profile: 'team-a.batch-1' })),
      }),
    );
  });

  test('spec.profile can be neither set, changed nor removed after the create', async () => {
    const message = 'spec.profile is immutable';
    ok(await cp.kubectl(['create', '-f', '-'], { input: JSON.stringify(job('unnamed', TEAM_A)) }));
    const set = await cp.kubectl([
      'patch',
      'd2job',
      'unnamed',
      '-n',
      TEAM_A,
      '--type=merge',
      '-p',
      '{"spec":{"profile":"team-a"}}',
    ]);
    invalid(set, 'spec.profile', 'set later');
    assert.ok(set.stderr.includes(message), set.stderr);
    ok(
      await cp.kubectl(['create', '-f', '-'], {
        input: JSON.stringify(job('named', TEAM_A, { profile: 'team-a' })),
      }),
    );
    const removed = await cp.kubectl([
      'patch',
      'd2job',
      'named',
      '-n',
      TEAM_A,
      '--type=json',
      '-p',
      '[{"op":"remove","path":"/spec/profile"}]',
    ]);
    invalid(removed, 'spec.profile', 'removed');
    ok(
      await cp.kubectl([
        'patch',
        'd2job',
        'named',
        '-n',
        TEAM_A,
        '--type=merge',
        '-p',
        '{"spec":{"hold":true}}',
      ]),
    );
    ok(await cp.kubectl(['delete', 'd2job', 'named', 'unnamed', '-n', TEAM_A]));
  });

  test('status.profile is stored as the controller writes it and shown in the wide Profile column', async () => {
    ok(await cp.kubectl(['create', '-f', '-'], { input: JSON.stringify(job('recorded', TEAM_A)) }));
    const ref = {
      name: 'team-a',
      generation: 4,
      project: 'team-a-batch',
      location: 'europe-west4',
      session: 'team-a',
    };
    ok(
      await cp.kubectl([
        'patch',
        'd2job',
        'recorded',
        '-n',
        TEAM_A,
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify({ status: { profile: ref } }),
      ]),
    );
    const stored = await cp.kubectl([
      'get',
      'd2job',
      'recorded',
      '-n',
      TEAM_A,
      '-o',
      'jsonpath={.status.profile}',
    ]);
    assert.deepEqual(JSON.parse(stored.stdout), ref);
    const wide = parseTable(
      (await cp.kubectl(['get', 'd2job', 'recorded', '-n', TEAM_A, '-o', 'wide'])).stdout,
    );
    assert.equal(wide.get('PROFILE'), 'team-a');
    const narrow = parseTable((await cp.kubectl(['get', 'd2job', 'recorded', '-n', TEAM_A])).stdout);
    assert.equal(narrow.has('PROFILE'), false, 'priority 1: only with -o wide');
    ok(await cp.kubectl(['delete', 'd2job', 'recorded', '-n', TEAM_A]));
  });
});

/** team-a's profile in the policy tests: its namespaces' default, restricted, with limits. */
const TEAM_A_SPEC: Partial<BatchProfileSpec> = {
  namespaceSelector: { matchLabels: { 'drmaa2.io/tenant': 'team-a' } },
  default: true,
  securityLevel: 'restricted',
  allowed: { deletionPolicies: ['Delete'] },
  limits: {
    tasks: 8,
    arrayElements: 10,
    priority: { min: 10, max: 50 },
    memoryMiBPerTask: 4096,
    cpuMilliPerTask: 4000,
    bootDiskGiB: 20,
    maxRunDuration: '2h',
  },
};

/** The controller's verdict on a job under team-a's profile (src/translate: what it does before submitting). */
function controllerVerdict(manifest: Job): TranslateResult {
  return translateSpec(manifest.spec as unknown as Drmaa2JobSpec, {
    project: 'unused',
    location: 'unused',
    session: 'unused',
    owner: {
      namespace: manifest.metadata.namespace,
      name: manifest.metadata.name,
      uid: '0b7e5a36-3f0e-4b7c-9d61-2f0c8a6e4d11',
    },
    profile: { name: 'team-a', spec: { project: 'team-a-batch', location: 'europe-west4', ...TEAM_A_SPEC } },
  });
}

describe('the profile admission policy', () => {
  let markers = 0;

  /** Policies and their params reach the admission plugin a moment after they are stored. A profile that
   * selects no namespace, created last, shows when everything before it is in force. */
  async function settle(): Promise<void> {
    const name = `marker-${++markers}`;
    ok(await applyProfile(profile(name)));
    await waitUntil(
      'the admission policy to see the profiles',
      async () => refusal(await tryCreate(job('probe', TEAM_A, { profile: name }))) !== undefined,
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    ok(await cp.kubectl(['delete', 'bprof', name]));
  }

  /** A server-side dry-run create: admission runs, nothing is stored. */
  function tryCreate(manifest: Job): Promise<KubectlResult> {
    return cp.kubectl(['create', '--dry-run=server', '-f', '-'], { input: JSON.stringify(manifest) });
  }

  /** The policy's message when it refused, undefined when the create went through. */
  function refusal(result: KubectlResult): string | undefined {
    if (result.code === 0) return undefined;
    const prefix = `ValidatingAdmissionPolicy '${POLICY}' with binding '${POLICY}' denied request: `;
    const at = result.stderr.indexOf(prefix);
    assert.ok(at >= 0, `refused, but not by the policy: ${result.stderr}`);
    assert.match(result.stderr, /^Error from server \(Forbidden\)/, 'every refusal is a 403');
    return result.stderr.slice(at + prefix.length).trim();
  }

  async function admitted(manifest: Job): Promise<void> {
    const result = await tryCreate(manifest);
    assert.equal(refusal(result), undefined, `${manifest.metadata.namespace}: ${dump(manifest.spec)}`);
  }

  async function refused(manifest: Job, message: string): Promise<void> {
    const got = refusal(await tryCreate(manifest));
    assert.ok(got !== undefined, `admitted: ${manifest.metadata.namespace}: ${dump(manifest.spec)}`);
    assert.ok(got.includes(message), `expected "${message}" in: ${got}`);
  }

  beforeAll(async () => {
    // Installed as shipped but with failurePolicy Fail: an expression that fails to evaluate then refuses the
    // job (and fails the test) instead of letting it through unnoticed.
    const docs = loadAll(read('deploy', 'profile-policy.yaml')) as {
      kind: string;
      spec: Record<string, unknown>;
    }[];
    const policy = docs.find((d) => d.kind === 'ValidatingAdmissionPolicy')!;
    assert.equal(policy.spec.failurePolicy, 'Ignore', 'shipped: the controller stays the authority');
    policy.spec.failurePolicy = 'Fail';
    await cp.apply(docs.map((d) => dump(d)).join('---\n'));
    // team-a's default: restricted, with limits. shared: baseline, for team-a and team-b, named only.
    // open: privileged, for team-a, named only.
    ok(await applyProfile(profile('team-a', TEAM_A_SPEC)));
    ok(
      await applyProfile(
        profile('shared', {
          namespaceSelector: {
            matchExpressions: [{ key: 'drmaa2.io/tenant', operator: 'In', values: ['team-a', 'team-b'] }],
          },
          securityLevel: 'baseline',
        }),
      ),
    );
    ok(
      await applyProfile(
        profile('open', {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': TEAM_A } },
          securityLevel: 'privileged',
        }),
      ),
    );
    await settle();
  });

  test('deploy/ installs the policy and its binding', async () => {
    const rendered = loadAll((await cp.kubectl(['kustomize', join(PROJECT_ROOT, 'deploy')])).stdout) as {
      kind: string;
      metadata: { name: string };
    }[];
    const names = rendered.map((doc) => `${doc.kind}/${doc.metadata.name}`);
    assert.ok(names.includes(`ValidatingAdmissionPolicy/${POLICY}`));
    assert.ok(names.includes(`ValidatingAdmissionPolicyBinding/${POLICY}`));
    assert.ok(!names.some((n) => n.startsWith('BatchProfile/')), 'the examples are not part of the install');
    const dryRun = await cp.kubectl([
      'apply',
      '--server-side',
      '--dry-run=server',
      '-k',
      join(PROJECT_ROOT, 'deploy'),
    ]);
    ok(dryRun);
    assert.match(
      dryRun.stdout,
      /validatingadmissionpolicy\.admissionregistration\.k8s\.io\/drmaa2-batch-profile serverside-applied/,
    );
  });

  test('a named profile must select the namespace; a missing one is left to the controller', async () => {
    await admitted(job('a', TEAM_A, { profile: 'team-a' }));
    await admitted(job('a', TEAM_A, { profile: 'shared' }));
    await admitted(job('b', TEAM_B, { profile: 'shared' }));
    await refused(
      job('b', TEAM_B, { profile: 'team-a' }),
      'spec.profile: BatchProfile team-a does not select namespace team-b (its namespaceSelector)',
    );
    await refused(
      job('o', OTHER, { profile: 'shared' }),
      'spec.profile: BatchProfile shared does not select',
    );
    await refused(job('b', TEAM_B, { profile: 'open' }), 'spec.profile: BatchProfile open does not select');
    // It may be applied after the job (GitOps): the controller waits for it (ProfileNotFound).
    await admitted(job('a', TEAM_A, { profile: 'not-yet' }));
    // No default for team-b or other: the controller decides (NoProfile under --require-profile).
    await admitted(job('b', TEAM_B));
    await admitted(job('o', OTHER, { hold: true, jobTemplate: { ...CONTAINER, jobCategory: '$script$' } }));
  });

  test('kubectl apply shows the refusal with the policy, the field and the profile', async () => {
    const result = await cp.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify(job('refused', TEAM_B, { profile: 'team-a' })),
    });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /\(Forbidden\)/);
    assert.match(result.stderr, /ValidatingAdmissionPolicy 'drmaa2-batch-profile'/);
    assert.match(result.stderr, /spec\.profile: BatchProfile team-a does not select namespace team-b/);
    const gone = await cp.kubectl(['get', 'd2job', 'refused', '-n', TEAM_B]);
    assert.notEqual(gone.code, 0, 'nothing was stored');
  });

  test('the namespaceSelector is evaluated as the controller evaluates it', async () => {
    const selectors: (LabelSelector | undefined)[] = [
      undefined,
      {},
      { matchLabels: { 'drmaa2.io/tenant': 'team-a' } },
      { matchLabels: { 'drmaa2.io/tenant': 'team-a', tier: 'silver' } },
      { matchLabels: { 'kubernetes.io/metadata.name': OTHER } },
      { matchExpressions: [{ key: 'drmaa2.io/tenant', operator: 'In', values: ['team-b', 'team-c'] }] },
      { matchExpressions: [{ key: 'drmaa2.io/tenant', operator: 'NotIn', values: ['team-a'] }] },
      { matchExpressions: [{ key: 'tier', operator: 'Exists' }] },
      { matchExpressions: [{ key: 'drmaa2.io/tenant', operator: 'DoesNotExist' }] },
      {
        matchLabels: { tier: 'gold' },
        matchExpressions: [{ key: 'drmaa2.io/tenant', operator: 'NotIn', values: ['team-b'] }],
      },
    ];
    for (const [i, selector] of selectors.entries())
      ok(await applyProfile(profile(`selector-${i}`, selector ? { namespaceSelector: selector } : {})));
    await settle();
    const namespaceLabels = async (ns: string) =>
      JSON.parse(
        (await cp.kubectl(['get', 'namespace', ns, '-o', 'jsonpath={.metadata.labels}'])).stdout,
      ) as Record<string, string>;
    const outcomes = new Set<boolean>();
    for (const ns of Object.keys(NAMESPACES)) {
      const labels = await namespaceLabels(ns);
      for (const [i, selector] of selectors.entries()) {
        const expected = selectorMatches(selector, labels);
        outcomes.add(expected);
        const result = await tryCreate(job('sel', ns, { profile: `selector-${i}` }));
        const got = refusal(result) === undefined;
        assert.equal(got, expected, `${ns} ${JSON.stringify(labels)} by ${JSON.stringify(selector)}`);
      }
    }
    assert.deepEqual([...outcomes].sort(), [false, true], 'both outcomes occur');
    ok(await cp.kubectl(['delete', 'bprof', ...selectors.map((_, i) => `selector-${i}`)]));
  });

  // Jobs in team-a that name no profile get team-a's (the default); one at each limit is admitted. Each
  // refusal is the controller's own words for the same fault.
  const LIMITS: { what: string; at: Partial<JobSpec>; over: Partial<JobSpec>; message: string }[] = [
    {
      what: 'tasks (maxSlots)',
      at: { jobTemplate: { ...CONTAINER, maxSlots: 8 } },
      over: { jobTemplate: { ...CONTAINER, maxSlots: 9 } },
      message:
        "spec.jobTemplate.maxSlots: 9 tasks in one Batch job: more than BatchProfile team-a's limits.tasks (8)",
    },
    {
      what: "tasks (a native array's indexes)",
      at: { array: { begin: 1, end: 8 } },
      over: { array: { begin: 0, end: 8 } },
      message: "spec.array: 9 tasks in one Batch job: more than BatchProfile team-a's limits.tasks (8)",
    },
    {
      what: 'array indexes (one Batch job per index)',
      at: { array: { begin: 0, end: 18, step: 2 }, jobTemplate: { ...CONTAINER, maxSlots: 2 } },
      over: { array: { begin: 0, end: 10 }, jobTemplate: { ...CONTAINER, maxSlots: 2 } },
      message: "spec.array: 11 array indexes: more than BatchProfile team-a's limits.arrayElements (10)",
    },
    {
      what: 'priority below the range',
      at: { jobTemplate: { ...CONTAINER, priority: 10 } },
      over: { jobTemplate: { ...CONTAINER, priority: 9 } },
      message:
        "spec.jobTemplate.priority: priority 9 is outside BatchProfile team-a's limits.priority (10-50)",
    },
    {
      what: 'priority above the range',
      at: { jobTemplate: { ...CONTAINER, priority: 50 } },
      over: { jobTemplate: { ...CONTAINER, priority: 51 } },
      message:
        "spec.jobTemplate.priority: priority 51 is outside BatchProfile team-a's limits.priority (10-50)",
    },
    {
      what: 'memory',
      at: { jobTemplate: { ...CONTAINER, minPhysMemory: 4096 } },
      over: { jobTemplate: { ...CONTAINER, minPhysMemory: 4097 } },
      message:
        "spec.jobTemplate.minPhysMemory: minPhysMemory 4097 MiB: more than BatchProfile team-a's limits.memoryMiBPerTask (4096)",
    },
    {
      what: 'CPU',
      at: { jobTemplate: { ...CONTAINER, resourceLimits: { cpumilli: '4000' } } },
      over: { jobTemplate: { ...CONTAINER, resourceLimits: { cpumilli: '4001' } } },
      message:
        "spec.jobTemplate.resourceLimits.cpumilli: cpumilli 4001: more than BatchProfile team-a's limits.cpuMilliPerTask (4000)",
    },
    {
      what: 'boot disk',
      at: { jobTemplate: { ...CONTAINER, resourceLimits: { bootdiskmib: '20480' } } },
      over: { jobTemplate: { ...CONTAINER, resourceLimits: { bootdiskmib: '20481' } } },
      message:
        "spec.jobTemplate.resourceLimits.bootdiskmib: a boot disk of 20481 MiB: more than BatchProfile team-a's limits.bootDiskGiB (20 GiB = 20480 MiB)",
    },
    {
      what: 'run time',
      at: { jobTemplate: { ...CONTAINER, resourceLimits: { runtime: '1h60m' } } },
      over: { jobTemplate: { ...CONTAINER, resourceLimits: { runtime: '7201s' } } },
      message:
        "spec.jobTemplate.resourceLimits.runtime: runtime 7201s: more than BatchProfile team-a's limits.maxRunDuration (2h)",
    },
    {
      what: 'deletion policy',
      at: { deletionPolicy: 'Delete' },
      over: { deletionPolicy: 'Orphan' },
      message:
        "spec.deletionPolicy: deletionPolicy Orphan is not in BatchProfile team-a's allowed.deletionPolicies (Delete)",
    },
    {
      what: 'security level: $script$',
      at: { jobTemplate: { ...CONTAINER } },
      over: { jobTemplate: { ...CONTAINER, jobCategory: '$script$' } },
      message:
        'spec.jobTemplate.jobCategory: not allowed by BatchProfile team-a (securityLevel restricted): jobCategory $script$ needs baseline',
    },
    {
      what: 'security level: prolog',
      at: { jobTemplate: { ...CONTAINER, extension: { extensionList: { prolog: '' } } } },
      over: { jobTemplate: { ...CONTAINER, extension: { extensionList: { prolog: 'echo start' } } } },
      message:
        'spec.jobTemplate.extension.extensionList.prolog: not allowed by BatchProfile team-a (securityLevel restricted): prolog needs baseline',
    },
    {
      what: 'security level: epilog',
      at: { jobTemplate: { ...CONTAINER, extension: { extensionList: { epilog: '' } } } },
      over: { jobTemplate: { ...CONTAINER, extension: { extensionList: { epilog: 'echo done' } } } },
      message:
        'spec.jobTemplate.extension.extensionList.epilog: not allowed by BatchProfile team-a (securityLevel restricted): epilog needs baseline',
    },
    {
      what: 'security level: multi-node',
      at: { jobTemplate: { ...CONTAINER, minSlots: 1, maxSlots: 2 } },
      over: { jobTemplate: { ...CONTAINER, minSlots: 2, maxSlots: 2 } },
      message:
        'spec.jobTemplate.maxSlots: not allowed by BatchProfile team-a (securityLevel restricted): a multi-node job (minSlots == maxSlots > 1) needs baseline',
    },
    {
      what: 'security level: localhost stage-in',
      at: { jobTemplate: { ...CONTAINER, stageInFiles: { '/data': 'gs://team-a-reference' } } },
      over: {
        jobTemplate: {
          ...CONTAINER,
          stageInFiles: { '/data': 'gs://ref', '/host': 'localhost:/etc', '/b-host': 'localhost:/srv' },
        },
      },
      message:
        'spec.jobTemplate.stageInFiles["/b-host"]: not allowed by BatchProfile team-a (securityLevel restricted): a localhost: source needs privileged',
    },
    {
      what: 'security level: docker_options',
      at: { jobTemplate: { ...CONTAINER, extension: { extensionList: { docker_options: '  ' } } } },
      over: {
        jobTemplate: { ...CONTAINER, extension: { extensionList: { docker_options: '--network=host' } } },
      },
      message:
        'spec.jobTemplate.extension.extensionList.docker_options: not allowed by BatchProfile team-a (securityLevel restricted): docker_options needs privileged',
    },
  ];

  test.each(LIMITS.map((c) => [c.what, c] as const))(
    "team-a's default profile refuses a job over its limit: %s",
    async (_, c) => {
      await admitted(job('limit', TEAM_A, c.at));
      await refused(job('limit', TEAM_A, c.over), c.message);
      // The same job named under team-a, and under a profile without that rule.
      await refused(job('limit', TEAM_A, { ...c.over, profile: 'team-a' }), c.message);
      await admitted(job('limit', TEAM_A, { ...c.over, profile: 'open' }));
      // The controller agrees: it submits the one, and refuses the other with the same words.
      const atLimit = controllerVerdict(job('limit', TEAM_A, c.at));
      assert.ok(atLimit.ok, JSON.stringify(!atLimit.ok && atLimit.errors));
      const over = controllerVerdict(job('limit', TEAM_A, c.over));
      assert.ok(!over.ok && over.reason === 'PolicyViolation', JSON.stringify(over));
      assert.ok(over.errors.map(formatSpecError).includes(c.message), JSON.stringify(over.errors));
    },
  );

  test('the security levels: baseline allows scripts and multi-node jobs, privileged host paths', async () => {
    const script = { jobTemplate: { ...CONTAINER, jobCategory: '$script$', minSlots: 2, maxSlots: 2 } };
    await admitted(job('level', TEAM_B, { ...script, profile: 'shared' }));
    const host = { jobTemplate: { ...CONTAINER, stageInFiles: { '/host': 'localhost:/etc' } } };
    await refused(
      job('level', TEAM_B, { ...host, profile: 'shared' }),
      'not allowed by BatchProfile shared (securityLevel baseline): a localhost: source needs privileged',
    );
    await admitted(job('level', TEAM_A, { ...host, profile: 'open' }));
  });

  test('under kueue.required a job must name its LocalQueue', async () => {
    ok(
      await applyProfile(
        profile('queued', {
          namespaceSelector: { matchLabels: { 'drmaa2.io/tenant': 'team-a' } },
          kueue: { required: true },
        }),
      ),
    );
    await settle();
    const unlabelled = job('queued', TEAM_A, { jobTemplate: CONTAINER, profile: 'queued' });
    await refused(
      unlabelled,
      'metadata.labels[kueue.x-k8s.io/queue-name]: BatchProfile queued sends every job through Kueue: name the LocalQueue in this label',
    );
    const labelled = (value: string): Job => ({
      ...unlabelled,
      metadata: { ...unlabelled.metadata, labels: { 'kueue.x-k8s.io/queue-name': value } },
    });
    await refused(labelled(''), 'sends every job through Kueue');
    await admitted(labelled('team-a-queue'));
    // Other profiles of the namespace ask for no queue.
    await admitted(job('queued', TEAM_A, { jobTemplate: CONTAINER, profile: 'open' }));
    ok(await cp.kubectl(['delete', 'bprof', 'queued']));
  });

  test('what only the controller can judge is let through', async () => {
    const unparsed = { jobTemplate: { ...CONTAINER, resourceLimits: { runtime: 'soon', cpumilli: 'lots' } } };
    await admitted(job('left', TEAM_A, unparsed));
    // No runtime, so the profile's defaultRunDuration or none; no priority, so Batch's default.
    await admitted(
      job('left', TEAM_A, { jobTemplate: { ...CONTAINER, candidateMachines: ['c3-highmem-176'] } }),
    );
  });

  test('only creates are checked: a profile changed later does not block updates of existing jobs', async () => {
    ok(
      await cp.kubectl(['create', '-f', '-'], {
        input: JSON.stringify(job('existing', TEAM_B, { profile: 'shared', hold: true })),
      }),
    );
    ok(
      await applyProfile(
        profile('shared', {
          namespaceSelector: { matchLabels: { 'drmaa2.io/tenant': 'team-a' } },
          securityLevel: 'baseline',
        }),
      ),
    );
    await settle();
    await refused(
      job('new', TEAM_B, { profile: 'shared' }),
      'BatchProfile shared does not select namespace team-b',
    );
    ok(
      await cp.kubectl([
        'patch',
        'd2job',
        'existing',
        '-n',
        TEAM_B,
        '--type=merge',
        '-p',
        '{"spec":{"hold":false}}',
      ]),
    );
    ok(await cp.kubectl(['label', 'd2job', 'existing', '-n', TEAM_B, 'reviewed=yes']));
    ok(await cp.kubectl(['delete', 'd2job', 'existing', '-n', TEAM_B]));
  });
});
