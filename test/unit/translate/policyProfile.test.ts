// Where and as whom a profile's jobs run, what it adds to every request, how a profile's own faults are
// reported (checkProfile, and a translation under a broken profile), and that a template without a profile
// translates exactly as before.
import { readFileSync } from 'node:fs';
import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import type { BatchProfileSpec } from '../../../src/api/batchProfile.js';
import type { Drmaa2JobSpec } from '../../../src/api/drmaa2job.js';
import { checkProfile, profileTarget, translateSpec } from '../../../src/translate/index.js';
import { GOLDEN_CASES, GOLDEN_CONTEXT } from './goldenCases.js';
import { busybox, ctx } from './helpers.js';
import { accepted, judge, minimal, under } from './policyHelpers.js';

describe('placement', () => {
  it("the profile's project and location make the parent; the session defaults to its name", () => {
    const [request] = accepted({}, {}).requests;
    assert.equal(request!.parent, 'projects/team-a-project/locations/europe-west4');
    assert.equal(request!.job.labels!.drmaa2session, 'team-a');
    assert.equal(request!.job.allocationPolicy!.labels!.drmaa2session, 'team-a');
    assert.deepEqual(profileTarget({ name: 'team-a', spec: minimal }), {
      project: 'team-a-project',
      location: 'europe-west4',
      session: 'team-a',
    });
  });

  it("an explicit session wins over the profile's name", () => {
    const [request] = accepted({}, { session: 'nightly' }).requests;
    assert.equal(request!.job.labels!.drmaa2session, 'nightly');
  });

  it('the job ID and request ID do not depend on the profile', () => {
    const plain = translateSpec({ jobTemplate: busybox } as Drmaa2JobSpec, ctx);
    assert.ok(plain.ok);
    const [request] = accepted({}, {}).requests;
    assert.equal(request!.jobId, plain.submission.requests[0]!.jobId);
    assert.equal(request!.requestId, plain.submission.requests[0]!.requestId);
  });
});

describe('applied to every request', () => {
  const full: Partial<BatchProfileSpec> = {
    serviceAccount: {
      email: 'batch@team-a-project.iam.gserviceaccount.com',
      scopes: ['https://www.googleapis.com/auth/cloud-platform'],
    },
    network: {
      network: 'global/networks/team-a',
      subnetwork: 'regions/europe-west4/subnetworks/jobs',
      noExternalIpAddress: true,
    },
    labels: { 'cost-center': 'cc-42', origin: 'forged', drmaa2session: 'forged', team: 'a' },
  };

  it('service account, network and labels; the controller’s own labels win on a clash', () => {
    const [request] = accepted({ accountingString: 'acct' }, full).requests;
    const allocation = request!.job.allocationPolicy!;
    assert.deepEqual(allocation.serviceAccount, full.serviceAccount);
    assert.deepEqual(allocation.network, {
      networkInterfaces: [
        {
          network: 'global/networks/team-a',
          subnetwork: 'regions/europe-west4/subnetworks/jobs',
          noExternalIpAddress: true,
        },
      ],
    });
    for (const labels of [request!.job.labels!, allocation.labels!]) {
      assert.equal(labels['cost-center'], 'cc-42');
      assert.equal(labels.team, 'a');
      assert.equal(labels.origin, 'drmaa2-batch-controller');
      assert.equal(labels.drmaa2session, 'team-a');
      assert.equal(labels.accounting, 'acct');
      assert.equal(labels['drmaa2-uid'], '6c1f1c52-9d7a-4f7e-8b5e-0a1b2c3d4e5f');
    }
  });

  it('a service account without scopes is sent without scopes; a partial network as given', () => {
    const [request] = accepted(
      {},
      {
        serviceAccount: { email: 'batch@team-a-project.iam.gserviceaccount.com' },
        network: { noExternalIpAddress: true },
      },
    ).requests;
    assert.deepEqual(request!.job.allocationPolicy!.serviceAccount, {
      email: 'batch@team-a-project.iam.gserviceaccount.com',
    });
    assert.deepEqual(request!.job.allocationPolicy!.network, {
      networkInterfaces: [{ noExternalIpAddress: true }],
    });
  });

  it('a profile without them adds none', () => {
    const [request] = accepted({}, {}).requests;
    assert.equal(request!.job.allocationPolicy!.serviceAccount, undefined);
    assert.equal(request!.job.allocationPolicy!.network, undefined);
  });

  it('every element job of a per-element array gets them, and keeps its own ID and TASK_ID', () => {
    const { requests } = accepted(
      { maxSlots: 2 },
      { ...full, limits: { defaultRunDuration: '1h' } },
      { array: { begin: 1, end: 3 } },
    );
    assert.equal(requests.length, 3);
    assert.deepEqual(
      requests.map((r) => r.job.taskGroups![0]!.taskSpec!.environment!.variables!.TASK_ID),
      ['1', '2', '3'],
    );
    assert.equal(new Set(requests.map((r) => r.jobId)).size, 3);
    for (const r of requests) {
      assert.deepEqual(r.job.allocationPolicy!.serviceAccount, full.serviceAccount);
      assert.equal(r.job.labels!['cost-center'], 'cc-42');
      assert.equal(r.job.taskGroups![0]!.taskSpec!.maxRunDuration, '3600s');
    }
  });
});

