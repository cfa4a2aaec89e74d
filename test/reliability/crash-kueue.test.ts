// Crash consistency under a real Kueue: the controller (a process, with --kueue) is killed with SIGKILL in the
// windows of a Kueue workload's life where a lost step would cost a second Batch job, a lost one, or quota
// that never comes back: after Kueue admitted a Workload and before its Batch job exists (and right after
// Batch created it, before the status names it), and after Kueue evicted a running job and before its Batch
// job was cancelled (and right after the cancel, before the eviction is recorded). After each restart every
// attempt has one Batch job, two attempts of one job never run at once, and at the end every Workload is
// Finished and Kueue's ClusterQueues account for no quota in use: the accounting checked is Kueue's own.
import { afterAll, beforeAll, beforeEach, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import { LABEL_NAME, type Drmaa2Job } from '../../src/api/drmaa2job.js';
import type { CallRecord } from '../../src/emulator/index.js';
import { workloadName } from '../../src/translate/workload.js';
import type { ControllerProcess } from '../support/controllerProcess.js';
import { startKueue, type Kueue } from '../support/kueue.js';
import {
  clusterQueue,
  conditionIsTrue,
  KUEUE_API,
  queuedJob,
  queues,
  readWorkload,
  resourceFlavor,
  type ClusterQueueObject,
  type WorkloadObject,
} from '../support/kueueQueues.js';
import { PROJECT_ROOT } from '../support/peers.js';
import type { Peers } from '../support/startPeers.js';
import {
  controllerFor,
  crashLines,
  CreatedJobs,
  eventually,
  finished,
  getJob,
  startSuite,
  stopSuite,
} from './support.js';

const NS = 'crash-kueue';
const WAIT_MS = 120_000;
const ADMIT_CQ = 'admit-cq';
const PREEMPT_CQ = 'preempt-cq';

let peers: Peers;
let kueue: Kueue | undefined;
let controller: ControllerProcess | undefined;
let created: CreatedJobs;

beforeAll(async () => {
  peers = await startSuite([NS]);
  kueue = await startKueue(peers.controlPlane, { externalFrameworks: ['Drmaa2Job.v1alpha1.drmaa2.io'] });
  await peers.controlPlane.apply(readFileSync(join(PROJECT_ROOT, 'deploy', 'kueue', 'rbac.yaml'), 'utf8'));
  await applyDocs([
    resourceFlavor('default-flavor'),
    { apiVersion: KUEUE_API, kind: 'WorkloadPriorityClass', metadata: { name: 'low' }, value: 10 },
    { apiVersion: KUEUE_API, kind: 'WorkloadPriorityClass', metadata: { name: 'high' }, value: 1000 },
    // Room for one job of 2 vCPUs, until the test gives it more.
    ...queues(NS, ADMIT_CQ, 'admit', { cpu: '2' }),
    // Room for one job of 4 vCPUs; a higher priority takes it from a lower one.
    ...queues(NS, PREEMPT_CQ, 'preempt', { cpu: '4', preemption: { withinClusterQueue: 'LowerPriority' } }),
  ]);
  created = new CreatedJobs(peers.emulator);
  controller = await controllerFor(peers, 'crash-kueue', ['--kueue']);
});

// A test that failed between a kill and its restart leaves the next one a controller.
beforeEach(async () => {
  if (controller && !controller.running()) await controller.restart();
});

afterAll(async () => {
  created?.stop();
  await controller?.stop().catch(() => undefined);
  await kueue?.stop();
  await stopSuite(peers);
});

async function applyDocs(docs: unknown[]): Promise<void> {
  await peers.controlPlane.apply(docs.map((doc) => dump(doc)).join('---\n'));
}

const job = (
  name: string,
  queue: string,
  script: string,
  opts: { machine?: string; priorityClass?: string } = {},
) => queuedJob(NS, name, script, { queue, ...opts });

async function get(name: string): Promise<Drmaa2Job> {
  const resource = await getJob(peers, NS, name);
  assert.ok(resource, `${name} exists`);
  return resource;
}

async function workloadOf(resource: Drmaa2Job): Promise<WorkloadObject> {
  const workload = await readWorkload(peers.controlPlane.kubectl, NS, workloadName(resource));
  assert.ok(workload, `${resource.metadata.name} has a Workload`);
  return workload;
}

async function clusterQueueStatus(name: string): Promise<ClusterQueueObject['status']> {
  const r = await peers.controlPlane.kubectl([
    'get',
    `clusterqueues.v1beta2.kueue.x-k8s.io`,
    name,
    '-o',
    'json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as ClusterQueueObject).status;
}

/** Kueue's own books for a ClusterQueue once everything in it has ended: no Workload holds quota, none is
 * admitted or waiting, and the CPU reserved in every flavor is back to zero. */
async function quotaAllBack(name: string): Promise<true | string> {
  const status = await clusterQueueStatus(name);
  const cpu = (status?.flavorsReservation ?? []).flatMap((f) =>
    f.resources.filter((r) => r.name === 'cpu').map((r) => r.total ?? '0'),
  );
  const clear =
    (status?.reservingWorkloads ?? 0) === 0 &&
    (status?.admittedWorkloads ?? 0) === 0 &&
    (status?.pendingWorkloads ?? 0) === 0 &&
    cpu.every((total) => total === '0');
  return clear ? true : `${name}: ${JSON.stringify(status)}`;
}

const batchJobsOf = (resource: Drmaa2Job) =>
  peers.emulator
    .jobs()
    .filter((j) => j.labels?.['drmaa2-uid'] === resource.metadata.uid)
    .sort((a, b) => Date.parse(a.createTime!) - Date.parse(b.createTime!));

/** Kills the controller from inside the emulator, as it answers the first call `matches` selects. `killed`
 * resolves with that call once the process has exited, and fails when no such call came in WAIT_MS. */
function killOn(matches: (call: CallRecord) => boolean): { killed: Promise<CallRecord> } {
  let resolve!: (call: CallRecord) => void;
  const call = new Promise<CallRecord>((r) => (resolve = r));
  const stop = peers.emulator.onCall((answered) => {
    if (!matches(answered)) return;
    stop();
    controller!.killNow();
    resolve(answered);
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      stop();
      reject(new Error(`no Batch call to kill the controller on came in ${WAIT_MS / 1000}s`));
    }, WAIT_MS);
  });
  const killed = Promise.race([call, timeout]).finally(() => clearTimeout(timer));
  return {
    killed: killed.then(async (answered) => {
      await controller!.kill();
      return answered;
    }),
  };
}

async function allFinished(names: string[]): Promise<Drmaa2Job[]> {
  await eventually(
    `${names.join(', ')} to finish`,
    async () => {
      const open = [];
      for (const name of names) if (!finished(await get(name))) open.push(name);
      return open.length === 0 ? true : `still open: ${open.join(', ')}`;
    },
    WAIT_MS,
    500,
  );
  return Promise.all(names.map(get));
}

/** The IDs of the Batch jobs created for a resource, as the emulator answered them. */
const createdFor = (resource: Drmaa2Job) => [...(created.byUid.get(resource.metadata.uid) ?? [])];

describe('SIGKILL in a Kueue workload’s windows', () => {
  test('killed between Kueue’s admission and the Batch create: one Batch job each, Kueue’s quota all back at the end', async () => {
    const kills = controller!.exits().length;
    // Kueue admits whichever Workload it sees first; the other waits for the quota.
    await applyDocs([job('admit-1', 'admit', 'sleep 4'), job('admit-2', 'admit', 'sleep 4')]);
    let waitingName = '';
    await eventually(
      'one submitted and the other waiting for quota',
      async () => {
        const both = await Promise.all([get('admit-1'), get('admit-2')]);
        const submitted = both.find((r) => r.status?.batchJob);
        const waiting = both.find(
          (r) =>
            r.status?.subState === 'PENDING_ADMISSION' &&
            /insufficient unused quota/.test(r.status.message ?? ''),
        );
        if (!submitted || !waiting)
          return both.map((r) => `${r.status?.state}/${r.status?.subState}`).join(', ');
        waitingName = waiting.metadata.name;
        return true;
      },
      WAIT_MS,
      200,
    );

    // No controller runs while Kueue admits the waiting one: the ClusterQueue is given room for both.
    await controller!.kill();
    await applyDocs([clusterQueue(ADMIT_CQ, { cpu: '4' })]);
    const waiting = await get(waitingName);
    await eventually(
      `Kueue to admit ${waitingName} while the controller is down`,
      async () => (conditionIsTrue(await workloadOf(waiting), 'Admitted') ? true : 'not admitted'),
      WAIT_MS,
      200,
    );
    assert.deepEqual(createdFor(waiting), [], `admitted, but nothing of ${waitingName} reached Batch yet`);
    // Both hold their quota (Kueue writes its ClusterQueue's books a moment later): the other's Batch job may
    // have ended, but no one told Kueue.
    await eventually(
      'Kueue to account both Workloads as reserving quota',
      async () => {
        const status = await clusterQueueStatus(ADMIT_CQ);
        return status?.reservingWorkloads === 2 ? true : JSON.stringify(status);
      },
      30_000,
      200,
    );

    // The restarted controller submits the admitted one once; then it is killed again as Batch answers
    // admit-3's CreateJob, before the status can name the job.
    await controller!.restart();
    await eventually(
      `${waitingName} submitted after the restart`,
      async () => ((await get(waitingName)).status?.batchJob ? true : 'not yet'),
      WAIT_MS,
      200,
    );
    const window = killOn((call) => call.method === 'CreateJob' && call.code === 'OK');
    await applyDocs([job('admit-3', 'admit', 'echo three')]);
    const call = await window.killed;
    const three = await get('admit-3');
    assert.equal(three.status?.batchJob, undefined, 'killed before the status named the Batch job');
    assert.ok(
      peers.emulator
        .jobs()
        .some((j) => j.name?.endsWith(`/jobs/${call.jobId}`) && j.labels?.[LABEL_NAME] === 'admit-3'),
      'the Batch job the kill followed is admit-3’s',
    );
    await controller!.restart();

    const ended = await allFinished(['admit-1', 'admit-2', 'admit-3']);
    for (const resource of ended) {
      assert.equal(resource.status?.state, 'Done', `${resource.metadata.name} is Done`);
      assert.equal(createdFor(resource).length, 1, `${resource.metadata.name} has exactly one Batch job`);
      assert.equal(batchJobsOf(resource).length, 1);
      assert.ok(
        conditionIsTrue(await workloadOf(resource), 'Finished'),
        `${resource.metadata.name}'s Workload is Finished`,
      );
    }
    await eventually('Kueue to account no quota in use', () => quotaAllBack(ADMIT_CQ), 30_000);
    assert.deepEqual(controller!.exits().slice(kills), ['SIGKILL', 'SIGKILL'], 'both kills were SIGKILLs');
  });

  // The low-priority job runs for a minute on its first attempt (its Batch job ID has no attempt suffix), so
  // it is still running when the restarted controller comes to cancel it, however slow the restart.
  const LOW_SCRIPT = 'case "$BATCH_JOB_ID" in *-r1) echo "low, second attempt" ;; *) sleep 60 ;; esac';

  for (const window of ['eviction-cancel', 'cancel-record'] as const) {
    test(
      window === 'eviction-cancel'
        ? 'killed between Kueue’s eviction and the cancel: the first attempt is cancelled after the restart, the second runs once high’s ended'
        : 'killed right after the cancel, before the eviction is recorded: the attempt is recorded once and the job runs again once',
      async () => {
        const low = `low-${window}`;
        const high = `high-${window}`;
        await applyDocs([
          job(low, 'preempt', LOW_SCRIPT, { machine: 'e2-standard-4', priorityClass: 'low' }),
        ]);
        await eventually(
          `${low} to run`,
          async () => ((await get(low)).status?.state === 'Running' ? true : 'not running'),
          WAIT_MS,
          200,
        );
        if (window === 'eviction-cancel')
          peers.emulator.setFaults({ errors: { CancelJob: { probability: 1, codes: ['UNAVAILABLE'] } } });
        // The first CancelJob is the controller acting on Kueue's eviction of low: refused by Batch (nothing
        // cancelled) or answered (cancelled); the process dies either way before it can do more.
        const kill = killOn(
          (call) =>
            call.method === 'CancelJob' &&
            (window === 'eviction-cancel' ? call.code !== 'OK' : call.code === 'OK'),
        );
        await applyDocs([
          job(high, 'preempt', 'echo high', { machine: 'e2-standard-4', priorityClass: 'high' }),
        ]);
        await kill.killed;
        peers.emulator.setFaults({});

        const lowAtKill = await get(low);
        const firstJob = batchJobsOf(lowAtKill)[0]!;
        const evicted = (await workloadOf(lowAtKill)).status?.conditions?.find((c) => c.type === 'Evicted');
        assert.equal(evicted?.status, 'True', 'Kueue evicted low');
        assert.equal(evicted?.reason, 'Preempted');
        if (window === 'eviction-cancel')
          assert.equal(firstJob.status?.state, 'RUNNING', 'not cancelled yet');
        else assert.match(firstJob.status?.state ?? '', /^CANCELL/, 'cancelled');
        assert.equal(lowAtKill.status?.attempts, undefined, 'the eviction is not recorded yet');
        // Kueue lets high in only once low gives its quota back, which no controller has done yet.
        const highAtKill = await get(high);
        assert.ok(
          !conditionIsTrue(await workloadOf(highAtKill), 'QuotaReserved'),
          'high waits for low’s quota',
        );
        assert.deepEqual(createdFor(highAtKill), []);

        await controller!.restart();
        const [lowEnd, highEnd] = await allFinished([low, high]);
        assert.equal(highEnd!.status?.state, 'Done');
        assert.equal(lowEnd!.status?.state, 'Done');
        assert.equal(lowEnd!.status?.attempt, 1);
        assert.equal(lowEnd!.status?.attempts?.length, 1, 'one eviction, recorded once');
        assert.equal(lowEnd!.status?.attempts?.[0]?.batchJob, firstJob.name);
        assert.equal(lowEnd!.status?.attempts?.[0]?.reason, 'Preempted');

        // One Batch job per attempt, and never two attempts, or low and high, at once on 4 vCPUs.
        const lows = batchJobsOf(lowEnd!);
        assert.deepEqual(
          lows.map((j) => j.status?.state),
          ['CANCELLED', 'SUCCEEDED'],
        );
        assert.match(lows[1]!.name!, /-r1$/);
        assert.equal(createdFor(lowEnd!).length, 2);
        const [highJob] = batchJobsOf(highEnd!);
        assert.equal(createdFor(highEnd!).length, 1);
        const firstEnded = Date.parse(lows[0]!.updateTime!);
        assert.ok(
          Date.parse(highJob!.createTime!) >= firstEnded,
          'high was created after low’s first attempt ended',
        );
        assert.ok(
          Date.parse(lows[1]!.createTime!) >= Date.parse(highJob!.updateTime!),
          'low’s second attempt was created after high ended',
        );
        for (const resource of [lowEnd!, highEnd!])
          assert.ok(
            conditionIsTrue(await workloadOf(resource), 'Finished'),
            `${resource.metadata.name}'s Workload is Finished`,
          );
        await eventually('Kueue to account no quota in use', () => quotaAllBack(PREEMPT_CQ), 30_000);
      },
    );
  }

  test('the kills left no error and no crash output, and no Batch job beyond one per attempt', () => {
    assert.deepEqual(
      controller!.exits().filter((e) => e === 'SIGKILL'),
      ['SIGKILL', 'SIGKILL', 'SIGKILL', 'SIGKILL'],
    );
    assert.deepEqual(crashLines(controller!), [], 'no error-level log line and no crash output');
    // admit-1..3 one each; each low two attempts, each high one.
    assert.equal(created.total(), 3 + 2 * (2 + 1));
  });
});
