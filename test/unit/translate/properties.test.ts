// Random templates, valid or garbage: every translation is a set of requests Batch accepts, or a non-empty
// list of path-qualified errors; nothing throws, and the same input gives the same output.
import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { CreateJobRequest, Job } from '../../../src/api/batch.js';
import { BATCH_JOB_STATES } from '../../../src/api/batch.js';
import type { Drmaa2JobSpec } from '../../../src/api/drmaa2job.js';
import {
  jobInfoOf,
  jobStateOf,
  translateSpec,
  validateSpec,
  type SubmitContext,
} from '../../../src/translate/index.js';

const JOB_ID = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

const garbage = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(fc.string({ maxLength: 4 }), fc.integer()), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.oneof(fc.string({ maxLength: 4 }), fc.integer()), {
    maxKeys: 2,
  }),
);
/** Mostly the good value, now and then a value of any type: most templates translate, many do not. */
const or = <T>(good: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: good, weight: 100 }, { arbitrary: garbage, weight: 1 });
const sometimes = <T>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: good, weight: 30 }, { arbitrary: bad, weight: 1 });

const extensionList = fc.record(
  {
    spot: sometimes(fc.constantFrom('true', 'false', 'T', '0'), fc.string({ maxLength: 4 })),
    accelerators: sometimes(
      fc.constantFrom('1*nvidia-tesla-t4', '2*nvidia-l4', '4*ct5lp'),
      fc.string({ maxLength: 4 }),
    ),
    tasks_per_node: sometimes(fc.constantFrom('1', '2', '8'), fc.constantFrom('0', 'x', '-1')),
    prolog: fc.string({ maxLength: 10 }),
    epilog: fc.string({ maxLength: 10 }),
    docker_options: fc.constantFrom('', '--shm-size=1g'),
    secret_env: sometimes(fc.constantFrom('e30=', 'eyJBIjoicCJ9'), fc.constantFrom('%%', 'WzFd', 'bm8=')),
    colour: fc.string({ maxLength: 4 }),
  },
  { requiredKeys: [] },
);
const paths = sometimes(fc.constantFrom('/a', '/b', '/a/b', '/c', '/d/e'), fc.constantFrom('rel', ''));
const staged = fc.dictionary(
  paths,
  sometimes(
    fc.constantFrom(
      'gs://bucket-one',
      'gs://bucket-two/p',
      'gs://bucket-one/q/',
      'gs://bucket-four',
      'nfs:h:/p/',
    ),
    fc.constantFrom('gs://x', 'ftp://z', 'nfs:h', 'b64data:aGk=', 'nfs:h:/p/f', 'localhost:/l'),
  ),
  { maxKeys: 3 },
);
const stagedOut = fc.dictionary(
  paths,
  sometimes(
    fc.constantFrom('gs://bucket-one', 'gs://bucket-three/out', 'gs://bucket-two/p'),
    fc.constant('nfs:h:/o/'),
  ),
  { maxKeys: 2 },
);
const machines = sometimes<string[]>(
  fc.array(fc.constantFrom('e2-standard-4', 'n2-custom-4-8192', 'template:t', 'a2-highgpu-1g'), {
    minLength: 1,
    maxLength: 2,
  }),
  fc.constantFrom([], ['template:']),
);

