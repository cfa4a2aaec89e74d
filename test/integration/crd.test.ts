// The Drmaa2Job CRD served by a real kube-apiserver: it installs and is Established, the examples are
// accepted, every CEL rule rejects a violating manifest with its own message at its field, the job template is
// immutable, and kubectl shows the schema's descriptions and the printer columns. CEL, server-side apply and
// kubectl explain need the real server, so none of this passes against a fake.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump, load } from 'js-yaml';
import { startControlPlane, type ControlPlane } from '../support/controlPlane.js';
import type { KubectlResult } from '../support/kubectl.js';
import { PROJECT_ROOT } from '../support/peers.js';
import { celRules, parseTable, squash, type Schema } from '../support/crdSchema.js';

const NS = 'crd-test';
const CRD_NAME = 'drmaa2jobs.drmaa2.io';
const crd = load(readFileSync(join(PROJECT_ROOT, 'crds', 'drmaa2.io_drmaa2jobs.yaml'), 'utf8')) as Crd;
const served = crd.spec.versions.find((v) => v.storage)!;
let cp: ControlPlane;

beforeAll(async () => {
  cp = await startControlPlane();
  await cp.apply(`apiVersion: v1\nkind: Namespace\nmetadata: {name: ${NS}}\n`);
});

afterAll(async () => {
  await cp?.stop();
});

interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  priority?: number;
}

interface Crd {
  spec: {
    versions: {
      name: string;
      storage: boolean;
      schema: { openAPIV3Schema: Schema };
      additionalPrinterColumns?: PrinterColumn[];
    }[];
  };
}

type Job = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec: Record<string, unknown> & { jobTemplate: Record<string, unknown> };
  status?: Record<string, unknown>;
};

function job(name: string): Job {
  return {
    apiVersion: 'drmaa2.io/v1alpha1',
    kind: 'Drmaa2Job',
    metadata: { name },
    spec: {
      jobTemplate: {
        remoteCommand: '/bin/echo',
        args: ['hello'],
        jobCategory: 'busybox:1.36',
      },
    },
  };
}

function applyJob(manifest: Job, fieldManager = 'crd-test'): Promise<KubectlResult> {
  return cp.kubectl(['apply', '--server-side', `--field-manager=${fieldManager}`, '-n', NS, '-f', '-'], {
    input: dump(manifest),
  });
}

function ok(result: KubectlResult): void {
  assert.equal(result.code, 0, result.stderr);
}

interface Violation {
  /** Applies a valid job first and then the violating change: for transition rules (oldSelf). */
  update?: boolean;
  /** The field path kubectl names in the error. */
  field: string;
  /** Changes the valid job before it is first applied. */
  prepare?: (manifest: Job) => void;
  violate: (manifest: Job) => void;
}

/** The sum of a map's keys and values, as the template-text rule writes it for each map field. */
const mapText = (f: string) => `(has(self.${f}) ? self.${f}.map(k, size(k) + size(self.${f}[k])).sum() : 0)`;
const TEXT_RULE = [
  '(has(self.remoteCommand) ? size(self.remoteCommand) : 0)',
  '(has(self.args) ? self.args.map(a, size(a)).sum() : 0)',
  ...['jobEnvironment', 'stageInFiles', 'stageOutFiles', 'resourceLimits'].map(mapText),
  '(has(self.extension) && has(self.extension.extensionList) ? self.extension.extensionList.map(k, size(k) + size(self.extension.extensionList[k])).sum() : 0) <= 262144',
].join(' + ');
const PER_ELEMENT = '!has(self.array) || !has(self.jobTemplate.maxSlots) || self.jobTemplate.maxSlots <= 1';

