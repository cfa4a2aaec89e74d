// Bad input, fuzzed: fast-check makes Drmaa2Job manifests — valid, near-valid (one to three faults: wrong
// types, huge strings, unicode, negative slots, bad URIs, bad extensions, 10,000-entry maps) and garbage —
// and each goes to the real API server. It is either refused with a message naming the field, or accepted and
// driven to an end (Failed/InvalidSpec with the field's path where only the controller can tell). The
// controller never crashes, never loops on one object, never calls Batch for an invalid one, and the good
// jobs applied after the poison still finish.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ControllerProcess } from '../support/controllerProcess.js';
import { startPeers, type Peers } from '../support/startPeers.js';
import {
  applyAll,
  controllerFor,
  CreatedJobs,
  eventually,
  finished,
  jobManifest,
  listJobs,
  size,
} from './support.js';

const NS = 'fuzz';
const CASES = size('RELIABILITY_FUZZ_CASES', 120);
const SEED = size('RELIABILITY_FUZZ_SEED', 20261124);
/** Reconciles one object may take: a few state changes, conflicts and the end; never a loop. */
const MAX_RECONCILES_PER_OBJECT = 25;

type Json = unknown;
type Mutation = [path: readonly string[], value: Json];

// Only harmless commands run: the emulator executes script jobs as local processes.
const safeCommand = fc.constantFrom('true', 'exit 1', 'echo fuzz', 'sleep 0.2');
const validTemplate = fc.record(
  {
    remoteCommand: safeCommand,
    jobCategory: fc.constantFrom('$script$', 'busybox', 'ubuntu:24.04'),
    candidateMachines: fc.constantFrom(
      ['e2-standard-2'],
      ['n2-custom-4-8192'],
      ['e2-standard-4', 'e2-highmem-2'],
    ),
    minSlots: fc.constantFrom(1, 1, 2),
    jobEnvironment: fc.dictionary(fc.constantFrom('A', 'B', 'C'), fc.string({ maxLength: 8 }), {
      maxKeys: 3,
    }),
    accountingString: fc.constantFrom('team-a', 'lab_7'),
    extension: fc.constantFrom({}, { extensionList: { spot: 'true' } }),
  },
  { requiredKeys: ['remoteCommand', 'jobCategory', 'candidateMachines'] },
);

const unicode = fc.string({ unit: 'binary', minLength: 1, maxLength: 40 });
const huge = fc.integer({ min: 100_000, max: 400_000 }).map((n) => 'x'.repeat(n));
const bigMap = fc.constant(
  Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`K${i}`, String(i)])),
);
const wrongType = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.constant({ a: 1 }),
);