const template = fc.record(
  {
    remoteCommand: or(fc.string({ maxLength: 10 })),
    args: or(fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 })),
    jobCategory: or(
      sometimes(fc.constantFrom('$script$', '$scriptpath$', 'busybox', 'ubuntu:24.04'), fc.constant('')),
    ),
    candidateMachines: or(machines),
    minSlots: or(sometimes(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 2, max: 5 }))),
    maxSlots: or(fc.integer({ min: 0, max: 5 })),
    priority: or(sometimes(fc.integer({ min: 0, max: 99 }), fc.integer({ min: 100, max: 200 }))),
    minPhysMemory: or(fc.integer({ min: 0, max: 1 << 20 })),
    jobName: or(
      sometimes(fc.stringMatching(/^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/), fc.string({ maxLength: 8 })),
    ),
    accountingString: or(sometimes(fc.stringMatching(/^[a-z0-9_-]{0,63}$/), fc.string({ maxLength: 8 }))),
    jobEnvironment: or(fc.dictionary(fc.constantFrom('A', 'B', 'TASK_ID'), fc.string({ maxLength: 4 }))),
    outputPath: or(fc.constant('/out')),
    errorPath: or(sometimes(fc.constant('/out'), fc.constant('/err'))),
    machineArch: or(fc.constantFrom('Intel Ice Lake', '')),
    reservationID: or(fc.constantFrom('res-1', '')),
    queueName: or(fc.constantFrom('q', '')),
    startTime: or(sometimes(fc.constant('2030-01-01T00:00:00Z'), fc.constant('soon'))),
    resourceLimits: or(
      fc.record(
        {
          runtime: sometimes(fc.constantFrom('30m', '1h2m3.5s', '250ms'), fc.constantFrom('0s', '5', '2d')),
          bootdiskmib: sometimes(fc.constantFrom('10000', '51200'), fc.constantFrom('0', 'x')),
          cpumilli: sometimes(fc.constantFrom('500', '4000'), fc.constantFrom('-1', '1.5')),
          memory: fc.constant('4G'),
        },
        { requiredKeys: [] },
      ),
    ),
    extension: or(fc.record({ extensionList: or(extensionList) }, { requiredKeys: [] })),
    stageInFiles: or(staged),
    stageOutFiles: or(stagedOut),
  },
  { requiredKeys: ['jobCategory', 'candidateMachines'] },
);
const withStray = fc
  .tuple(template, sometimes(fc.constant(''), fc.string({ minLength: 1, maxLength: 3 })))
  .map(([t, stray]) => (stray === '' ? t : { ...t, [`x${stray}`]: stray }));
const array = fc
  .record(
    {
      begin: fc.integer({ min: -5, max: 5 }),
      length: sometimes(fc.integer({ min: 0, max: 30 }), fc.integer({ min: -3, max: -1 })),
      step: sometimes(fc.integer({ min: 1, max: 4 }), fc.integer({ min: -1, max: 0 })),
      maxParallel: sometimes(fc.integer({ min: 1, max: 8 }), fc.constant(0)),
    },
    { requiredKeys: ['begin', 'length'] },
  )
  .map(({ length, ...rest }) => ({ ...rest, end: rest.begin + length }));
const looseArray = sometimes<unknown>(array, fc.record({ begin: garbage, end: garbage }));
const spec = fc.oneof(
  {
    arbitrary: fc.record({ jobTemplate: withStray, array: fc.option(looseArray, { nil: undefined }) }),
    weight: 20,
  },
  { arbitrary: fc.record({ jobTemplate: garbage }), weight: 1 },
  { arbitrary: fc.anything({ maxDepth: 2 }), weight: 1 },
);
const context: fc.Arbitrary<SubmitContext> = fc.record({
  project: fc.constant('p'),
  location: fc.constant('l'),
  session: sometimes(fc.stringMatching(/^[a-z0-9_-]{0,12}$/), fc.string({ maxLength: 6 })),
  owner: fc.option(
    fc.record({
      namespace: fc.string({ maxLength: 70 }),
      name: fc.string({ maxLength: 90 }),
      uid: fc.uuid(),
    }),
    { nil: undefined },
  ),
  now: fc.constant(new Date('2025-06-01T00:00:00Z')),
  nonce: fc.integer({ min: 0, max: 9999 }),
});

function checkLabels(labels: Record<string, string> | undefined): void {
  const entries = Object.entries(labels ?? {});
  assert.ok(entries.length <= 64);
  for (const [key, value] of entries) {
    assert.match(key, LABEL_KEY);
    assert.match(value, LABEL_VALUE, `${key}=${value}`);
  }
}