/** One violating manifest per CEL rule of the CRD, keyed by the rule's expression. */
const VIOLATIONS: Record<string, Violation> = {
  'self.jobTemplate == oldSelf.jobTemplate': {
    update: true,
    field: 'spec.jobTemplate',
    violate: (m) => (m.spec.jobTemplate.remoteCommand = '/bin/false'),
  },
  'has(self.array) == has(oldSelf.array) && (!has(self.array) || self.array == oldSelf.array)': {
    update: true,
    field: 'spec.array',
    violate: (m) => (m.spec.array = { begin: 1, end: 2 }),
  },
  'has(self.profile) == has(oldSelf.profile) && (!has(self.profile) || self.profile == oldSelf.profile)': {
    update: true,
    field: 'spec.profile',
    prepare: (m) => (m.spec.profile = 'team-a'),
    violate: (m) => (m.spec.profile = 'team-b'),
  },
  '!has(oldSelf.terminate) || !oldSelf.terminate || (has(self.terminate) && self.terminate)': {
    update: true,
    field: 'spec.terminate',
    prepare: (m) => (m.spec.terminate = true),
    violate: (m) => (m.spec.terminate = false),
  },
  "!has(self.spot) || self.spot in ['1','t','T','TRUE','true','True','0','f','F','FALSE','false','False']": {
    field: 'spec.jobTemplate.extension.extensionList.[spot]',
    violate: (m) => (m.spec.jobTemplate.extension = { extensionList: { spot: 'yes' } }),
  },
  "!has(self.preemption_retries) || self.preemption_retries in ['0','1','2','3','4','5','6','7','8','9','10']":
    {
      field: 'spec.jobTemplate.extension.extensionList.[preemption_retries]',
      violate: (m) => (m.spec.jobTemplate.extension = { extensionList: { preemption_retries: '11' } }),
    },
  '!has(self.minSlots) || !has(self.maxSlots) || self.minSlots <= self.maxSlots': {
    field: 'spec.jobTemplate.minSlots',
    violate: (m) => Object.assign(m.spec.jobTemplate, { minSlots: 3, maxSlots: 2 }),
  },
  'self.begin <= self.end': {
    field: 'spec.array.begin',
    violate: (m) => (m.spec.array = { begin: 5, end: 4 }),
  },
  '!has(self.step) || self.step > 0': {
    field: 'spec.array.step',
    violate: (m) => (m.spec.array = { begin: 1, end: 4, step: 0 }),
  },
  '(self.end - self.begin) / (has(self.step) ? self.step : 1) < 100000': {
    field: 'spec.array',
    violate: (m) => (m.spec.array = { begin: 0, end: 200000 }),
  },
  [TEXT_RULE]: {
    field: 'spec.jobTemplate',
    violate: (m) =>
      Object.assign(m.spec.jobTemplate, {
        remoteCommand: 'x'.repeat(200_000),
        jobEnvironment: { A: 'y'.repeat(40_000), B: 'z'.repeat(40_000) },
      }),
  },
  [`${PER_ELEMENT} || (self.array.end - self.array.begin) / (has(self.array.step) ? self.array.step : 1) < 100`]:
    {
      field: 'spec.array',
      violate: (m) => {
        m.spec.jobTemplate.maxSlots = 2;
        m.spec.array = { begin: 1, end: 101 };
      },
    },
  [`${PER_ELEMENT} || ((self.array.end - self.array.begin) / (has(self.array.step) ? self.array.step : 1) + 1) * self.jobTemplate.maxSlots <= 100000`]:
    {
      field: 'spec.array',
      violate: (m) => {
        m.spec.jobTemplate.maxSlots = 2000;
        m.spec.array = { begin: 1, end: 99 };
      },
    },
};

test('the CRD installs and is Established with its names', async () => {
  const got = await cp.kubectl(['get', 'crd', CRD_NAME, '-o', 'json']);
  ok(got);
  const live = JSON.parse(got.stdout) as {
    spec: { names: { shortNames?: string[]; categories?: string[]; kind: string } };
    status: { conditions: { type: string; status: string }[] };
  };
  const condition = (type: string) => live.status.conditions.find((c) => c.type === type)?.status;
  assert.equal(condition('Established'), 'True');
  assert.equal(condition('NamesAccepted'), 'True');
  assert.equal(live.spec.names.kind, 'Drmaa2Job');
  assert.deepEqual(live.spec.names.shortNames, ['d2job']);
  assert.ok(live.spec.names.categories?.includes('drmaa2'));
});

