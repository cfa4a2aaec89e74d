// Crash consistency: while N Drmaa2Jobs flow through, the controller process is killed with SIGKILL again
// and again, at random moments and right after Batch created a job (before the controller could record it
// in the status), and started again each time. At the end every resource has exactly one Batch job and the
// right end state, deleted resources left no finalizer and no Batch job (unless their policy was Orphan).
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { LABEL_NAME, LABEL_UID } from '../../src/api/drmaa2job.js';
import type { ControllerProcess } from '../support/controllerProcess.js';
import type { Peers } from '../support/startPeers.js';
import {
  applyAll,
  controllerFor,
  crashLines,
  CreatedJobs,
  eventually,
  finished,
  getJob,
  jobManifest,
  listJobs,
  size,
  sleep,
  startSuite,
  stopSuite,
} from './support.js';

const NS = 'crash';
const JOBS = size('RELIABILITY_JOBS', 200);
const KILLS = size('RELIABILITY_KILLS', 12);
/** How long the resources may take to end once the kills are over. */
const FINISH_MS = Math.max(240_000, JOBS * 600);
/** The kills (each a few seconds, far more on a loaded machine: a kill waits up to 30 s for the exit and a
 * restart up to 60 s for readiness) or the applying, whichever lasts longer; then the waits for the end. */
const TIMEOUT_MS = Math.max(KILLS * 20_000, JOBS * 200) + FINISH_MS + 30_000 + 60_000;

let peers: Peers;
let controller: ControllerProcess | undefined;

beforeAll(async () => {
  peers = await startSuite([NS]);
});

afterAll(async () => {
  await stopSuite(peers, controller);
});

interface Planned {
  name: string;
  exitCode: number;
  deletionPolicy: 'Delete' | 'Orphan';
  /** Deleted by the test while the controller is being killed. */
  deleted: boolean;
}

function plan(): Planned[] {
  return Array.from({ length: JOBS }, (_, i) => ({
    name: `job-${String(i).padStart(5, '0')}`,
    exitCode: i % 5 === 4 ? 3 : 0,
    deletionPolicy: i % 13 === 0 ? 'Orphan' : 'Delete',
    deleted: i % 10 === 7 || i % 13 === 0,
  }));
}

