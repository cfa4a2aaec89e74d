// Bad input, fuzzed: fast-check makes Drmaa2Job manifests — valid, near-valid (one to three faults: wrong
// types, huge strings, unicode, negative slots, bad URIs, bad extensions, 10,000-entry maps) and garbage —
// and each goes to the real API server. It is either refused with a message naming the field, or accepted and
// driven to an end (Failed/InvalidSpec with the field's path where only the controller can tell). The
// controller never crashes, never loops on one object, never calls Batch for an invalid one, and the good
// jobs applied after the poison still finish.
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { manifestCase, type Json, type Kind } from './fuzzManifests.js';
import type { ControllerProcess } from '../support/controllerProcess.js';
import type { Peers } from '../support/startPeers.js';
import {
  applyAll,
  controllerFor,
  CreatedJobs,
  eventually,
  finished,
  jobManifest,
  listJobs,
  size,
  startSuite,
  stopSuite,
} from './support.js';

const NS = 'fuzz';
const CASES = size('RELIABILITY_FUZZ_CASES', 120);
const SEED = size('RELIABILITY_FUZZ_SEED', 20261124);
/** Reconciles one object may take: a few state changes, conflicts and the end; never a loop. */
const MAX_RECONCILES_PER_OBJECT = 25;
/** How long the accepted resources may take to end. */
const FINISH_MS = Math.max(240_000, CASES * 1000);
/** The controller's start, one kubectl create per case, then the wait for the end. */
const TIMEOUT_MS = 60_000 + CASES * 2_000 + FINISH_MS + 60_000;

let peers: Peers;
let controller: ControllerProcess | undefined;

beforeAll(async () => {
  // Container jobs are simulated: fuzzed commands and images never run on this machine.
  peers = await startSuite([NS], { emulator: { containers: 'simulate' } });
});

afterAll(async () => {
  await stopSuite(peers, controller);
});

/** A message names the field when it mentions `spec` or one of its paths (or the unknown field). */
const NAMES_A_FIELD = /\bspec(\.|\b)|unknown field "spec\.|\.jobTemplate|\.array|jobTemplate\./;

test(
  `${CASES} fuzzed manifests: refused with a field path, or driven to an end; the controller never wedges`,
  { timeout: TIMEOUT_MS },
  async () => {
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
      FINISH_MS,
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
    const [worstKey, worst] = [...perKey].reduce((a, b) => (b[1] > a[1] ? b : a));
    const worstLines = controller
      .logs()
      .filter((l) => l.key === worstKey)
      .slice(-3)
      .map((l) => JSON.stringify(l).slice(0, 400));
    assert.ok(
      worst <= MAX_RECONCILES_PER_OBJECT,
      `at most ${MAX_RECONCILES_PER_OBJECT} reconciles per object, worst ${worst} for ${worstKey}: ` +
        `${(JSON.stringify(accepted.get(worstKey.split('/')[1]!)?.spec) ?? '(not fuzzed)').slice(0, 600)}\n${worstLines.join('\n')}`,
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
        `accepted ${accepted.size}, of which ${invalid} InvalidSpec with a path; worst reconciles per object ${worst} (${worstKey}); 0 Batch calls for invalid specs`,
    );
  },
);