test('every manifest in examples/ is accepted by server-side apply', async () => {
  const examples = yamlFiles(join(PROJECT_ROOT, 'examples'));
  assert.ok(examples.length > 0, 'examples/ has no manifests');
  for (const file of examples) {
    const result = await cp.kubectl(['apply', '--server-side', '-n', NS, '-f', file]);
    assert.equal(result.code, 0, `${file}: ${result.stderr}`);
  }
});

test('every CEL rule of the CRD has a violating manifest here', () => {
  const rules = celRules(served.schema.openAPIV3Schema);
  assert.ok(rules.length > 0, 'the CRD has no CEL rules');
  const missing = rules
    .filter(({ rule }) => !VIOLATIONS[rule.rule])
    .map(({ path, rule }) => `${path}: ${rule.rule}`);
  assert.deepEqual(missing, []);
});

/** The CEL rules that have a violating manifest, numbered for the names of their resources. */
const CEL_CASES = celRules(served.schema.openAPIV3Schema)
  .filter(({ rule }) => VIOLATIONS[rule.rule])
  .map(
    ({ path, rule }, n) => [`${path}: ${rule.rule}`, { rule, violation: VIOLATIONS[rule.rule]!, n }] as const,
  );

describe('each CEL rule rejects its violating manifest with its message, naming the field', () => {
  test.each(CEL_CASES)('%s', async (_, { rule, violation, n }) => {
    const name = `cel-${n}`;
    const manifest = job(name);
    violation.prepare?.(manifest);
    if (violation.update) ok(await applyJob(manifest));
    violation.violate(manifest);
    const result = await applyJob(manifest);
    assert.notEqual(result.code, 0, `accepted: ${dump(manifest.spec)}`);
    assert.match(result.stderr, /is invalid/);
    assert.ok(
      result.stderr.includes(`${violation.field}: `),
      `field ${violation.field} not named: ${result.stderr}`,
    );
    if (rule.message) assert.ok(result.stderr.includes(rule.message), `message missing: ${result.stderr}`);
  });
});

test('times must be RFC 3339 strings: lists, numbers and free text are refused naming the field', async () => {
  for (const value of [[1, 2], ['2030-01-01T00:00:00Z'], 5, 'soon', '31/12/2025']) {
    for (const field of ['startTime', 'deadlineTime']) {
      const manifest = job(`time-${field.toLowerCase()}`);
      Object.assign(manifest.spec.jobTemplate, { [field]: value });
      const result = await applyJob(manifest);
      assert.notEqual(result.code, 0, `${field}: ${JSON.stringify(value)} accepted`);
      assert.ok(result.stderr.includes(`spec.jobTemplate.${field}: `), result.stderr);
    }
  }
  const manifest = job('time-ok');
  Object.assign(manifest.spec.jobTemplate, { startTime: '2020-01-01T00:00:00.5+02:00' });
  ok(await applyJob(manifest));
});

test('changing spec.jobTemplate of an existing resource is rejected as immutable; hold stays mutable', async () => {
  const manifest = job('immutable');
  ok(await applyJob(manifest));
  manifest.spec.jobTemplate.args = ['changed'];
  const rejected = await applyJob(manifest);
  assert.notEqual(rejected.code, 0);
  assert.match(rejected.stderr, /spec\.jobTemplate: /);
  assert.match(rejected.stderr, /immutable/i);
  const immutability = celRules(served.schema.openAPIV3Schema).find(
    ({ rule }) => rule.fieldPath === '.jobTemplate' && /oldSelf/.test(rule.rule),
  );
  assert.ok(immutability?.rule.message, 'spec.jobTemplate carries no transition rule with a message');
  assert.ok(rejected.stderr.includes(immutability.rule.message));
  const released = job('immutable');
  released.spec.hold = true;
  ok(await applyJob(released));
});