function checkRequest(r: CreateJobRequest, ctx: SubmitContext): void {
  assert.match(r.jobId, JOB_ID);
  assert.equal(r.parent, 'projects/p/locations/l');
  checkLabels(r.job.labels);
  checkLabels(r.job.allocationPolicy?.labels);
  if (ctx.owner) {
    assert.match(r.requestId!, UUID);
    assert.notEqual(r.requestId, ZERO_UUID);
    assert.equal(r.job.labels!['drmaa2-uid'], ctx.owner.uid);
  }
  assert.equal(r.job.taskGroups!.length, 1);
  const g = r.job.taskGroups![0]!;
  assert.ok(g.taskCount! >= 1 && g.parallelism! >= 1 && g.parallelism! <= g.taskCount!);
  if (g.taskSpec!.runnables!.some((x) => x.barrier)) assert.equal(g.parallelism, g.taskCount);
  if (g.taskEnvironments) assert.equal(g.taskEnvironments.length, g.taskCount);
  assert.equal(
    g.taskSpec!.runnables!.filter((x) => x.container || x.script?.path !== undefined).length <= 1,
    true,
  );
  const priority = r.job.priority ?? 0;
  assert.ok(priority >= 0 && priority <= 99);
  const mounts = (g.taskSpec!.volumes ?? []).map((v) => v.mountPath);
  assert.equal(new Set(mounts).size, mounts.length, 'no mount path twice');
}