/** One fault at a known place. */
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(
    fc.constant(['jobTemplate', 'minSlots']),
    fc.oneof(fc.integer({ min: -5, max: 0 }), wrongType, fc.constant(1e12)),
  ),
  fc.tuple(fc.constant(['jobTemplate', 'maxSlots']), fc.oneof(fc.integer({ min: -3, max: 0 }), wrongType)),
  fc.tuple(
    fc.constant(['jobTemplate', 'remoteCommand']),
    fc.oneof(
      wrongType,
      huge.map((s) => `: ${s}`),
    ),
  ),
  fc.tuple(fc.constant(['jobTemplate', 'jobName']), fc.oneof(unicode, huge, wrongType)),
  fc.tuple(fc.constant(['jobTemplate', 'accountingString']), fc.oneof(unicode, wrongType)),
  fc.tuple(
    fc.constant(['jobTemplate', 'candidateMachines']),
    fc.oneof(
      fc.constant([]),
      fc.constant(['template:']),
      unicode.map((s) => [s]),
      wrongType,
    ),
  ),
  fc.tuple(
    fc.constant(['jobTemplate', 'stageInFiles']),
    fc.oneof(
      fc.dictionary(
        fc.constantFrom('/a', 'rel', ''),
        fc.constantFrom('ftp://x/y', 'gs://', 'nfs:h', 'b64data:%%', 'gs://b/o'),
        { minKeys: 1, maxKeys: 2 },
      ),
      wrongType,
    ),
  ),
  fc.tuple(
    fc.constant(['jobTemplate', 'stageOutFiles']),
    fc.dictionary(fc.constantFrom('/o', 'x'), fc.constantFrom('s3://b', 'gs://UPPER/x', ''), {
      minKeys: 1,
      maxKeys: 2,
    }),
  ),
  fc.tuple(
    fc.constant(['jobTemplate', 'extension']),
    fc.oneof(
      fc.record({ extensionList: fc.record({ spot: fc.constantFrom('maybe', '2', '') }) }),
      fc.record({ extensionList: fc.record({ tasks_per_node: fc.constantFrom('0', '-1', 'x', '1.5') }) }),
      fc.record({ extensionList: fc.record({ accelerators: fc.constantFrom('lots', '0*gpu', '*', '1*') }) }),
      fc.record({ extensionList: fc.record({ secret_env: fc.constantFrom('%%', 'WzFd', 'bm8=') }) }),
      fc.record({ extensionList: fc.dictionary(unicode, unicode, { maxKeys: 3 }) }),
      wrongType,
    ),
  ),
  fc.tuple(
    fc.constant(['jobTemplate', 'jobEnvironment']),
    fc.oneof(bigMap, fc.dictionary(unicode, unicode, { maxKeys: 3 }), wrongType),
  ),
  fc.tuple(
    fc.constant(['jobTemplate', 'resourceLimits']),
    fc.dictionary(
      fc.constantFrom('runtime', 'cpumilli', 'memory', 'bogus'),
      fc.constantFrom('-1', '2d', 'x', '0s', '10G'),
      { minKeys: 1, maxKeys: 2 },
    ),
  ),
  fc.tuple(
    fc.constant(['jobTemplate', 'startTime']),
    fc.oneof(fc.constantFrom('soon', '2020-01-01T00:00:00Z', '31/12/2025'), wrongType),
  ),
  fc.tuple(
    fc.constant(['jobTemplate', 'priority']),
    fc.oneof(fc.integer({ min: -1000, max: 5000 }), wrongType),
  ),
  fc.tuple(
    fc.constant(['array']),
    fc.oneof(
      fc.record({ begin: fc.integer({ min: -3, max: 5 }), end: fc.integer({ min: -3, max: 5 }) }),
      fc.constant({ begin: 1, end: 100_000 }),
      fc.constant({ begin: 1, end: 4, step: 0 }),
      wrongType,
    ),
  ),
  fc.tuple(fc.constant(['deletionPolicy']), fc.oneof(fc.constantFrom('Sometimes', 'delete', ''), wrongType)),
  fc.tuple(fc.constant(['ttlSecondsAfterFinished']), fc.oneof(fc.integer({ min: -100, max: -1 }), wrongType)),
  fc.tuple(fc.constant(['unknownField']), fc.constant('surprise')),
  fc.tuple(fc.constant(['jobTemplate', 'notAField']), unicode),
);

function withMutations(template: Record<string, unknown>, mutations: Mutation[]): Record<string, unknown> {
  const spec: Record<string, unknown> = { jobTemplate: structuredClone(template) };
  for (const [path, value] of mutations) {
    let at: Record<string, unknown> = spec;
    for (const key of path.slice(0, -1)) at = (at[key] ??= {}) as Record<string, unknown>;
    at[path.at(-1)!] = value;
  }
  return spec;
}

type Kind = 'valid' | 'near-valid' | 'garbage';
const garbageSpec = fc.oneof(
  fc.anything({ maxDepth: 3, maxKeys: 4 }),
  fc.record({ jobTemplate: fc.anything({ maxDepth: 2, maxKeys: 4 }) }),
);
const manifestCase: fc.Arbitrary<{ kind: Kind; spec: Json }> = fc.oneof(
  { arbitrary: validTemplate.map((t) => ({ kind: 'valid' as Kind, spec: { jobTemplate: t } })), weight: 3 },
  {
    arbitrary: fc
      .tuple(validTemplate, fc.array(mutation, { minLength: 1, maxLength: 3 }))
      .map(([t, m]) => ({ kind: 'near-valid' as Kind, spec: withMutations(t, m) })),
    weight: 6,
  },
  { arbitrary: garbageSpec.map((spec) => ({ kind: 'garbage' as Kind, spec })), weight: 1 },
);

let peers: Peers;
let controller: ControllerProcess | undefined;

before(async () => {
  // Container jobs are simulated: fuzzed commands and images never run on this machine.
  peers = await startPeers({ emulator: { containers: 'simulate' } });
  assert.equal((await peers.controlPlane.kubectl(['create', 'namespace', NS])).code, 0);
});

after(async () => {
  await controller?.stop().catch(() => undefined);
  await peers?.stop();
});

