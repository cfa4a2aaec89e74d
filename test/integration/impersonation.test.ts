// Caller identity end to end. The controller runs as its own process with no Batch rights anywhere: the
// Batch emulator serves over TLS (the harness's certificates) and answers only calls that carry a token it
// issued, and the controller gets tokens the way a controller outside Google Cloud does, all through the
// unmodified google-auth-library: a ServiceAccount token the real kube-apiserver signed, exchanged for a
// federated token (STS), then for the controller's own service account's token, then, per BatchProfile, for
// the token of the account the profile impersonates (IAM Credentials). Each tenant's jobs are created, read
// and deleted as that tenant's account; a profile that points one tenant's identity at another tenant's
// project or VM account is refused by the emulator, so nothing of the other tenant's is touched.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import assert from 'node:assert/strict';
import type { Job } from '../../src/api/batch.js';
import type { Drmaa2Job } from '../../src/api/drmaa2job.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js';
import { trackDirectory, untrackDirectory } from '../support/cleanup.js';
import { startControlPlane, type ControlPlane } from '../support/controlPlane.js';
import { startControllerProcess, type ControllerProcess } from '../support/controllerProcess.js';
import { writeExternalAccount } from '../support/federation.js';
import { waitUntil } from '../support/wait.js';

const POOL = 'projects/123456789012/locations/global/workloadIdentityPools/clusters';
const AUDIENCE = `//iam.googleapis.com/${POOL}/providers/test-cluster`;
const CONTROLLER = 'drmaa2-controller@platform-project.iam.gserviceaccount.com';
const account = (name: string, project: string) => `${name}@${project}.iam.gserviceaccount.com`;
const CALLER_A = account('caller', 'team-a-project');
const CALLER_B = account('caller', 'team-b-project');
const VMS_A = account('vms', 'team-a-project');
const VMS_B = account('vms', 'team-b-project');
/** Nobody lets the controller mint its tokens. */
const STRANGER = account('stranger', 'team-a-project');

let plane: ControlPlane;
let emulator: RunningEmulator;
let controller: ControllerProcess;
let dir: string;

function profile(name: string, tenant: string, spec: Record<string, unknown>) {
  return {
    apiVersion: 'drmaa2.io/v1alpha1',
    kind: 'BatchProfile',
    metadata: { name },
    spec: {
      namespaceSelector: { matchLabels: { tenant } },
      default: true,
      location: 'europe-west4',
      securityLevel: 'baseline',
      ...spec,
    },
  };
}

const PROFILES = [
  profile('team-a', 'a', {
    project: 'team-a-project',
    serviceAccount: { email: VMS_A },
    impersonate: { serviceAccount: CALLER_A },
  }),
  profile('team-b', 'b', {
    project: 'team-b-project',
    serviceAccount: { email: VMS_B },
    impersonate: { serviceAccount: CALLER_B },
  }),
  // What a controller bug (or a platform team's slip) would do: team-b's identity aimed at team-a's project,
  // and at team-a's VM account.
  profile('crossed-project', 'c', {
    project: 'team-a-project',
    serviceAccount: { email: VMS_B },
    impersonate: { serviceAccount: CALLER_B },
  }),
  profile('crossed-vms', 'd', {
    project: 'team-b-project',
    serviceAccount: { email: VMS_A },
    impersonate: { serviceAccount: CALLER_B },
  }),
  profile('stranger', 'e', {
    project: 'team-a-project',
    serviceAccount: { email: VMS_A },
    impersonate: { serviceAccount: STRANGER },
  }),
];

async function kubectl(args: string[], input?: string) {
  return plane.kubectl(args, input === undefined ? {} : { input });
}

async function applyJson(doc: unknown): Promise<void> {
  const r = await kubectl(['apply', '-f', '-'], JSON.stringify(doc));
  assert.equal(r.code, 0, r.stderr);
}

function job(namespace: string, name: string, shell = 'echo hello') {
  return {
    apiVersion: 'drmaa2.io/v1alpha1',
    kind: 'Drmaa2Job',
    metadata: { name, namespace },
    spec: {
      jobTemplate: {
        jobCategory: 'busybox',
        remoteCommand: 'sh',
        args: ['-c', shell],
        candidateMachines: ['e2-standard-2'],
      },
    },
  };
}