test(
  `${JOBS} jobs, ${KILLS} SIGKILLs: one Batch job each, none lost, none orphaned`,
  { timeout: TIMEOUT_MS },
  async () => {
    const jobs = plan();
    const created = new CreatedJobs(peers.emulator);
    controller = await controllerFor(peers, 'crash', ['--concurrency', '8']);

    // Right after Batch answers CreateJob, before the controller can write status.batchJob.
    let armed = 0;
    const windowKills: string[] = [];
    const stopListening = peers.emulator.onCall((call) => {
      if (armed === 0 || call.method !== 'CreateJob' || call.code !== 'OK') return;
      armed--;
      controller!.killNow();
      windowKills.push(call.jobId!);
    });

    // Applied ten at a time, spread over the kills; some are deleted again 0-3 s after they were applied.
    const deletions: Promise<void>[] = [];
    const deleteLater = async (name: string) => {
      await sleep(Math.floor(Math.random() * 3000));
      const r = await peers.controlPlane.kubectl(['delete', 'drmaa2job', name, '-n', NS, '--wait=false']);
      assert.equal(r.code, 0, r.stderr);
    };
    const applying = (async () => {
      for (let i = 0; i < jobs.length; i += 10) {
        const batch = jobs.slice(i, i + 10);
        await applyAll(
          peers,
          batch.map((j) =>
            jobManifest(NS, j.name, { exitCode: j.exitCode, deletionPolicy: j.deletionPolicy }),
          ),
        );
        for (const j of batch.filter((p) => p.deleted)) deletions.push(deleteLater(j.name));
        await sleep(1000);
      }
    })();

    let kills = 0;
    let hitWindow = 0;
    while (kills < KILLS) {
      const targeted = kills % 2 === 0;
      const before = windowKills.length;
      if (targeted) {
        // The next successful CreateJob kills the controller (unless every job is submitted by then).
        armed = 1;
        for (let waited = 0; waited < 5_000 && windowKills.length === before; waited += 20) await sleep(20);
        armed = 0;
      } else {
        await sleep(300 + Math.floor(Math.random() * 2500));
      }
      await controller.kill();
      if (windowKills.length > before) {
        const jobId = windowKills.at(-1)!;
        const owner = peers.emulator.jobs().find((j) => j.name?.endsWith(`/jobs/${jobId}`))?.labels?.[
          LABEL_NAME
        ];
        const resource = owner ? await getJob(peers, NS, owner) : undefined;
        if (resource && !resource.status?.batchJob) hitWindow++;
      }
      kills++;
      await controller.restart();
    }
    stopListening();
    await applying;
    await Promise.all(deletions);

    const deletedNames = new Set(jobs.filter((j) => j.deleted).map((j) => j.name));
    await eventually(
      'every resource to finish and every deleted one to go',
      async () => {
        const items = await listJobs(peers, NS);
        const stuck = items.filter((r) => deletedNames.has(r.metadata.name));
        const open = items.filter((r) => !deletedNames.has(r.metadata.name) && !finished(r));
        if (stuck.length === 0 && open.length === 0 && items.length === JOBS - deletedNames.size) return true;
        return `${items.length} resources, ${open.length} not finished, ${stuck.length} deleted ones still there`;
      },
      FINISH_MS,
      2000,
    );

    const items = await listJobs(peers, NS);
    const byName = new Map(items.map((r) => [r.metadata.name, r]));
    for (const j of jobs.filter((p) => !p.deleted)) {
      const r = byName.get(j.name)!;
      assert.equal(
        r.status?.state,
        j.exitCode === 0 ? 'Done' : 'Failed',
        `${j.name} ended ${r.status?.state}`,
      );
      assert.equal(created.byUid.get(r.metadata.uid)?.size, 1, `${j.name} has exactly one Batch job`);
    }
    assert.deepEqual(created.duplicates(), [], 'no resource got a second Batch job');

    // What is left in Batch: only jobs of live resources, and of deleted resources with policy Orphan.
    const liveUids = new Set(items.map((r) => r.metadata.uid));
    const orphanNames = new Set(
      jobs.filter((j) => j.deleted && j.deletionPolicy === 'Orphan').map((j) => j.name),
    );
    await eventually(
      'Batch jobs of deleted resources to be gone',
      async () => {
        const strays = peers.emulator
          .jobs()
          .filter((job) => !liveUids.has(job.labels?.[LABEL_UID] ?? ''))
          .filter((job) => !orphanNames.has(job.labels?.[LABEL_NAME] ?? ''));
        return strays.length === 0
          ? true
          : `${strays.length} Batch jobs without a resource: ${strays[0]!.name}`;
      },
      30_000,
    );
    const orphaned = peers.emulator.jobs().filter((job) => orphanNames.has(job.labels?.[LABEL_NAME] ?? ''));
    assert.ok(orphaned.length > 0, 'Orphan policy kept its Batch jobs');

    const sigkills = controller.exits().filter((e) => e === 'SIGKILL').length;
    assert.equal(sigkills, KILLS, 'every kill was a SIGKILL');
    assert.ok(hitWindow >= 1, `at least one kill fell between CreateJob and the status write (${hitWindow})`);
    assert.deepEqual(crashLines(controller), [], 'no error-level log line and no crash output');
    created.stop();
    console.log(
      `crash: ${JOBS} jobs, ${kills} SIGKILLs (${hitWindow} between Batch create and status write), ` +
        `${created.total()} Batch jobs created, 0 duplicates, 0 lost, 0 orphaned`,
    );
  },
);
