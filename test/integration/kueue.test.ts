// Drmaa2Jobs as Kueue workloads, admitted by a real Kueue: the controller (with --kueue, as its shipped
// ServiceAccount plus deploy/kueue/) makes a Workload for each job labelled with a LocalQueue, submits the
// Batch job only once Kueue admitted it, and marks the Workload Finished when the job ends, so that Kueue's
// own quota accounting lets the next one in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import type { Drmaa2Job } from '../../src/api/drmaa2job.js';
import type { RunningController } from '../../src/cli/controller.js';
import { KUEUE_QUEUE_LABEL, workloadName } from '../../src/translate/workload.js';
import { readDrmaa2Job, waitFinished } from '../support/drmaa2Jobs.js';
import { startKueue, type Kueue } from '../support/kueue.js';
import {
  conditionIsTrue as isTrue,
  KUEUE_API as API,
  queuedJob,
  queues as queuesIn,
  readWorkload,
  resourceFlavor,
} from '../support/kueueQueues.js';
import { PROJECT_ROOT } from '../support/peers.js';
import { startInProcessController } from '../support/inProcessController.js';
import { startPeers, type Peers } from '../support/startPeers.js';
import { waitUntil } from '../support/wait.js';

const NS = 'kueue-team';
const QUEUE = 'team-queue';
const CLUSTER_QUEUE = 'five-cpus';
const WAIT_MS = 90_000;

let peers: Peers;
let kueue: Kueue;
let controller: RunningController;

async function kubectl(args: string[], input?: string) {
  return peers.controlPlane.kubectl(args, input === undefined ? {} : { input });
}

const get = (name: string) => readDrmaa2Job(peers.controlPlane.kubectl, NS, name);

const workloadOf = (resource: Drmaa2Job) =>
  readWorkload(peers.controlPlane.kubectl, NS, workloadName(resource));

const job = (name: string, script: string, spec: Record<string, unknown> = {}) =>
  queuedJob(NS, name, script, { queue: QUEUE, spec });

async function apply(doc: unknown): Promise<void> {
  const r = await kubectl(['apply', '-f', '-'], JSON.stringify(doc));
  expect(r.code, r.stderr).toBe(0);
}

const batchJobsOf = (resource: Drmaa2Job) =>
  peers.emulator.jobs().filter((j) => j.labels?.['drmaa2-uid'] === resource.metadata.uid);

async function applyDocs(docs: unknown[]): Promise<void> {
  await peers.controlPlane.apply(docs.map((doc) => dump(doc)).join('---\n'));
}

beforeAll(async () => {
  peers = await startPeers();
  kueue = await startKueue(peers.controlPlane, { externalFrameworks: ['Drmaa2Job.v1alpha1.drmaa2.io'] });
  // The optional component a cluster with Kueue installs beside deploy/.
  await peers.controlPlane.apply(readFileSync(join(PROJECT_ROOT, 'deploy', 'kueue', 'rbac.yaml'), 'utf8'));
  expect((await kubectl(['create', 'namespace', NS])).code).toBe(0);
  await applyDocs([resourceFlavor('default-flavor'), ...queuesIn(NS, CLUSTER_QUEUE, QUEUE, { cpu: '5' })]);
  controller = await startInProcessController(peers, { session: 'kueue', kueue: true });
});

afterAll(async () => {
  await controller?.stop();
  await kueue?.stop();
  await peers?.stop();
});