test('kubectl explain shows the descriptions of spec.jobTemplate', async () => {
  const result = await cp.kubectl(['explain', 'drmaa2job.spec.jobTemplate']);
  ok(result);
  const text = squash(result.stdout);
  const jobTemplate = served.schema.openAPIV3Schema.properties!.spec!.properties!.jobTemplate!;
  assert.ok(jobTemplate.description, 'spec.jobTemplate has no description');
  assert.ok(text.includes(squash(jobTemplate.description)), 'the jobTemplate description is not shown');
  for (const [field, schema] of Object.entries(jobTemplate.properties ?? {})) {
    assert.ok(schema.description, `spec.jobTemplate.${field} has no description`);
    assert.ok(text.includes(`${field} <`), `field ${field} not listed`);
    assert.ok(text.includes(squash(schema.description)), `description of ${field} not shown`);
  }
});

test('kubectl get d2job shows the printer columns with the status values', async () => {
  const columns = served.additionalPrinterColumns ?? [];
  assert.ok(columns.length > 0, 'the CRD has no printer columns');
  ok(await applyJob(job('columns')));
  const status = sampleStatus();
  const patch = await cp.kubectl([
    'patch',
    'd2job',
    'columns',
    '-n',
    NS,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status }),
  ]);
  ok(patch);
  const live = JSON.parse(
    (await cp.kubectl(['get', 'd2job', 'columns', '-n', NS, '-o', 'json'])).stdout,
  ) as Job;
  const table = await cp.kubectl(['get', 'd2job', 'columns', '-n', NS, '-o', 'wide']);
  ok(table);
  const row = parseTable(table.stdout);
  assert.equal(row.get('NAME'), 'columns');
  for (const column of columns) {
    const header = column.name.toUpperCase();
    assert.ok(row.has(header), `column ${column.name} missing from: ${table.stdout}`);
    const expected = valueAt(live, column.jsonPath);
    if (column.type === 'date') {
      assert.match(row.get(header)!, expected === undefined ? /^(<unknown>)?$/ : /^\d+[smhdy]/);
      continue;
    }
    assert.equal(row.get(header), expected === undefined ? '' : String(expected), column.jsonPath);
  }
});

test('server-side apply records the field manager in managedFields', async () => {
  ok(await applyJob(job('managed'), 'gitops-sync'));
  const got = await cp.kubectl(['get', 'd2job', 'managed', '-n', NS, '--show-managed-fields', '-o', 'json']);
  ok(got);
  const { metadata } = JSON.parse(got.stdout) as {
    metadata: { managedFields: { manager: string; operation: string; fieldsV1: Record<string, unknown> }[] };
  };
  const entry = metadata.managedFields.find((f) => f.manager === 'gitops-sync');
  assert.equal(entry?.operation, 'Apply');
  const spec = entry.fieldsV1['f:spec'] as Record<string, unknown>;
  assert.ok(spec['f:jobTemplate'], 'the manager does not own spec.jobTemplate');
});

function sampleStatus(): Record<string, unknown> {
  return {
    state: 'Running',
    subState: 'RUNNING',
    batchJob: { name: 'projects/p/locations/us-central1/jobs/columns-3f9c2a1b', uid: 'u-1' },
    tasks: { total: 4, pending: 1, running: 1, succeeded: 2, failed: 0 },
    jobInfo: { wallclockTime: '4m10s' },
  };
}

/** A minimal JSONPath reader for printer columns: `.a.b.c` and `.a[0].b`. */
function valueAt(obj: unknown, path: string): unknown {
  let value: unknown = obj;
  for (const part of path
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter(Boolean)) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.ya?ml$/.test(file))
    .sort()
    .map((file) => join(dir, file));
}
