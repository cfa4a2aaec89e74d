// BatchProfiles end to end: the real kube-apiserver with both CRDs and the shipped RBAC, the controller in
// this process with --require-profile, the Batch emulator through the real client. Two namespaces with
// different profiles land in their own projects with their own VM identities and networks; a violation fails
// without a Batch call; a namespace without a profile gets NoProfile; a burst in one namespace does not hold
// back the other's job.
import { afterAll, beforeAll, describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { Job } from '../../src/api/batch.js';
import type { Drmaa2Job } from '../../src/api/drmaa2job.js';
import { runController, type RunningController } from '../../src/cli/controller.js';
import { parseConfig } from '../../src/controller/config.js';
import { startPeers, type Peers } from '../support/startPeers.js';
import { waitUntil } from '../support/wait.js';
import { waitFinished } from '../support/drmaa2Jobs.js';

let peers: Peers;
let controller: RunningController;

const PROFILES = [
  {
    apiVersion: 'drmaa2.io/v1alpha1',
    kind: 'BatchProfile',
    metadata: { name: 'team-a' },
    spec: {
      namespaceSelector: { matchLabels: { tenant: 'a' } },
      default: true,
      project: 'team-a-project',
      location: 'europe-west4',
      serviceAccount: { email: 'batch-vms@team-a-project.iam.gserviceaccount.com' },
      network: {
        network: 'projects/team-a-project/global/networks/private',
        subnetwork: 'projects/team-a-project/regions/europe-west4/subnetworks/jobs',
        noExternalIpAddress: true,
      },
      labels: { 'cost-center': 'team-a' },
      securityLevel: 'restricted',
      allowed: { machineTypes: ['e2-*'] },
    },
  },
  {
    apiVersion: 'drmaa2.io/v1alpha1',
    kind: 'BatchProfile',
    metadata: { name: 'team-b' },
    spec: {
      namespaceSelector: { matchLabels: { tenant: 'b' } },
      default: true,
      project: 'team-b-project',
      location: 'us-central1',
      serviceAccount: { email: 'batch-vms@team-b-project.iam.gserviceaccount.com' },
      securityLevel: 'baseline',
    },
  },
];

async function kubectl(args: string[], input?: string) {
  return peers.controlPlane.kubectl(args, input === undefined ? {} : { input });
}

async function applyJson(doc: unknown): Promise<void> {
  const r = await kubectl(['apply', '-f', '-'], JSON.stringify(doc));
  assert.equal(r.code, 0, r.stderr);
}

function job(
  namespace: string,
  name: string,
  template: Record<string, unknown>,
  spec: Record<string, unknown> = {},
) {
  return {
    apiVersion: 'drmaa2.io/v1alpha1',
    kind: 'Drmaa2Job',
    metadata: { name, namespace },
    spec: { jobTemplate: { candidateMachines: ['e2-standard-2'], ...template }, ...spec },
  };
}

const container = { jobCategory: 'busybox', remoteCommand: 'sh', args: ['-c', 'echo hi'] };

const finished = (namespace: string, name: string) =>
  waitFinished(peers.controlPlane.kubectl, namespace, name, '120s');

function batchJobOf(resource: Drmaa2Job): Job | undefined {
  return peers.emulator.jobs().find((j) => j.labels?.['drmaa2-uid'] === resource.metadata.uid);
}

beforeAll(async () => {
  peers = await startPeers();
  for (const [ns, tenant] of [
    ['team-a', 'a'],
    ['team-b', 'b'],
    ['nobody', ''],
  ] as const) {
    assert.equal((await kubectl(['create', 'namespace', ns])).code, 0);
    if (tenant) assert.equal((await kubectl(['label', 'namespace', ns, `tenant=${tenant}`])).code, 0);
  }
  for (const profile of PROFILES) await applyJson(profile);
  const parsed = parseConfig(
    {
      kubeconfig: peers.controlPlane.kubeconfigController,
      pollInterval: '500ms',
      metricsAddr: '127.0.0.1:0',
      healthAddr: '127.0.0.1:0',
      session: 'unused',
      requireProfile: true,
    },
    { BATCH_EMULATOR_HOST: peers.emulator.host, STORAGE_EMULATOR_HOST: peers.storageEmulatorHost },
  );
  assert.ok(parsed.ok, JSON.stringify(parsed));
  controller = await runController(parsed.config, pino({ level: process.env.DRMAA2_TEST_LOG ?? 'silent' }));
});

afterAll(async () => {
  await controller?.stop();
  await peers?.stop();
});

describe('two tenants, two profiles', () => {
  it("each job lands in its profile's project, with its VM service account, network and labels", async () => {
    await applyJson(job('team-a', 'hello', container));
    await applyJson(
      job('team-b', 'hello', { ...container, jobCategory: '$script$', remoteCommand: 'echo hi' }),
    );
    const a = await finished('team-a', 'hello');
    const b = await finished('team-b', 'hello');
    assert.equal(a.status?.state, 'Done');
    assert.equal(b.status?.state, 'Done');
    const jobA = batchJobOf(a)!;
    const jobB = batchJobOf(b)!;
    assert.match(jobA.name!, /^projects\/team-a-project\/locations\/europe-west4\/jobs\//);
    assert.match(jobB.name!, /^projects\/team-b-project\/locations\/us-central1\/jobs\//);
    assert.equal(
      jobA.allocationPolicy?.serviceAccount?.email,
      'batch-vms@team-a-project.iam.gserviceaccount.com',
    );
    assert.equal(
      jobB.allocationPolicy?.serviceAccount?.email,
      'batch-vms@team-b-project.iam.gserviceaccount.com',
    );
    const nic = jobA.allocationPolicy?.network?.networkInterfaces?.[0];
    assert.equal(nic?.noExternalIpAddress, true);
    assert.equal(nic?.subnetwork, 'projects/team-a-project/regions/europe-west4/subnetworks/jobs');
    assert.equal(jobA.labels?.['cost-center'], 'team-a');
    assert.equal(jobA.labels?.drmaa2session, 'team-a');
    assert.deepEqual(
      { name: a.status?.profile?.name, project: a.status?.profile?.project },
      { name: 'team-a', project: 'team-a-project' },
    );
  });

  it('a violation fails with PolicyViolation, the field and the rule, and Batch never hears of it', async () => {
    const calls = peers.emulator.callLog().length;
    await applyJson(job('team-a', 'script', { jobCategory: '$script$', remoteCommand: 'id' }));
    await applyJson(job('team-a', 'big-machine', { ...container, candidateMachines: ['n2-highmem-96'] }));
    for (const [name, field] of [
      ['script', /jobCategory/],
      ['big-machine', /candidateMachines/],
    ] as const) {
      const failed = await finished('team-a', name);
      assert.equal(failed.status?.subState, 'POLICY_VIOLATION');
      const condition = failed.status?.conditions?.find((c) => c.type === 'Failed');
      assert.equal(condition?.reason, 'PolicyViolation');
      assert.match(condition!.message, field);
      assert.match(condition!.message, /team-a/);
      assert.equal(batchJobOf(failed), undefined);
    }
    const creates = peers.emulator
      .callLog()
      .slice(calls)
      .filter((c) => c.method === 'CreateJob');
    assert.deepEqual(creates, [], 'no CreateJob for a violating job');
  });

  it('a namespace no profile selects gets NoProfile under --require-profile; naming a foreign profile: ProfileNotAllowed', async () => {
    await applyJson(job('nobody', 'orphan', container));
    await applyJson(job('team-b', 'borrow', container, { profile: 'team-a' }));
    const orphan = await finished('nobody', 'orphan');
    assert.equal(orphan.status?.conditions?.find((c) => c.type === 'Failed')?.reason, 'NoProfile');
    const borrow = await finished('team-b', 'borrow');
    assert.equal(borrow.status?.conditions?.find((c) => c.type === 'Failed')?.reason, 'ProfileNotAllowed');
    assert.equal(batchJobOf(orphan), undefined);
    assert.equal(batchJobOf(borrow), undefined);
  });

  it('profiles report Ready and how many jobs use them', async () => {
    await waitUntil(
      'team-a to count its jobs',
      async () => {
        const r = await kubectl(['get', 'batchprofile', 'team-a', '-o', 'json']);
        const status = (
          JSON.parse(r.stdout) as {
            status?: { jobs?: number; conditions?: { type: string; status: string }[] };
          }
        ).status;
        return (
          status?.jobs === 1 &&
          status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true
        );
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
  });

  it("a burst in one namespace does not hold back another namespace's single job", async () => {
    const BURST = 60;
    const docs = Array.from({ length: BURST }, (_, i) =>
      job('team-b', `burst-${i}`, { jobCategory: '$script$', remoteCommand: 'sleep 1' }),
    );
    const r = await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: docs }),
    );
    assert.equal(r.code, 0, r.stderr);
    await applyJson(job('team-a', 'single', container));
    const single = await finished('team-a', 'single');
    const createdAt = Date.parse(single.metadata.creationTimestamp!);
    const submittedAt = Date.parse(
      single.status!.conditions!.find((c) => c.type === 'Submitted')!.lastTransitionTime,
    );
    // The burst jobs handed out after the single job existed and before it was submitted (the API server's
    // times have whole seconds, so this is a bound, not an exact count).
    let between = 0;
    let pending = 0;
    const list = await kubectl(['get', 'drmaa2job', '-n', 'team-b', '-o', 'json']);
    for (const item of (JSON.parse(list.stdout) as { items: Drmaa2Job[] }).items) {
      if (!item.metadata.name.startsWith('burst-')) continue;
      const at = item.status?.conditions?.find(
        (c) => c.type === 'Submitted' && c.status === 'True',
      )?.lastTransitionTime;
      if (!at || Date.parse(at) > submittedAt) pending++;
      else if (Date.parse(at) > createdAt && Date.parse(at) < submittedAt) between++;
    }
    console.log(
      `fairness: team-a's single job was submitted with ${pending} of ${BURST} team-b burst jobs not yet submitted, ${between} submitted while it waited`,
    );
    assert.ok(between <= 8, `few burst jobs went first while the single job waited (${between})`);
  });
});