describe('a template without a profile translates exactly as before', () => {
  for (const [name, spec] of Object.entries(GOLDEN_CASES)) {
    it(`${name}: the golden file, unchanged`, () => {
      const result = translateSpec(spec, GOLDEN_CONTEXT);
      assert.ok(result.ok);
      const golden = readFileSync(new URL(`golden/${name}.json`, import.meta.url), 'utf8');
      assert.equal(`${JSON.stringify(result.submission, null, 2)}\n`, golden);
    });

    it(`${name}: a privileged profile that only names the same place changes nothing`, () => {
      const plain = translateSpec(spec, GOLDEN_CONTEXT);
      const profiled = translateSpec(spec, {
        ...GOLDEN_CONTEXT,
        profile: {
          name: 'golden',
          spec: {
            project: 'golden-project',
            location: 'us-central1',
            session: 'testsession',
            securityLevel: 'privileged',
          },
        },
      });
      assert.deepEqual(profiled, plain);
    });
  }
});

describe('a profile that is itself invalid', () => {
  it("is a PolicyViolation at the profile's field, not the tenant's", () => {
    const result = judge({ jobTemplate: busybox }, { labels: { Team: 'a', ok: 'Not-OK' } });
    assert.ok(!result.ok);
    assert.equal(result.reason, 'PolicyViolation');
    assert.deepEqual(
      result.errors.map((e) => e.path),
      ['profile.labels.Team', 'profile.labels.ok'],
    );
  });

  it("comes after the spec's own errors, which are judged under the context's placement", () => {
    const result = judge({ jobTemplate: { ...busybox, minSlots: 3, maxSlots: 2 } }, { project: 'x' });
    assert.ok(!result.ok);
    assert.equal(result.reason, 'InvalidSpec');
    assert.deepEqual(
      result.errors.map((e) => e.path),
      ['spec.jobTemplate.minSlots'],
    );
  });

  it("a profile name that cannot be the default session is the profile's fault", () => {
    const result = judge({ jobTemplate: busybox }, {}, 'team.a');
    assert.ok(!result.ok);
    assert.equal(result.reason, 'PolicyViolation');
    assert.deepEqual(
      result.errors.map((e) => e.path),
      ['profile.session'],
    );
    assert.ok(
      translateSpec({ jobTemplate: busybox } as Drmaa2JobSpec, under({ session: 'team-a' }, 'team.a')).ok,
    );
  });
});

