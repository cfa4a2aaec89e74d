// Crash consistency: while N Drmaa2Jobs flow through, the controller process is killed with SIGKILL again
// and again, at random moments and right after Batch created a job (before the controller could record it
// in the status), and started again each time. At the end every resource has exactly one Batch job and the
// right end state, deleted resources left no finalizer and no Batch job (unless their policy was Orphan).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { LABEL_NAME, LABEL_UID } from '../../src/api/drmaa2job.js';
import type { ControllerProcess } from '../support/controllerProcess.js';
import { startPeers, type Peers } from '../support/startPeers.js';
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
} from './support.js';

const NS = 'crash';
const JOBS = size('RELIABILITY_JOBS', 200);
const KILLS = size('RELIABILITY_KILLS', 12);

let peers: Peers;
let controller: ControllerProcess | undefined;

before(async () => {
  peers = await startPeers();
  assert.equal((await peers.controlPlane.kubectl(['create', 'namespace', NS])).code, 0);
});

after(async () => {
  await controller?.stop().catch(() => undefined);
  await peers?.stop();
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

test(`${JOBS} jobs, ${KILLS} SIGKILLs: one Batch job each, none lost, none orphaned`, async () => {
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

  const applying = (async () => {
    for (let i = 0; i < jobs.length; i += 25) {
      const batch = jobs.slice(i, i + 25);
      await applyAll(
        peers,
        batch.map((j) => jobManifest(NS, j.name, { exitCode: j.exitCode, deletionPolicy: j.deletionPolicy })),
      );
      await sleep(200);
    }
  })();

  const deleting = (async () => {
    await sleep(1500);
    for (const j of jobs.filter((p) => p.deleted)) {
      const r = await peers.controlPlane.kubectl(['delete', 'drmaa2job', j.name, '-n', NS, '--wait=false']);
      assert.equal(r.code, 0, r.stderr);
      await sleep(50);
    }
  })();

  let kills = 0;
  let hitWindow = 0;
  while (kills < KILLS) {
    if (kills % 3 === 1) {
      // A targeted kill: the next successful CreateJob kills the controller.
      const before = windowKills.length;
      armed = 1;
      await eventually(
        'a CreateJob to happen',
        async () => (windowKills.length > before ? true : 'none yet'),
        60_000,
        20,
      );
      await controller.kill();
      const jobId = windowKills.at(-1)!;
      const owner = peers.emulator.jobs().find((j) => j.name?.endsWith(`/jobs/${jobId}`))?.labels?.[
        LABEL_NAME
      ];
      const resource = owner ? await getJob(peers, NS, owner) : undefined;
      if (resource && !resource.status?.batchJob) hitWindow++;
    } else {
      await sleep(300 + Math.floor(Math.random() * 2500));
      await controller.kill();
    }
    kills++;
    await controller.restart();
  }
  stopListening();
  await Promise.all([applying, deleting]);

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
    240_000,
    2000,
  );

  const items = await listJobs(peers, NS);
  const byName = new Map(items.map((r) => [r.metadata.name, r]));
  for (const j of jobs.filter((p) => !p.deleted)) {
    const r = byName.get(j.name)!;
    assert.equal(r.status?.state, j.exitCode === 0 ? 'Done' : 'Failed', `${j.name} ended ${r.status?.state}`);
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
});