async function get(namespace: string, name: string): Promise<Drmaa2Job> {
  const r = await kubectl(['get', 'drmaa2job', name, '-n', namespace, '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Drmaa2Job;
}

function batchJobOf(resource: Drmaa2Job): Job | undefined {
  return emulator.jobs().find((j) => j.labels?.['drmaa2-uid'] === resource.metadata.uid);
}

function synced(resource: Drmaa2Job) {
  return resource.status?.conditions?.find((c) => c.type === 'Synced');
}

/** Waits until the job says that Batch refused it (Synced=False) and returns it. */
async function refused(namespace: string, name: string): Promise<Drmaa2Job> {
  let last: Drmaa2Job | undefined;
  await waitUntil(
    `${namespace}/${name} to report the refusal`,
    async () => {
      last = await get(namespace, name);
      return synced(last)?.status === 'False';
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  return last!;
}

beforeAll(async () => {
  plane = await startControlPlane();
  dir = mkdtempSync(join(tmpdir(), 'drmaa2-impersonation-'));
  trackDirectory(dir);
  const sa = plane.controllerServiceAccount;
  mkdirSync(join(dir, 'batch'));
  const federated = `principal://iam.googleapis.com/${POOL}/subject/system:serviceaccount:${sa.namespace}:${sa.name}`;
  emulator = await startEmulator({
    stepMs: 20,
    workDir: join(dir, 'batch'),
    tls: {
      cert: readFileSync(join(plane.dir, 'apiserver.crt'), 'utf8'),
      key: readFileSync(join(plane.dir, 'apiserver.key'), 'utf8'),
    },
    iam: {
      federation: [
        {
          audience: AUDIENCE,
          subjectAudience: AUDIENCE,
          publicKeys: [readFileSync(join(plane.dir, 'sa.pub'), 'utf8')],
        },
      ],
      principals: {
        // The cluster's ServiceAccount may only become the controller's Google account, which may only
        // mint the tenants' callers' tokens: neither holds a right in any project.
        [federated]: { tokenCreatorOn: [CONTROLLER] },
        [CONTROLLER]: { tokenCreatorOn: [CALLER_A, CALLER_B] },
        [CALLER_A]: { projects: ['team-a-project'], actAs: [VMS_A], logProjects: ['team-a-project'] },
        [CALLER_B]: { projects: ['team-b-project'], actAs: [VMS_B] },
        [STRANGER]: { projects: ['team-a-project'], actAs: [VMS_A] },
      },
    },
  });
  // The token a projected ServiceAccount volume would hold, issued by the real API server.
  const token = await kubectl([
    'create',
    'token',
    sa.name,
    '-n',
    sa.namespace,
    `--audience=${AUDIENCE}`,
    '--duration=1h',
  ]);
  assert.equal(token.code, 0, token.stderr);
  const credentials = writeExternalAccount({
    dir,
    identityUrl: emulator.identityUrl,
    audience: AUDIENCE,
    subjectToken: token.stdout.trim(),
    serviceAccount: CONTROLLER,
  });
  for (const [ns, tenant] of [
    ['team-a', 'a'],
    ['team-b', 'b'],
    ['team-c', 'c'],
    ['team-d', 'd'],
    ['team-e', 'e'],
  ] as const) {
    assert.equal((await kubectl(['create', 'namespace', ns])).code, 0);
    assert.equal((await kubectl(['label', 'namespace', ns, `tenant=${tenant}`])).code, 0);
  }
  for (const p of PROFILES) await applyJson(p);
  controller = await startControllerProcess({
    kubeconfig: plane.kubeconfigController,
    dir,
    args: [
      '--project',
      'platform-project',
      '--location',
      'europe-west4',
      '--require-profile',
      '--poll-interval',
      '500ms',
      '--batch-endpoint',
      `127.0.0.1:${emulator.port}`,
      // The emulator serves Cloud Logging on the same port, over the same TLS and tokens.
      '--logging-endpoint',
      `127.0.0.1:${emulator.port}`,
      '--iam-credentials-endpoint',
      emulator.identityUrl,
    ],
    // The harness's CA, trusted as a Deployment would be told to: by Node for the token endpoints (added to
    // its roots), by gRPC for Batch (its roots file).
    env: {
      NODE_EXTRA_CA_CERTS: join(plane.dir, 'ca.crt'),
      GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: join(plane.dir, 'ca.crt'),
      GOOGLE_APPLICATION_CREDENTIALS: credentials,
    },
  });
}, 180_000);

afterAll(async () => {
  if (process.env.DRMAA2_TEST_LOG)
    for (const line of controller?.logs() ?? []) console.log(JSON.stringify(line).slice(0, 600));
  await controller?.stop();
  await emulator?.stop();
  await plane?.stop();
  if (dir) {
    rmSync(dir, { recursive: true, force: true });
    untrackDirectory(dir);
  }
});

describe('each profile as its own caller', () => {
  it("a tenant's job is created, followed and deleted as the account its profile impersonates", async () => {
    await applyJson(job('team-a', 'hello'));
    await applyJson(job('team-b', 'hello'));
    for (const ns of ['team-a', 'team-b']) {
      const r = await kubectl([
        'wait',
        '--for=condition=Finished',
        'drmaa2job/hello',
        '-n',
        ns,
        '--timeout=120s',
      ]);
      assert.equal(r.code, 0, `${ns}: ${r.stderr}\n${JSON.stringify((await get(ns, 'hello')).status)}`);
    }
    const a = await get('team-a', 'hello');
    const b = await get('team-b', 'hello');
    assert.equal(a.status?.state, 'Done');
    assert.deepEqual(a.status?.profile?.caller, { serviceAccount: CALLER_A });
    const jobA = batchJobOf(a)!;
    const jobB = batchJobOf(b)!;
    assert.ok(jobA.name!.startsWith('projects/team-a-project/'), jobA.name);
    assert.equal(jobA.allocationPolicy?.serviceAccount?.email, VMS_A);
    assert.ok(jobB.name!.startsWith('projects/team-b-project/'), jobB.name);
    const idOf = (j: Job) => j.name!.split('/').pop();
    const creates = emulator.callLog().filter((c) => c.method === 'CreateJob' && c.code === 'OK');
    assert.equal(creates.find((c) => c.jobId === idOf(jobA))?.principal, CALLER_A);
    assert.equal(creates.find((c) => c.jobId === idOf(jobB))?.principal, CALLER_B);

    assert.equal((await kubectl(['delete', 'drmaa2job', 'hello', '-n', 'team-a', '--timeout=60s'])).code, 0);
    const deletes = emulator.callLog().filter((c) => c.method === 'DeleteJob' && c.jobId === idOf(jobA));
    assert.ok(deletes.length > 0, 'the finalizer deleted the Batch job');
    assert.ok(
      deletes.every((c) => c.principal === CALLER_A),
      JSON.stringify(deletes),
    );
  });

  it("a failed task's output is read from Cloud Logging as the tenant's caller, into its status", async () => {
    await applyJson(job('team-a', 'broken', 'echo "cannot open input" >&2; exit 5'));
    const r = await kubectl([
      'wait',
      '--for=condition=Finished',
      'drmaa2job/broken',
      '-n',
      'team-a',
      '--timeout=120s',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const resource = await get('team-a', 'broken');
    const failed = resource.status?.conditions?.find((c) => c.type === 'Failed');
    assert.match(failed?.message ?? '', /Task 0 exited with code 5; its last output:\ncannot open input$/);
    const reads = emulator.callLog().filter((c) => c.method === 'ListLogEntries');
    assert.equal(reads.length, 1, JSON.stringify(reads));
    assert.equal(reads[0]!.principal, CALLER_A);
    assert.equal(reads[0]!.code, 'OK');
  });

  it("a profile aiming team-b's identity at team-a's project is refused by Batch, and nothing is created", async () => {
    await applyJson(job('team-c', 'cross'));
    const resource = await refused('team-c', 'cross');
    assert.match(synced(resource)?.message ?? '', /PERMISSION_DENIED|PermissionDenied/);
    assert.match(synced(resource)?.message ?? '', /batch\.jobs\.create/);
    assert.equal(batchJobOf(resource), undefined);
    const denied = emulator
      .callLog()
      .filter((c) => c.method === 'CreateJob' && c.code === 'PERMISSION_DENIED' && c.principal === CALLER_B);
    assert.ok(denied.length > 0, 'the create was made as team-b and refused');
  });

  it("a profile giving team-b's jobs team-a's VM account is refused: team-b may not act as it", async () => {
    await applyJson(job('team-d', 'cross'));
    const resource = await refused('team-d', 'cross');
    assert.match(synced(resource)?.message ?? '', /PermissionDenied: .*act as the specified service account/);
    assert.equal(batchJobOf(resource), undefined);
  });

  it('a caller the controller may not mint tokens for: the job waits with the reason, no Batch call', async () => {
    await applyJson(job('team-e', 'stranger'));
    const resource = await refused('team-e', 'stranger');
    assert.match(
      synced(resource)?.message ?? '',
      /^PermissionDenied: .*unable to impersonate: Permission 'iam\.serviceAccounts\.getAccessToken' denied/,
    );
    assert.equal(batchJobOf(resource), undefined);
    assert.equal(
      emulator.callLog().filter((c) => c.principal === STRANGER).length,
      0,
      'no Batch call was made as the stranger',
    );
  });

  it("the crossed profiles' failing polls leave the controller ready, and readiness names them", async () => {
    const health = controller.healthUrl();
    let answer = { status: 0, body: '' };
    await waitUntil(
      'the failing polls to show in the readiness answer',
      async () => {
        const r = await fetch(`${health}/readyz`);
        answer = { status: r.status, body: await r.text() };
        return /team-a-project\/locations\/europe-west4 session crossed-project: failing/.test(answer.body);
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    assert.equal(answer.status, 200, answer.body);
    assert.match(answer.body, /session team-a: ok/);
  });

  it('the controller never used its own identity, nor an unauthenticated call, on Batch', () => {
    const log = emulator.callLog();
    assert.ok(log.length > 0);
    assert.equal(log.filter((c) => c.principal === CONTROLLER).length, 0);
    assert.equal(log.filter((c) => c.code === 'UNAUTHENTICATED').length, 0, JSON.stringify(log.slice(0, 5)));
  });
});