describe('Kueue in front of Batch', () => {
  it('of three jobs of 2 vCPUs under a 5-CPU quota, two reach Batch; the third waits PENDING_ADMISSION and goes when quota frees', async () => {
    const names = ['first', 'second', 'third'];
    for (const name of names) await apply(job(name, 'sleep 3; echo "done $HOSTNAME"'));
    let waiting: Drmaa2Job | undefined;
    await waitUntil(
      'two jobs submitted and one waiting for admission',
      async () => {
        const all = await Promise.all(names.map(get));
        // Waiting, and saying why in Kueue's words (Kueue writes its reason a moment after the Workload exists).
        waiting = all.find(
          (j) =>
            j.status?.subState === 'PENDING_ADMISSION' &&
            /insufficient unused quota/.test(j.status.message ?? ''),
        );
        return all.filter((j) => j.status?.batchJob).length === 2 && waiting !== undefined;
      },
      { timeoutMs: WAIT_MS, intervalMs: 200, process: kueue.process() },
    );
    const held = waiting!;
    expect(held.status?.state).toBe('Queued');
    const submitted = held.status?.conditions?.find((c) => c.type === 'Submitted');
    expect(submitted?.reason).toBe('PendingAdmission');
    expect(submitted?.message).toMatch(
      /^Waiting for Kueue to admit its Workload in LocalQueue team-queue: .*insufficient unused quota for cpu/,
    );
    // Nothing of it reached Batch while it waited.
    expect(batchJobsOf(held)).toHaveLength(0);
    const workload = await workloadOf(held);
    expect(workload?.spec.podSets[0]?.count).toBe(1);
    expect(workload?.spec.podSets[0]?.template.spec.containers[0]?.resources).toEqual({
      requests: { cpu: '2000m', memory: '8192Mi' },
    });
    expect(workload?.metadata.ownerReferences?.[0]).toMatchObject({
      kind: 'Drmaa2Job',
      uid: held.metadata.uid,
    });

    for (const name of names) {
      await waitFinished(peers.controlPlane.kubectl, NS, name);
    }
    const ended = await Promise.all(names.map(get));
    for (const resource of ended) {
      expect(resource.status?.state).toBe('Done');
      expect(batchJobsOf(resource)).toHaveLength(1);
      // Its quota went back to Kueue.
      expect(isTrue(await workloadOf(resource), 'Finished')).toBe(true);
    }
    // The third Batch job was created only after one of the first two had ended.
    const third = batchJobsOf(ended.find((r) => r.metadata.name === held.metadata.name)!)[0]!;
    const firstEnd = Math.min(
      ...ended
        .filter((r) => r.metadata.name !== held.metadata.name)
        .map((r) => Date.parse(r.status!.jobInfo!.finishTime!)),
    );
    expect(Date.parse(third.createTime!)).toBeGreaterThanOrEqual(firstEnd - 1000);
  });

  it('a held job takes no quota: its Workload is inactive until it is released', async () => {
    // Fill the quota, then hold a waiting job.
    await apply(job('busy-1', 'sleep 6'));
    await apply(job('busy-2', 'sleep 6'));
    await apply(job('later', 'echo later'));
    await waitUntil(
      'later to wait for admission',
      async () => (await get('later')).status?.subState === 'PENDING_ADMISSION',
      { timeoutMs: WAIT_MS, intervalMs: 200 },
    );
    await apply(job('later', 'echo later', { hold: true }));
    await waitUntil(
      'later to be held with an inactive Workload',
      async () => {
        const resource = await get('later');
        return resource.status?.state === 'QueuedHeld' && (await workloadOf(resource))?.spec.active === false;
      },
      { timeoutMs: WAIT_MS, intervalMs: 200 },
    );
    // Held past the time the quota frees: still nothing submitted.
    for (const name of ['busy-1', 'busy-2']) {
      await waitFinished(peers.controlPlane.kubectl, NS, name);
    }
    const stillHeld = await get('later');
    expect(stillHeld.status?.state).toBe('QueuedHeld');
    expect(batchJobsOf(stillHeld)).toHaveLength(0);
    await apply(job('later', 'echo later', { hold: false }));
    await waitFinished(peers.controlPlane.kubectl, NS, 'later');
    const done = await get('later');
    expect(done.status?.state).toBe('Done');
    expect((await workloadOf(done))?.spec.active).toBe(true);
  });

  it('deleting a job that waits for admission leaves no Workload and no Batch job', async () => {
    await apply(job('hog-1', 'sleep 5'));
    await apply(job('hog-2', 'sleep 5'));
    await apply(job('doomed', 'echo never'));
    await waitUntil(
      'doomed to wait for admission',
      async () => (await get('doomed')).status?.subState === 'PENDING_ADMISSION',
      { timeoutMs: WAIT_MS, intervalMs: 200 },
    );
    const doomed = await get('doomed');
    expect(await workloadOf(doomed)).toBeDefined();
    const r = await kubectl(['delete', 'drmaa2job', 'doomed', '-n', NS, '--timeout=60s']);
    expect(r.code, r.stderr).toBe(0);
    expect(await workloadOf(doomed)).toBeUndefined();
    expect(batchJobsOf(doomed)).toHaveLength(0);
  });

  it('a high-priority job preempts a running low-priority one: its Batch job is cancelled, it is Requeued, and admitted again it runs as a new Batch job', async () => {
    await applyDocs([
      { apiVersion: API, kind: 'WorkloadPriorityClass', metadata: { name: 'low' }, value: 10 },
      { apiVersion: API, kind: 'WorkloadPriorityClass', metadata: { name: 'high' }, value: 1000 },
      ...queuesIn(NS, 'preempting', 'prio', {
        cpu: '4',
        preemption: { withinClusterQueue: 'LowerPriority' },
      }),
    ]);
    const prioritized = (name: string, priorityClass: string, script: string) =>
      queuedJob(NS, name, script, { queue: 'prio', priorityClass, machine: 'e2-standard-4' });
    await apply(prioritized('low', 'low', 'sleep 8; echo "low ran to its end"'));
    let last: Drmaa2Job | undefined;
    await waitUntil('low to run', async () => (last = await get('low')).status?.state === 'Running', {
      timeoutMs: WAIT_MS,
      intervalMs: 200,
      process: kueue.process(),
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${JSON.stringify(last?.status)}`);
    });
    const lowFirst = (await get('low')).status!.batchJob!.name;
    await apply(prioritized('high', 'high', 'echo high'));
    await waitUntil(
      'low to be requeued after its Batch job was cancelled',
      async () => ((await get('low')).status?.attempts?.length ?? 0) > 0,
      { timeoutMs: WAIT_MS, intervalMs: 200, process: kueue.process() },
    ).catch(async (err: Error) => {
      const states = await Promise.all(
        ['low', 'high'].map(async (n) => {
          const r = await get(n);
          return { name: n, status: r.status, workload: (await workloadOf(r))?.status };
        }),
      );
      throw new Error(`${err.message}\n${JSON.stringify(states)}`);
    });
    const requeued = await get('low');
    expect(requeued.status?.attempt).toBe(1);
    expect(requeued.status?.attempts?.[0]).toMatchObject({
      attempt: 0,
      batchJob: lowFirst,
      reason: 'Preempted',
    });
    for (const name of ['high', 'low']) {
      await waitFinished(peers.controlPlane.kubectl, NS, name);
    }
    const low = await get('low');
    const high = await get('high');
    expect(high.status?.state).toBe('Done');
    expect(low.status?.state).toBe('Done');
    // One Batch job per attempt, never two at once: the first cancelled before high's or the second began.
    const lows = batchJobsOf(low).sort((a, b) => Date.parse(a.createTime!) - Date.parse(b.createTime!));
    expect(lows.map((j) => [j.name, j.status?.state])).toEqual([
      [lowFirst, 'CANCELLED'],
      [low.status!.batchJob!.name, 'SUCCEEDED'],
    ]);
    expect(low.status!.batchJob!.name).toMatch(/-r1$/);
    const firstEnded = Date.parse(lows[0]!.updateTime!);
    expect(Date.parse(lows[1]!.createTime!)).toBeGreaterThanOrEqual(firstEnded);
    expect(Date.parse(batchJobsOf(high)[0]!.createTime!)).toBeGreaterThanOrEqual(firstEnded - 1000);
    expect(isTrue(await workloadOf(low), 'Finished')).toBe(true);
  });

  it('a flavor labelled drmaa2.io/provisioning-model: SPOT submits a Spot job', async () => {
    await applyDocs([
      resourceFlavor('spot-flavor', { 'drmaa2.io/provisioning-model': 'SPOT' }),
      ...queuesIn(NS, 'spot-cq', 'spot', { cpu: '8', flavor: 'spot-flavor' }),
    ]);
    await apply(queuedJob(NS, 'cheap', 'echo cheap', { queue: 'spot' }));
    await waitFinished(peers.controlPlane.kubectl, NS, 'cheap');
    const resource = await get('cheap');
    expect(resource.status?.state).toBe('Done');
    const [batchJob] = batchJobsOf(resource);
    expect(batchJob?.allocationPolicy?.instances?.[0]?.policy?.provisioningModel).toBe('SPOT');
  });

  it('under a BatchProfile with kueue.required, a job without the label waits for it, and labelled it is queued and runs', async () => {
    const ns = 'kueue-only';
    expect((await kubectl(['create', 'namespace', ns])).code).toBe(0);
    await applyDocs([
      {
        apiVersion: 'drmaa2.io/v1alpha1',
        kind: 'BatchProfile',
        metadata: { name: 'kueue-only' },
        spec: {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
          default: true,
          project: 'kueue-only-project',
          location: 'europe-west4',
          securityLevel: 'baseline',
          kueue: { required: true },
        },
      },
      ...queuesIn(ns, 'kueue-only-cq', 'only', { cpu: '4' }),
    ]);
    await apply(queuedJob(ns, 'unlabelled', 'echo queued at last'));
    const read = () => readDrmaa2Job(peers.controlPlane.kubectl, ns, 'unlabelled');
    await waitUntil(
      'the unlabelled job to wait for its label',
      async () =>
        (await read()).status?.conditions?.some(
          (c) => c.type === 'Submitted' && c.reason === 'QueueRequired',
        ) === true,
      { timeoutMs: WAIT_MS, intervalMs: 200 },
    );
    const waiting = await read();
    expect(waiting.status?.state).toBe('Queued');
    expect(waiting.status?.message).toMatch(/label it kueue\.x-k8s\.io\/queue-name: <LocalQueue>/);
    expect(batchJobsOf(waiting)).toHaveLength(0);
    // A label, as a tenant (or their GitOps repo) adds it: no new generation, and the job goes to its queue.
    const labelled = await kubectl([
      'label',
      'drmaa2job',
      'unlabelled',
      '-n',
      ns,
      `${KUEUE_QUEUE_LABEL}=only`,
    ]);
    expect(labelled.code, labelled.stderr).toBe(0);
    await waitFinished(peers.controlPlane.kubectl, ns, 'unlabelled');
    const done = await read();
    expect(done.status?.state).toBe('Done');
    expect(done.status?.profile?.name).toBe('kueue-only');
    expect(batchJobsOf(done)).toHaveLength(1);
    const workload = await readWorkload(peers.controlPlane.kubectl, ns, workloadName(done));
    expect(isTrue(workload, 'Finished')).toBe(true);
  });

  it('a job without the label goes to Batch at once, with no Workload', async () => {
    await apply(queuedJob(NS, 'unqueued', 'echo free'));
    await waitFinished(peers.controlPlane.kubectl, NS, 'unqueued');
    const resource = await get('unqueued');
    expect(resource.status?.state).toBe('Done');
    expect(await workloadOf(resource)).toBeUndefined();
  });
});