describe('translation properties', () => {
  it('every output satisfies Batch constraints, or is a path-qualified error list; nothing throws', () => {
    const seen = { ok: 0, errors: 0, native: 0, perElement: 0 };
    fc.assert(
      fc.property(spec, context, (input, ctx) => {
        const result = translateSpec(input as Drmaa2JobSpec, ctx);
        assert.deepEqual(translateSpec(input as Drmaa2JobSpec, ctx), result, 'deterministic');
        seen[result.ok ? 'ok' : 'errors']++;
        if (!result.ok) {
          assert.ok(result.errors.length > 0);
          for (const e of result.errors) {
            assert.match(e.path, /^(spec|session)(\.|\[|$)/);
            assert.ok(e.message.length > 0);
          }
          return;
        }
        const { requests, buckets, array } = result.submission;
        if (array) seen[array.mode]++;
        assert.ok(requests.length >= 1);
        for (const r of requests) checkRequest(r, ctx);
        assert.equal(new Set(requests.map((r) => r.jobId)).size, requests.length, 'distinct job IDs');
        if (array?.mode === 'native')
          assert.equal(requests[0]!.job.taskGroups![0]!.taskCount, array.indexes.length);
        if (array?.mode === 'perElement') assert.equal(requests.length, array.indexes.length);
        const mounted = requests.flatMap((r) => r.job.taskGroups![0]!.taskSpec!.volumes ?? []);
        for (const bucket of buckets)
          assert.ok(mounted.some((v) => v.gcs?.remotePath?.split('/')[0] === bucket));
        if (LABEL_VALUE.test(ctx.session)) assert.deepEqual(validateSpec(input), []);
      }),
      { numRuns: 3000, seed: 20250601 },
    );
    // The generator must reach both outcomes and both array modes, or the property proves little.
    assert.ok(
      seen.ok >= 400 && seen.errors >= 400 && seen.native >= 100 && seen.perElement >= 100,
      JSON.stringify(seen),
    );
  });

  // validateSpec is what `drmaa2-batch translate` and the controller check a spec with before any submission
  // context exists: it must accept exactly the specs that translate under any valid context, and each of its
  // errors must name a field of the document it was given, under the base path it was given.
  it('validateSpec accepts exactly what translates in any context; its errors name fields of the input', () => {
    const seen = { valid: 0, invalid: 0 };
    fc.assert(
      fc.property(spec, context, (input, ctx) => {
        fc.pre(LABEL_VALUE.test(ctx.session));
        const errors = validateSpec(input);
        const result = translateSpec(input as Drmaa2JobSpec, ctx);
        assert.equal(
          errors.length === 0,
          result.ok,
          `validateSpec: ${JSON.stringify(errors)}; translateSpec: ${JSON.stringify(result.ok || result.errors)}`,
        );
        seen[errors.length === 0 ? 'valid' : 'invalid']++;
        for (const e of errors) {
          assert.ok(e.message.length > 0, `${e.path} has no message`);
          const missing = unresolved(input, e.path, 'spec');
          assert.ok(missing !== undefined, `${e.path} is not a path under spec`);
          assert.ok(missing.length <= 1, `${e.path}: ${missing.join('')} is not in the input`);
        }
        const elsewhere = validateSpec(input, 'items[2].spec');
        assert.deepEqual(
          elsewhere,
          errors.map((e) => ({ ...e, path: `items[2].spec${e.path.slice('spec'.length)}` })),
          'the same errors under another base path',
        );
      }),
      { numRuns: 1000, seed: 7 },
    );
    assert.ok(seen.valid >= 100 && seen.invalid >= 100, JSON.stringify(seen));
  });
});

/**
 * The part of an error path (`spec.jobTemplate.stageOutFiles["/a"]`) that is not in the input, as segments
 * (`.key`, `[0]`, `["key"]`); undefined when the path does not start with the base. A key may itself hold a
 * dot (a stray field): the longest key of the object the path goes on with is taken.
 */
function unresolved(input: unknown, path: string, base: string): string[] | undefined {
  if (path !== base && !path.startsWith(`${base}.`) && !path.startsWith(`${base}[`)) return undefined;
  let rest = path.slice(base.length);
  let node: unknown = input;
  while (rest !== '') {
    const object = node !== null && typeof node === 'object' ? (node as Record<string, unknown>) : undefined;
    let key: string | undefined;
    let length = 0;
    const bracket = /^\[(\d+|"(?:[^"\\]|\\.)*")\]/.exec(rest);
    if (bracket) {
      key = bracket[1]!.startsWith('"') ? (JSON.parse(bracket[1]!) as string) : bracket[1]!;
      length = bracket[0].length;
    } else if (rest.startsWith('.')) {
      key = Object.keys(object ?? {})
        .filter((k) => rest.startsWith(`.${k}`) && /^($|[.[])/.test(rest.slice(k.length + 1)))
        .sort((a, b) => b.length - a.length)[0];
      length = key === undefined ? 0 : key.length + 1;
    }
    if (key === undefined || object === undefined || !Object.hasOwn(object, key)) return segments(rest);
    node = object[key];
    rest = rest.slice(length);
  }
  return [];
}

/** `.a.b[0]["c"]` → ['.a', '.b', '[0]', '["c"]'] */
function segments(rest: string): string[] {
  return rest.match(/\.[^.[]*|\[(?:\d+|"(?:[^"\\]|\\.)*")\]/g) ?? [rest];
}

describe('Batch job properties', () => {
  const job: fc.Arbitrary<Job> = fc.record(
    {
      name: fc.string({ maxLength: 8 }),
      uid: fc.string({ maxLength: 8 }),
      createTime: fc.constant('2025-01-01T00:00:00Z'),
      labels: fc.dictionary(fc.constantFrom('accounting', 'drmaa2session'), fc.string({ maxLength: 4 })),
      taskGroups: fc.array(fc.record({ taskCount: fc.integer({ min: 0, max: 9 }) }, { requiredKeys: [] }), {
        maxLength: 2,
      }),
      status: fc.record(
        {
          state: fc.constantFrom(...BATCH_JOB_STATES),
          runDuration: fc.constantFrom('0s', '12.5s', 'bad', ''),
          statusEvents: fc.array(
            fc.record(
              {
                description: fc.constantFrom('from SCHEDULED to RUNNING', 'from RUNNING to FAILED', 'x'),
                eventTime: fc.constant('2025-01-01T00:00:01Z'),
                taskState: fc.constantFrom('FAILED' as const, 'SUCCEEDED' as const),
                taskExecution: fc.record(
                  { exitCode: fc.integer({ min: 0, max: 255 }) },
                  { requiredKeys: [] },
                ),
              },
              { requiredKeys: [] },
            ),
            { maxLength: 4 },
          ),
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: [] },
  );

  it('JobInfo and state exist for any job and agree with each other', () => {
    fc.assert(
      fc.property(job, (j) => {
        const info = jobInfoOf(j);
        const { state, subState } = jobStateOf(j);
        assert.equal(info.state, state);
        assert.equal(info.subState, subState);
        assert.equal(info.exitStatus !== 0, state === 'Failed');
        assert.match(info.wallclockTime!, /^(\d+h)?(\d+m)?[\d.]+(s|ms|µs|ns)$/);
      }),
      { numRuns: 1000, seed: 11 },
    );
  });
});
