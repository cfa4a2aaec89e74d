// The fuzzer's manifests: valid Drmaa2Job specs, near-valid ones with one to three faults at known places,
// and garbage. Only harmless commands are generated: the emulator executes script jobs as local processes.
import fc from 'fast-check';

export type Json = unknown;
type Mutation = [path: readonly string[], value: Json];

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
      // Past the CEL limit: within it, this would be a valid 100,000-task job that the emulator really runs.
      fc.constant({ begin: 1, end: 200_000 }),
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

export type Kind = 'valid' | 'near-valid' | 'garbage';
const garbageSpec = fc.oneof(
  fc.anything({ maxDepth: 3, maxKeys: 4 }),
  fc.record({ jobTemplate: fc.anything({ maxDepth: 2, maxKeys: 4 }) }),
);
export const manifestCase: fc.Arbitrary<{ kind: Kind; spec: Json }> = fc.oneof(
  { arbitrary: validTemplate.map((t) => ({ kind: 'valid' as Kind, spec: { jobTemplate: t } })), weight: 3 },
  {
    arbitrary: fc
      .tuple(validTemplate, fc.array(mutation, { minLength: 1, maxLength: 3 }))
      .map(([t, m]) => ({ kind: 'near-valid' as Kind, spec: withMutations(t, m) })),
    weight: 6,
  },
  { arbitrary: garbageSpec.map((spec) => ({ kind: 'garbage' as Kind, spec })), weight: 1 },
);