describe('checkProfile', () => {
  it('a minimal and a full profile are valid', () => {
    assert.deepEqual(checkProfile(minimal), []);
    assert.deepEqual(
      checkProfile({
        ...minimal,
        namespaceSelector: {
          matchLabels: { team: 'a' },
          matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }],
        },
        default: true,
        project: 'example.com:team-a-project',
        session: 'team_a',
        serviceAccount: {
          email: 'batch@team-a-project.iam.gserviceaccount.com',
          scopes: ['https://www.googleapis.com/auth/cloud-platform'],
        },
        impersonate: {
          serviceAccount: 'caller@team-a-project.iam.gserviceaccount.com',
          delegates: ['hop@platform-project.iam.gserviceaccount.com'],
        },
        network: {
          network: 'projects/team-a-project/global/networks/vpc',
          subnetwork:
            'https://www.googleapis.com/compute/v1/projects/team-a-project/regions/europe-west4/subnetworks/jobs',
          noExternalIpAddress: true,
        },
        labels: { 'cost-center': 'cc-42', empty: '' },
        securityLevel: 'baseline',
        allowed: {
          machineTypes: ['e2-*', 'n2-standard-8'],
          accelerators: ['nvidia-*'],
          instanceTemplates: ['projects/team-a-project/global/instanceTemplates/gpu'],
          reservations: ['res-*'],
          buckets: [
            { name: 'team-a-*', access: 'ReadWrite', create: true },
            { name: 'refs', access: 'ReadOnly' },
          ],
          nfsServers: ['10.0.0.2', 'filer.team-a'],
          secretPrefixes: ['projects/team-a-project/secrets/', 'projects/*/secrets/team-a-'],
          deletionPolicies: ['Delete'],
        },
        limits: {
          tasks: 100,
          parallelism: 10,
          arrayElements: 1000,
          maxRunDuration: '24h',
          defaultRunDuration: '24h',
          bootDiskGiB: 100,
          cpuMilliPerTask: 8000,
          memoryMiBPerTask: 32768,
          priority: { min: 0, max: 99 },
        },
      }),
      [],
    );
  });

  const CASES: [string, Record<string, unknown>, string[]][] = [
    ['not an object', null as unknown as Record<string, unknown>, ['spec']],
    ['a list, not an object', [] as unknown as Record<string, unknown>, ['spec']],
    ['an empty project', { project: '' }, ['spec.project']],
    ['a project with capitals', { project: 'Team-A-Project' }, ['spec.project']],
    ['a project too short', { project: 'ab' }, ['spec.project']],
    ['a location that is no region', { location: 'europe' }, ['spec.location']],
    ['an empty location', { location: '' }, ['spec.location']],
    ['a session that is no label value', { session: 'Team A' }, ['spec.session']],
    ['an empty session', { session: '' }, ['spec.session']],
    [
      'an e-mail that is no service account',
      { serviceAccount: { email: 'me@example.com' } },
      ['spec.serviceAccount.email'],
    ],
    [
      'a scope that is no OAuth scope',
      { serviceAccount: { email: 'a@p-123456.iam.gserviceaccount.com', scopes: ['cloud-platform'] } },
      ['spec.serviceAccount.scopes[0]'],
    ],
    ['impersonate that is no object', { impersonate: 'caller' }, ['spec.impersonate']],
    [
      'an impersonated account that is no service account',
      { impersonate: { serviceAccount: 'me@example.com' } },
      ['spec.impersonate.serviceAccount'],
    ],
    ['impersonate without its account', { impersonate: {} }, ['spec.impersonate.serviceAccount']],
    [
      'a delegate that is no service account',
      {
        impersonate: {
          serviceAccount: 'a@p-123456.iam.gserviceaccount.com',
          delegates: ['b@p-123456.iam.gserviceaccount.com', 'root'],
        },
      },
      ['spec.impersonate.delegates[1]'],
    ],
    [
      'a delegation chain over 10',
      {
        impersonate: {
          serviceAccount: 'a@p-123456.iam.gserviceaccount.com',
          delegates: Array.from({ length: 11 }, (_, i) => `d${i}@p-123456.iam.gserviceaccount.com`),
        },
      },
      ['spec.impersonate.delegates'],
    ],
    ['a network that is no network', { network: { network: 'vpc' } }, ['spec.network.network']],
    [
      'a subnetwork of another region',
      { network: { subnetwork: 'regions/us-central1/subnetworks/jobs' } },
      ['spec.network.subnetwork'],
    ],
    ['a label key with capitals', { labels: { Team: 'a' } }, ['spec.labels.Team']],
    ['a label value with capitals', { labels: { team: 'A' } }, ['spec.labels.team']],
    ['a reserved label key', { labels: { 'goog-x': 'a' } }, ['spec.labels.goog-x']],
    [
      'too many labels',
      { labels: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`l${i}`, 'v'])) },
      ['spec.labels'],
    ],
    ['an unknown security level', { securityLevel: 'root' }, ['spec.securityLevel']],
    [
      'a machine-type pattern with capitals',
      { allowed: { machineTypes: ['E2-*'] } },
      ['spec.allowed.machineTypes[0]'],
    ],
    ['an empty pattern', { allowed: { accelerators: [''] } }, ['spec.allowed.accelerators[0]']],
    [
      'a pattern with white space',
      { allowed: { reservations: ['res 1'] } },
      ['spec.allowed.reservations[0]'],
    ],
    ['a list that is no list', { allowed: { nfsServers: 'filer' } }, ['spec.allowed.nfsServers']],
    [
      'too many bucket rules',
      { allowed: { buckets: Array.from({ length: 65 }, (_, i) => ({ name: `b${i}`, access: 'ReadOnly' })) } },
      ['spec.allowed.buckets'],
    ],
    [
      'too many entries',
      { allowed: { machineTypes: Array.from({ length: 65 }, (_, i) => `m${i}`) } },
      ['spec.allowed.machineTypes'],
    ],
    [
      'a secret prefix outside projects/',
      { allowed: { secretPrefixes: ['secrets/'] } },
      ['spec.allowed.secretPrefixes[0]'],
    ],
    [
      'a secret prefix that ends inside the project ID',
      { allowed: { secretPrefixes: ['projects/team-a'] } },
      ['spec.allowed.secretPrefixes[0]'],
    ],
    [
      'a bucket pattern with capitals',
      { allowed: { buckets: [{ name: 'Team', access: 'ReadOnly' }] } },
      ['spec.allowed.buckets[0].name'],
    ],
    [
      'a bucket rule without access',
      { allowed: { buckets: [{ name: 'team' }] } },
      ['spec.allowed.buckets[0].access'],
    ],
    [
      'a ReadOnly bucket that may be created',
      { allowed: { buckets: [{ name: 'team', access: 'ReadOnly', create: true }] } },
      ['spec.allowed.buckets[0].create'],
    ],
    [
      'an unknown deletion policy',
      { allowed: { deletionPolicies: ['Keep'] } },
      ['spec.allowed.deletionPolicies[0]'],
    ],
    ['a limit of 0', { limits: { tasks: 0 } }, ['spec.limits.tasks']],
    ['a negative limit', { limits: { parallelism: -1 } }, ['spec.limits.parallelism']],
    ['a fractional limit', { limits: { cpuMilliPerTask: 1.5 } }, ['spec.limits.cpuMilliPerTask']],
    ['a limit above the schema', { limits: { bootDiskGiB: 65537 } }, ['spec.limits.bootDiskGiB']],
    [
      'a duration that does not parse',
      { limits: { maxRunDuration: '1 day' } },
      ['spec.limits.maxRunDuration'],
    ],
    ['a zero duration', { limits: { defaultRunDuration: '0s' } }, ['spec.limits.defaultRunDuration']],
    [
      'a default run duration above the maximum',
      { limits: { maxRunDuration: '1h', defaultRunDuration: '61m' } },
      ['spec.limits.defaultRunDuration'],
    ],
    ['a priority above 99', { limits: { priority: { max: 100 } } }, ['spec.limits.priority.max']],
    ['a negative priority', { limits: { priority: { min: -1 } } }, ['spec.limits.priority.min']],
    [
      'a priority range upside down',
      { limits: { priority: { min: 50, max: 40 } } },
      ['spec.limits.priority'],
    ],
    [
      'a selector operator that does not exist',
      { namespaceSelector: { matchExpressions: [{ key: 'a', operator: 'Is' }] } },
      ['spec.namespaceSelector.matchExpressions[0].operator'],
    ],
    [
      'In without values',
      { namespaceSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] } },
      ['spec.namespaceSelector.matchExpressions[0].values'],
    ],
    [
      'Exists with values',
      { namespaceSelector: { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] } },
      ['spec.namespaceSelector.matchExpressions[0].values'],
    ],
  ];

  it.each(CASES)('%s', (_name, change, paths) => {
    const spec = (
      change === null || Array.isArray(change) ? change : { ...minimal, ...change }
    ) as BatchProfileSpec;
    assert.deepEqual(
      checkProfile(spec).map((e) => e.path),
      paths,
    );
  });

  it('boundaries of the limits are valid', () => {
    assert.deepEqual(
      checkProfile({
        ...minimal,
        limits: {
          tasks: 1,
          parallelism: 100000,
          bootDiskGiB: 65536,
          maxRunDuration: '1h',
          defaultRunDuration: '60m',
          priority: { min: 7, max: 7 },
        },
      }),
      [],
    );
  });

  it('the name is checked as the default session only when given, and only without a session', () => {
    assert.deepEqual(
      checkProfile(minimal, { name: 'team.a' }).map((e) => e.path),
      ['spec.session'],
    );
    assert.deepEqual(checkProfile({ ...minimal, session: 'a' }, { name: 'team.a' }), []);
    assert.deepEqual(checkProfile(minimal, { name: 'team-a' }), []);
  });

  it('a basePath prefixes every path', () => {
    assert.deepEqual(
      checkProfile({ ...minimal, project: '' }, { basePath: 'profile' }).map((e) => e.path),
      ['profile.project'],
    );
  });

  it('messages say what is expected', () => {
    assert.deepEqual(
      checkProfile({ ...minimal, limits: { maxRunDuration: '1h', defaultRunDuration: '2h' } }),
      [
        {
          path: 'spec.limits.defaultRunDuration',
          message: 'must not exceed limits.maxRunDuration (1h), got 2h',
        },
      ],
    );
  });
});
