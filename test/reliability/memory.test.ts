// The memory bomb: the largest Drmaa2Jobs the schema admits, many of them at once, against the controller
// as its own process with the shipped Deployment's heap (NODE_OPTIONS --max-old-space-size=128
// --max-semi-space-size=1). Per-element arrays of 100 indexes with a template of 262,144 characters, a
// native array of 100,000 indexes with the same text (more than Batch's 1 MB job definition: InvalidSpec
// naming spec.array, no Batch call), and N single jobs of 262,144 characters each, split across
// remoteCommand and jobEnvironment, half of them held (they stay in the cache). Small jobs keep flowing
// meanwhile and must all finish; the controller is restarted while every big object exists (its first list
// reads them all), then every big object is deleted. The controller never exits on its own, never logs an
// error or a crash, and its peak resident memory stays bounded.
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { LABEL_NAMESPACE, type Drmaa2Job, type Drmaa2JobStatus } from '../../src/api/drmaa2job.js';
import type { CallRecord } from '../../src/emulator/index.js';
import { startControllerProcess, type ControllerProcess } from '../support/controllerProcess.js';
import type { Peers } from '../support/startPeers.js';
import {
  applyAll,
  crashLines,
  eventually,
  finished,
  jobManifest,
  size,
  sleep,
  startSuite,
  stopSuite,
} from './support.js';

/** Big objects live here; the small ones elsewhere, so that reading those back stays cheap. */
const NS = 'memory';
const SMALL_NS = 'memory-small';
const OBJECTS = size('RELIABILITY_MEMORY_OBJECTS', 60);
/** Per-element arrays: each is 100 Batch jobs, each Batch job carries the template's text. */
const ARRAYS = 2;
const ARRAY_INDEXES = 100;
const NATIVE_INDEXES = 100_000;
const SMALL_BEFORE = 20;
const SMALL_AFTER = 10;
/** The CRD's bound on a template's text (one CEL rule over every text field, keys included). */
const MAX_TEXT = 262_144;
const ENV_VALUE = 65_536;
const NODE_OPTIONS = '--max-old-space-size=128 --max-semi-space-size=1';
// The old space is capped at 128 MB; resident memory adds the young generation (1 MB semi-spaces), code,
// tsx's transpiler (the controller runs from src/: about 170 MB resident once ready, before any big object)
// and buffers outside the heap: HTTP bodies from the API server (a list page of 100 objects of 256 KiB is
// 26 MB of JSON) and gRPC messages to and from Batch (600 KB per job definition). Measured on two cores:
// peaks of 220-240 MB at the CI size, 290 MB with 300 objects (a list of four pages at the restart). Past
// the heap cap the process dies (an exit and a FATAL line, asserted below); this bound catches growth
// outside the heap, with room for a slower or busier machine.
const MAX_PEAK_RSS_MB = 400;

let peers: Peers;
let controller: ControllerProcess;
let peakRss = 0;
let sampler: ReturnType<typeof setInterval> | undefined;
let bigBytes = 0;
/** Resident memory once ready, before any big object: what the controller costs idle. */
let baselineRss = 0;
/** How the submitted big single jobs ended, by state. */
const ends: Record<string, number> = {};
/** Every Batch call naming a job, as the emulator answers it (its job list is a deep copy: read it rarely). */
const calls: CallRecord[] = [];
let unsubscribe: (() => void) | undefined;

function sample(): void {
  if (!controller?.running()) return;
  try {
    const u = controller.usage();
    peakRss = Math.max(peakRss, u.rssBytes, u.peakRssBytes);
  } catch {
    // The process ended between the check and the read.
  }
}

beforeAll(async () => {
  peers = await startSuite([NS, SMALL_NS]);
  unsubscribe = peers.emulator.onCall((call) => {
    if (call.jobId) calls.push(call);
  });
  controller = await startController();
  baselineRss = controller.usage().rssBytes;
  sampler = setInterval(sample, 500);
  sampler.unref();
});

afterAll(async () => {
  if (sampler) clearInterval(sampler);
  unsubscribe?.();
  await stopSuite(peers, controller);
});

/** As controllerFor (support.ts) starts it, plus the Deployment's NODE_OPTIONS: merged over the test's own
 * environment into the controller process's only, so the test process and its peers keep their own heap. */
function startController(): Promise<ControllerProcess> {
  return startControllerProcess({
    kubeconfig: peers.controlPlane.kubeconfigController,
    batchEmulatorHost: peers.emulator.host,
    storageEmulatorHost: peers.storageEmulatorHost,
    dir: peers.controlPlane.dir,
    name: 'memory',
    args: ['--poll-interval', '1s', '--log-level', 'debug', '--concurrency', '4'],
    env: { NODE_OPTIONS },
  });
}