/** A message names the field when it mentions `spec` or one of its paths (or the unknown field). */
const NAMES_A_FIELD = /\bspec(\.|\b)|unknown field "spec\.|\.jobTemplate|\.array|jobTemplate\./;

test(`${CASES} fuzzed manifests: refused with a field path, or driven to an end; the controller never wedges`, async () => {
  const created = new CreatedJobs(peers.emulator);
  controller = await controllerFor(peers, 'fuzz', ['--concurrency', '4']);
  const cases = fc.sample(manifestCase, { numRuns: CASES, seed: SEED });
  const accepted = new Map<string, { kind: Kind; spec: Json }>();
  const refusals: Record<Kind, number> = { valid: 0, 'near-valid': 0, garbage: 0 };
  for (const [i, c] of cases.entries()) {
    const name = `fuzz-${i}`;
    const manifest = {
      apiVersion: 'drmaa2.io/v1alpha1',
      kind: 'Drmaa2Job',
      metadata: { name, namespace: NS },
      spec: c.spec,
    };
    const r = await peers.controlPlane.kubectl(['create', '-f', '-'], { input: JSON.stringify(manifest) });
    if (r.code === 0) {
      accepted.set(name, c);
      continue;
    }
    refusals[c.kind]++;
    assert.notEqual(c.kind, 'valid', `a valid manifest was refused: ${r.stderr.slice(0, 500)}`);
    assert.match(
      r.stderr,
      NAMES_A_FIELD,
      `case ${i} (seed ${SEED}) refused without naming the field: ${r.stderr.slice(0, 500)}`,
    );
  }
  // Good jobs after the poison: they must not wait behind it.
  await applyAll(
    peers,
    Array.from({ length: 10 }, (_, i) => jobManifest(NS, `after-poison-${i}`)),
  );

  await eventually(
    'every accepted resource to end',
    async () => {
      const items = await listJobs(peers, NS);
      const open = items.filter((r) => !finished(r));
      return open.length === 0
        ? true
        : `${open.length} not finished, e.g. ${open[0]!.metadata.name} ${JSON.stringify(open[0]!.status?.conditions?.map((c) => [c.type, c.status, c.reason]))}`;
    },
    Math.max(240_000, CASES * 1000),
    2000,
  );

  const items = await listJobs(peers, NS);
  const byName = new Map(items.map((r) => [r.metadata.name, r]));
  let invalid = 0;
  for (const [name] of accepted) {
    const r = byName.get(name)!;
    const failed = r.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
    if (failed?.reason === 'InvalidSpec') {
      invalid++;
      assert.match(failed.message, NAMES_A_FIELD, `${name}: InvalidSpec names the field`);
      assert.equal(
        created.byUid.get(r.metadata.uid),
        undefined,
        `${name}: no Batch call for an invalid spec`,
      );
    }
  }
  for (let i = 0; i < 10; i++) assert.equal(byName.get(`after-poison-${i}`)?.status?.state, 'Done');
  const rejectedByBatch = peers.emulator
    .callLog()
    .filter((c) => c.method === 'CreateJob' && c.code === 'INVALID_ARGUMENT');
  assert.deepEqual(
    rejectedByBatch.map((c) => c.jobId),
    [],
    'the controller catches what Batch would refuse',
  );

  // Never a loop: the reconciles of each object stay few.
  const perKey = new Map<string, number>();
  for (const line of controller.logs()) {
    if (line.msg !== 'Reconciled' && line.msg !== 'Reconciled with an error') continue;
    perKey.set(String(line.key), (perKey.get(String(line.key)) ?? 0) + 1);
  }
  const worst = Math.max(...perKey.values());
  assert.ok(
    worst <= MAX_RECONCILES_PER_OBJECT,
    `at most ${MAX_RECONCILES_PER_OBJECT} reconciles per object, worst ${worst}`,
  );
  assert.equal(controller.exits().length, 0, 'the controller never exited');
  assert.deepEqual(
    controller.logs().filter((l) => l.level === 0 || l.level >= 60),
    [],
    'no crash output',
  );
  created.stop();
  console.log(
    `fuzz: ${CASES} manifests (seed ${SEED}); refused by the API server: ${refusals['near-valid']} near-valid, ${refusals.garbage} garbage; ` +
      `accepted ${accepted.size}, of which ${invalid} InvalidSpec with a path; worst reconciles per object ${worst}; 0 Batch calls for invalid specs`,
  );
});