// ------------------------------------------------------------------ the objects

/** A script that runs at once, followed by one long comment line: `length` characters in all. */
function script(name: string, length: number): string {
  const head = `true\n# ${name} `;
  return head + 'x'.repeat(length - head.length);
}

function template(extra: Record<string, unknown>): Record<string, unknown> {
  return { jobCategory: '$script$', candidateMachines: ['e2-standard-2'], ...extra };
}

function manifest(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'drmaa2.io/v1alpha1', kind: 'Drmaa2Job', metadata: { name, namespace: NS }, spec };
}

const arrayName = (i: number) => `array-${i}`;
const singleName = (i: number) => `single-${String(i).padStart(4, '0')}`;
const NATIVE = 'native';

/** Per-element array (maxSlots 2): one Batch job per index, each with the whole text. */
function perElementArray(i: number): Record<string, unknown> {
  const name = arrayName(i);
  return manifest(name, {
    jobTemplate: template({ remoteCommand: script(name, MAX_TEXT), maxSlots: 2 }),
    array: { begin: 1, end: ARRAY_INDEXES },
  });
}

/** Native array (maxSlots 1) of 100,000 indexes: its request would exceed Batch's job definition limit. */
function nativeArray(): Record<string, unknown> {
  return manifest(NATIVE, {
    jobTemplate: template({ remoteCommand: script(NATIVE, MAX_TEXT), maxSlots: 1 }),
    array: { begin: 1, end: NATIVE_INDEXES },
  });
}

/** A single job whose text fills the bound exactly: two environment values at their maximum, the rest in
 * the script. Even ones are held. */
function single(i: number, textLength = MAX_TEXT): Record<string, unknown> {
  const name = singleName(i);
  const env = { BOMB_A: 'a'.repeat(ENV_VALUE), BOMB_B: 'b'.repeat(ENV_VALUE) };
  const envText = Object.entries(env).reduce((n, [k, v]) => n + k.length + v.length, 0);
  return manifest(name, {
    jobTemplate: template({ remoteCommand: script(name, textLength - envText), jobEnvironment: env }),
    ...(i % 2 === 0 ? { hold: true } : {}),
  });
}

const held = (i: number) => i % 2 === 0;

/**
 * Creates objects of up to 256 KiB each, a few per kubectl call. Not `kubectl apply` (applyAll): client-side
 * apply copies the whole object into the last-applied-configuration annotation, and annotations are limited
 * to 256 KiB in all, so the API server refuses it (asserted below). `kubectl create` (like server-side apply,
 * whose managedFields name fields but hold no values) sends the object as it is.
 */
async function createAll(objects: Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < objects.length; i += 8) {
    const list = { apiVersion: 'v1', kind: 'List', items: objects.slice(i, i + 8) };
    const input = JSON.stringify(list);
    const r = await peers.controlPlane.kubectl(['create', '-f', '-'], { input, timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    bigBytes += input.length;
  }
}

interface Summary {
  name: string;
  status: Drmaa2JobStatus | undefined;
  /** Characters of the status as stored. */
  statusSize: number;
}

/** Fails at once (with the end of its log) when the controller is not running: every wait checks it. */
function assertAlive(): void {
  if (controller.running()) return;
  const tail = crashLines(controller).slice(-5).join('\n');
  assert.fail(`the controller is not running (exits: ${controller.exits().join(', ')})\n${tail}`);
}

/** Name and status of every object of a namespace; the objects themselves stay on the server. */
async function statuses(namespace: string): Promise<Map<string, Summary>> {
  assertAlive();
  const r = await peers.controlPlane.kubectl(
    [
      'get',
      'drmaa2jobs',
      '-n',
      namespace,
      '-o',
      'jsonpath={range .items[*]}{.metadata.name}{"\\t"}{.status}{"\\n"}{end}',
    ],
    { timeoutMs: 120_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  const out = new Map<string, Summary>();
  for (const line of r.stdout.split('\n')) {
    if (line === '') continue;
    const [name, text = ''] = line.split('\t');
    out.set(name!, {
      name: name!,
      status: text === '' ? undefined : (JSON.parse(text) as Drmaa2JobStatus),
      statusSize: text.length,
    });
  }
  return out;
}

const asJob = (s: Summary) => ({ status: s.status }) as Drmaa2Job;
const condition = (s: Summary | undefined, type: string) =>
  s?.status?.conditions?.find((c) => c.type === type);

function createsOf(name: string): CallRecord[] {
  return calls.filter((c) => c.method === 'CreateJob' && c.jobId?.startsWith(`${name}-`));
}

async function smallJobsFinish(names: string[], timeoutMs: number): Promise<void> {
  await eventually(
    `${names.length} small jobs to finish`,
    async () => {
      const got = await statuses(SMALL_NS);
      const done = names.filter((n) => {
        const s = got.get(n);
        if (s === undefined || !finished(asJob(s))) return false;
        // An end is final: a small job that ended otherwise fails the run at once.
        assert.equal(s.status?.state, 'Done', `${n} ended ${s.status?.state}`);
        return true;
      });
      return done.length === names.length ? true : `${done.length} of ${names.length} Done`;
    },
    timeoutMs,
    1000,
  );
}

// ------------------------------------------------------------------ the run

test(
  'the schema admits the largest objects, and only through create (not client-side apply)',
  { timeout: 60_000 },
  async () => {
    const tooLong = single(9999, MAX_TEXT + 1);
    const refused = await peers.controlPlane.kubectl(['create', '-f', '-'], {
      input: JSON.stringify(tooLong),
    });
    assert.notEqual(refused.code, 0, 'one character more than the bound is refused');
    assert.match(refused.stderr, /must not exceed 262144 characters/);

    const applied = await peers.controlPlane.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify(single(9998)),
    });
    assert.notEqual(applied.code, 0, 'client-side apply of a full-size object is refused');
    assert.match(applied.stderr, /annotations: Too long/);
  },
);

test(
  `${ARRAYS} per-element arrays, a native array of ${NATIVE_INDEXES}, ${OBJECTS} full-size jobs; small jobs flow meanwhile`,
  { timeout: 900_000 },
  async () => {
    const small = Array.from({ length: SMALL_BEFORE }, (_, i) => `small-${String(i).padStart(3, '0')}`);
    // The small jobs arrive a few at a time while the big ones are being created.
    const flowing = (async () => {
      for (let i = 0; i < small.length; i += 4) {
        await applyAll(
          peers,
          small.slice(i, i + 4).map((n) => jobManifest(SMALL_NS, n)),
        );
        await sleep(1500);
      }
    })();
    const big = [
      ...Array.from({ length: ARRAYS }, (_, i) => perElementArray(i)),
      nativeArray(),
      ...Array.from({ length: OBJECTS }, (_, i) => single(i)),
    ];
    await createAll(big);
    await flowing;
    await smallJobsFinish(small, 300_000);
    assertAlive();

    await eventually(
      'every big object to reach its end (or stay held)',
      async () => {
        const got = await statuses(NS);
        const open: string[] = [];
        for (let i = 0; i < ARRAYS; i++)
          if (!finished(asJob(got.get(arrayName(i))!))) open.push(arrayName(i));
        if (condition(got.get(NATIVE), 'Failed')?.status !== 'True') open.push(NATIVE);
        for (let i = 0; i < OBJECTS; i++) {
          const s = got.get(singleName(i))!;
          // A held job that reached Batch will never be held again: no point in waiting.
          if (held(i)) assert.deepEqual(createsOf(singleName(i)), [], `${singleName(i)} is held`);
          const ok = held(i) ? s.status?.state === 'QueuedHeld' : finished(asJob(s));
          if (!ok) open.push(`${singleName(i)} (${s.status?.state ?? 'no status'})`);
        }
        return open.length === 0 ? true : `${open.length} open: ${open.slice(0, 5).join(', ')}`;
      },
      600_000,
      2000,
    );
    assertAlive();

    const got = await statuses(NS);
    const failed = condition(got.get(NATIVE), 'Failed')!;
    assert.equal(failed.reason, 'InvalidSpec', `native array: ${failed.message}`);
    assert.match(failed.message, /spec\.array/, 'the message names spec.array');
    assert.match(failed.message, /1000000/, "the message names Batch's job definition limit");
    for (let i = 0; i < ARRAYS; i++) {
      const s = got.get(arrayName(i))!;
      // The largest script runs: the template's copy stays out of the environment above 64 KiB (E2BIG).
      assert.equal(s.status?.state, 'Done', `${arrayName(i)} ended ${s.status?.state}`);
      const ids = new Set(
        createsOf(arrayName(i))
          .filter((c) => c.code === 'OK')
          .map((c) => c.jobId),
      );
      assert.equal(ids.size, ARRAY_INDEXES, `${arrayName(i)}: one Batch job per index`);
    }
    for (let i = 0; i < OBJECTS; i++) {
      const state = got.get(singleName(i))!.status?.state ?? 'none';
      if (!held(i)) ends[state] = (ends[state] ?? 0) + 1;
      const ids = new Set(
        createsOf(singleName(i))
          .filter((c) => c.code === 'OK')
          .map((c) => c.jobId),
      );
      assert.equal(
        ids.size,
        held(i) ? 0 : 1,
        `${singleName(i)}: ${held(i) ? 'held, not submitted' : 'one Batch job'}`,
      );
    }
    assert.deepEqual(Object.keys(ends), ['Done'], `submitted single jobs ended ${JSON.stringify(ends)}`);
    // JobInfo carries the template only up to 8 KiB: no status holds a copy of the big text.
    const largest = [...got.values()].reduce((a, b) => (b.statusSize > a.statusSize ? b : a));
    assert.ok(
      largest.statusSize < 32_768,
      `largest status: ${largest.name}, ${largest.statusSize} characters`,
    );
    assert.deepEqual(createsOf(NATIVE), [], 'no CreateJob for the invalid spec');
  },
);

test(
  'restarted while every big object exists: ready again, small jobs still finish',
  { timeout: 400_000 },
  async () => {
    const before = await statuses(NS);
    sample();
    await controller.kill();
    await controller.restart();
    const small = Array.from(
      { length: SMALL_AFTER },
      (_, i) => `after-restart-${String(i).padStart(3, '0')}`,
    );
    await applyAll(
      peers,
      small.map((n) => jobManifest(SMALL_NS, n)),
    );
    await smallJobsFinish(small, 300_000);
    // Let the restarted controller go over every big object once more (poll and resync) before comparing.
    await sleep(10_000);
    assertAlive();
    const got = await statuses(NS);
    for (const [name, was] of before) {
      assert.equal(
        got.get(name)?.status?.state,
        was.status?.state,
        `${name} kept its state over the restart`,
      );
    }
    for (let i = 0; i < OBJECTS; i += 2)
      assert.deepEqual(createsOf(singleName(i)), [], `${singleName(i)} still held`);
    assert.deepEqual(createsOf(NATIVE), [], 'no CreateJob for the invalid spec after the restart');
  },
);

test('every big object deleted: the resources and their Batch jobs go', { timeout: 400_000 }, async () => {
  const r = await peers.controlPlane.kubectl(['delete', 'drmaa2jobs', '--all', '-n', NS, '--wait=false'], {
    timeoutMs: 120_000,
  });
  assert.equal(r.code, 0, r.stderr);
  await eventually(
    'every big resource to be gone',
    async () => {
      const left = (await statuses(NS)).size;
      return left === 0 ? true : `${left} left`;
    },
    300_000,
    2000,
  );
  await eventually(
    'their Batch jobs to be gone',
    async () => {
      const left = peers.emulator.jobs().filter((j) => j.labels?.[LABEL_NAMESPACE] === NS).length;
      return left === 0 ? true : `${left} Batch jobs left`;
    },
    60_000,
    2000,
  );
  assertAlive();
});

test('the controller never exited on its own, never crashed, and stayed within its memory', () => {
  sample();
  assert.deepEqual(controller.exits(), ['SIGKILL'], 'only the one kill of the test');
  assert.deepEqual(crashLines(controller), [], 'no error-level line, no out-of-memory or fatal output');
  assert.deepEqual(createsOf(NATIVE), [], 'never a CreateJob for the invalid spec');
  const peakMb = peakRss / 2 ** 20;
  const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
  console.log(
    `memory: peak RSS ${peakMb.toFixed(1)} MB, ${mb(baselineRss)} MB once ready (NODE_OPTIONS ${NODE_OPTIONS}), ` +
      `${ARRAYS + 1 + OBJECTS} big objects (${ARRAYS} per-element arrays of ${ARRAY_INDEXES}, one native array of ` +
      `${NATIVE_INDEXES}, ${OBJECTS} single jobs) of ${mb(bigBytes)} MB in all, ` +
      `${SMALL_BEFORE + SMALL_AFTER} small jobs; submitted single jobs ended ${JSON.stringify(ends)}`,
  );
  assert.ok(peakMb > 0, 'resident memory was sampled');
  assert.ok(peakMb < MAX_PEAK_RSS_MB, `peak RSS ${peakMb.toFixed(1)} MB is below ${MAX_PEAK_RSS_MB} MB`);
});
