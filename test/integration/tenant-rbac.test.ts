// The tenant roles (deploy/tenant-rbac.yaml) and the finalizer guard (deploy/finalizer-guard.yaml) on the real
// API server: the roles reach people through the built-in `edit` and `view` roles (aggregated by the real
// kube-controller-manager), RBAC keeps tenants out of the status and out of other namespaces, and the guard
// keeps the controller's finalizer on against anyone but the controller and cluster admins. Every denial is the
// API server's own: RBAC's 403, or the admission policy's.
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { load, loadAll } from 'js-yaml';
import { FINALIZER } from '../../src/api/drmaa2job.js';
import { startControlPlane, type ControlPlane } from '../support/controlPlane.js';
import type { KubectlResult } from '../support/kubectl.js';
import { PROJECT_ROOT } from '../support/peers.js';
import { freePort } from '../support/ports.js';
import { startUntilReady, type PeerProcess } from '../support/process.js';
import { waitUntil } from '../support/wait.js';

const DEPLOY = join(PROJECT_ROOT, 'deploy');
const TEAM_A = 'team-a';
const TEAM_B = 'team-b';
/** Where the tenants' ServiceAccounts live: neither team namespace, so nothing comes from living there. */
const PEOPLE = 'people';
const EDITOR = { namespace: PEOPLE, name: 'alice' };
const VIEWER = { namespace: PEOPLE, name: 'victor' };
const EDITOR_USER = `system:serviceaccount:${PEOPLE}:alice`;
const VIEWER_USER = `system:serviceaccount:${PEOPLE}:victor`;
const POLICY = 'drmaa2-batch-finalizer-guard';
const GUARD_MESSAGE =
  /the finalizer drmaa2\.io\/batch-job may be removed only by the drmaa2-batch-controller/;
const RESOURCE = 'drmaa2jobs.drmaa2.io';
const READER = 'drmaa2-batchprofile-reader';

let cp: ControlPlane;
let aggregation: PeerProcess | undefined;
let editor: string;
let viewer: string;

interface Doc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  rules?: { apiGroups?: string[]; resources?: string[]; verbs?: string[] }[];
  spec?: Record<string, unknown>;
}

function deployDocs(file: string): Doc[] {
  return loadAll(readFileSync(join(DEPLOY, file), 'utf8')) as Doc[];
}

beforeAll(async () => {
  cp = await startControlPlane();
  aggregation = await startRoleAggregation(cp);
  for (const ns of [TEAM_A, TEAM_B, PEOPLE]) ok(await cp.kubectl(['create', 'namespace', ns]));
  for (const doc of [...deployDocs('tenant-rbac.yaml'), ...deployDocs('finalizer-guard.yaml')])
    await cp.apply(JSON.stringify(doc));
  for (const account of [EDITOR, VIEWER])
    ok(await cp.kubectl(['create', 'serviceaccount', account.name, '-n', account.namespace]));
  ok(await cp.kubectl(['create', 'rolebinding', 'alice-edit', '--clusterrole=edit', ...boundIn(EDITOR)]));
  ok(await cp.kubectl(['create', 'rolebinding', 'victor-view', '--clusterrole=view', ...boundIn(VIEWER)]));
  editor = await cp.serviceAccountKubeconfig(EDITOR);
  viewer = await cp.serviceAccountKubeconfig(VIEWER);
  await waitUntil(
    'the aggregated edit and view roles to grant Drmaa2Jobs',
    async () =>
      (await canI(editor, 'create', TEAM_A)) === 'yes' && (await canI(viewer, 'get', TEAM_A)) === 'yes',
    { timeoutMs: 60_000, intervalMs: 250, process: aggregation },
  );
  await waitForGuard();
});

afterAll(async () => {
  await aggregation?.stop();
  await cp?.stop();
});

/** kubectl create rolebinding's arguments for a binding of the account in team-a only. */
function boundIn(account: { namespace: string; name: string }): string[] {
  return [`--serviceaccount=${account.namespace}:${account.name}`, '-n', TEAM_A];
}

/**
 * kube-controller-manager running only the ClusterRole aggregation controller: it is what fills the built-in
 * `edit`, `admin` and `view` roles with the rules of the roles labelled to aggregate into them.
 */
async function startRoleAggregation(plane: ControlPlane): Promise<PeerProcess> {
  const port = await freePort();
  return startUntilReady(
    {
      name: 'kube-controller-manager (clusterrole-aggregation)',
      command: join(plane.binDir, 'kube-controller-manager'),
      args: [
        `--kubeconfig=${plane.kubeconfigAdmin}`,
        `--authentication-kubeconfig=${plane.kubeconfigAdmin}`,
        `--authorization-kubeconfig=${plane.kubeconfigAdmin}`,
        '--controllers=clusterrole-aggregation',
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        `--secure-port=${port}`,
        `--cert-dir=${join(plane.dir, 'kcm-aggregation-certs')}`,
        '--v=1',
      ],
      logFile: join(plane.dir, 'kube-controller-manager-aggregation.log'),
      workDir: plane.dir,
    },
    (proc) =>
      waitUntil(
        'the built-in edit role to aggregate drmaa2-batch-edit',
        async () => {
          const r = await plane.kubectl(['get', 'clusterrole', 'edit', '-o', 'json']);
          const role = JSON.parse(r.stdout || '{}') as Doc;
          return (role.rules ?? []).some((rule) => rule.resources?.includes('drmaa2jobs'));
        },
        { timeoutMs: 60_000, intervalMs: 250, process: proc },
      ),
  );
}

/** Policies apply a moment after they are stored: a server-side dry run as the editor shows when. */
async function waitForGuard(): Promise<void> {
  ok(await cp.kubectl(['create', '-f', '-'], { input: job('guard-probe', TEAM_A, [FINALIZER]) }));
  await waitUntil(
    'the finalizer guard to take effect',
    async () => {
      const r = await asUser(editor, [
        'patch',
        'drmaa2job',
        'guard-probe',
        '-n',
        TEAM_A,
        '--dry-run=server',
        '--type=json',
        '-p',
        '[{"op":"remove","path":"/metadata/finalizers"}]',
      ]);
      return r.code !== 0 && GUARD_MESSAGE.test(r.stderr);
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
}

function asUser(kubeconfig: string, args: string[], input?: string): Promise<KubectlResult> {
  return cp.kubectl(args, { kubeconfig, input });
}

function asController(args: string[]): Promise<KubectlResult> {
  return cp.kubectl(args, { kubeconfig: cp.kubeconfigController });
}

interface ApiResponse {
  status: number;
  message: string;
}

/**
 * One request to the API server with the token of a kubeconfig. kubectl reads an object before it patches it,
 * so only a direct PATCH or PUT shows that RBAC denies exactly that verb.
 */
function api(kubeconfig: string, method: 'PATCH' | 'PUT', path: string, body: unknown): Promise<ApiResponse> {
  const config = load(readFileSync(kubeconfig, 'utf8')) as {
    clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
    users: { user: { token: string } }[];
  };
  const { server, 'certificate-authority-data': ca } = config.clusters[0]!.cluster;
  const headers = {
    authorization: `Bearer ${config.users[0]!.user.token}`,
    'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json',
  };
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, server),
      { method, headers, ca: Buffer.from(ca, 'base64'), timeout: 10_000 },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          const parsed = JSON.parse(text || '{}') as { message?: string };
          resolve({ status: res.statusCode ?? 0, message: parsed.message ?? '' });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

function jobPath(ns: string, name: string, subresource?: string): string {
  return `/apis/drmaa2.io/v1alpha1/namespaces/${ns}/drmaa2jobs/${name}${subresource ? `/${subresource}` : ''}`;
}

/** RBAC's own denial of a direct request: 403 naming the user, the verb and the resource. */
function apiForbidden(response: ApiResponse, user: string, verb: string, resource: string): void {
  assert.equal(response.status, 403, response.message);
  assert.ok(
    response.message.includes(`User "${user}" cannot ${verb} resource "${resource}"`),
    `expected RBAC to deny ${verb} ${resource} to ${user}: ${response.message}`,
  );
}

async function canI(kubeconfig: string, verb: string, ns: string, subresource?: string): Promise<string> {
  const args = ['auth', 'can-i', verb, RESOURCE, '-n', ns];
  if (subresource) args.push(`--subresource=${subresource}`);
  return (await cp.kubectl(args, { kubeconfig })).stdout.trim();
}

function ok(result: KubectlResult): void {
  assert.equal(result.code, 0, result.stderr);
}

/** RBAC's own denial: 403 naming the user, the verb and the resource. */
function forbidden(result: KubectlResult, user: string, verb: string, resource: string): void {
  assert.notEqual(result.code, 0, `expected a denial, got: ${result.stdout}`);
  assert.match(result.stderr, /\(Forbidden\)/);
  assert.ok(
    result.stderr.includes(`User "${user}" cannot ${verb} resource "${resource}"`),
    `expected RBAC to deny ${verb} ${resource} to ${user}: ${result.stderr}`,
  );
}

/** RBAC's denial of whatever kubectl asked first (it may read before it writes): 403 on that resource. */
function deniedOn(result: KubectlResult, user: string, resource: string): void {
  assert.notEqual(result.code, 0, `expected a denial, got: ${result.stdout}`);
  assert.match(result.stderr, /\(Forbidden\)/);
  assert.ok(
    result.stderr.includes(`User "${user}" cannot `) && result.stderr.includes(` resource "${resource}"`),
    `expected RBAC to deny ${resource} to ${user}: ${result.stderr}`,
  );
}

/** The guard's denial: 403 from the admission policy, with its message. */
function refusedByGuard(result: KubectlResult): void {
  assert.notEqual(result.code, 0, `expected the guard to refuse, got: ${result.stdout}`);
  assert.match(result.stderr, /\(Forbidden\)/);
  assert.match(result.stderr, new RegExp(`ValidatingAdmissionPolicy '${POLICY}'`));
  assert.match(result.stderr, GUARD_MESSAGE);
}

/** examples/hello.yaml under another name and namespace, optionally with finalizers from its create. */
function job(name: string, namespace: string, finalizers?: string[]): string {
  const manifest = load(readFileSync(join(PROJECT_ROOT, 'examples', 'hello.yaml'), 'utf8')) as {
    metadata: Record<string, unknown>;
  };
  manifest.metadata = { name, namespace, ...(finalizers ? { finalizers } : {}) };
  return JSON.stringify(manifest);
}

async function finalizersOf(name: string, ns: string): Promise<string[] | undefined> {
  const r = await cp.kubectl(['get', 'drmaa2job', name, '-n', ns, '-o', 'json']);
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as { metadata: { finalizers?: string[] } }).metadata.finalizers ?? [];
}

const REMOVE_FINALIZERS = ['--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]'];

test('deploy/ ships both files; the tenant roles aggregate into edit, admin and view; only view reads profiles', async () => {
  const rendered = loadAll((await cp.kubectl(['kustomize', DEPLOY])).stdout) as Doc[];
  const names = rendered.map((doc) => `${doc.kind}/${doc.metadata.name}`);
  for (const expected of [
    'ClusterRole/drmaa2-batch-edit',
    'ClusterRole/drmaa2-batch-view',
    `ClusterRole/${READER}`,
    `ValidatingAdmissionPolicy/${POLICY}`,
    `ValidatingAdmissionPolicyBinding/${POLICY}`,
  ])
    assert.ok(names.includes(expected), `kubectl kustomize deploy/ renders ${expected}`);
  assert.ok(
    !rendered.some((doc) => doc.kind === 'ClusterRoleBinding' && doc.metadata.name.includes('batchprofile')),
    'whom the reader role reaches is for the platform team to choose: no binding is shipped',
  );

  const roles = Object.fromEntries(deployDocs('tenant-rbac.yaml').map((doc) => [doc.metadata.name, doc]));
  const aggregateTo = (name: string) =>
    Object.entries(roles[name]!.metadata.labels ?? {})
      .filter(([key, value]) => key.startsWith('rbac.authorization.k8s.io/aggregate-to-') && value === 'true')
      .map(([key]) => key.split('aggregate-to-')[1])
      .sort();
  assert.deepEqual(aggregateTo('drmaa2-batch-edit'), ['admin', 'edit']);
  assert.deepEqual(aggregateTo('drmaa2-batch-view'), ['view']);
  assert.deepEqual(aggregateTo(READER), [], 'bound on its own, cluster-wide');
  const grants = (name: string) =>
    (roles[name]!.rules ?? []).map((rule) => {
      assert.deepEqual(rule.apiGroups, ['drmaa2.io'], `${name}: only drmaa2.io`);
      return `${rule.resources!.join(',')}: ${rule.verbs!.join(',')}`;
    });
  const all = 'get,list,watch,create,update,patch,delete,deletecollection';
  // No subresource (status, finalizers) anywhere, no write of profiles anywhere.
  assert.deepEqual(grants('drmaa2-batch-edit'), [`drmaa2jobs: ${all}`]);
  assert.deepEqual(grants('drmaa2-batch-view'), [
    'drmaa2jobs: get,list,watch',
    'batchprofiles: get,list,watch',
  ]);
  assert.deepEqual(grants(READER), ['batchprofiles: get,list,watch']);
  assert.deepEqual(Object.keys(roles).sort(), ['drmaa2-batch-edit', 'drmaa2-batch-view', READER]);

  // What the cluster made of them: the built-in roles now carry the rules (view's flow into edit and admin).
  const builtIn = async (name: string) => {
    const r = await cp.kubectl(['get', 'clusterrole', name, '-o', 'json']);
    ok(r);
    const rules = ((JSON.parse(r.stdout) as Doc).rules ?? []).filter((rule) =>
      rule.apiGroups?.includes('drmaa2.io'),
    );
    const verbsOf = (resource: string) =>
      [
        ...new Set(
          rules.filter((rule) => rule.resources?.includes(resource)).flatMap((rule) => rule.verbs ?? []),
        ),
      ].sort();
    const resources = [...new Set(rules.flatMap((rule) => rule.resources ?? []))].sort();
    return Object.fromEntries(resources.map((resource) => [resource, verbsOf(resource)]));
  };
  const editVerbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
  const read = ['get', 'list', 'watch'];
  assert.deepEqual(await builtIn('edit'), { batchprofiles: read, drmaa2jobs: editVerbs });
  assert.deepEqual(await builtIn('admin'), { batchprofiles: read, drmaa2jobs: editVerbs });
  assert.deepEqual(await builtIn('view'), { batchprofiles: read, drmaa2jobs: read });
});

test('kubectl auth can-i: edit in team-a manages Drmaa2Jobs but not their status; nothing in team-b', async () => {
  const verbs = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];
  const answers = async (kubeconfig: string, ns: string, subresource?: string) =>
    Object.fromEntries(
      await Promise.all(verbs.map(async (verb) => [verb, await canI(kubeconfig, verb, ns, subresource)])),
    );
  const all = (answer: string) => Object.fromEntries(verbs.map((verb) => [verb, answer]));
  assert.deepEqual(await answers(editor, TEAM_A), all('yes'));
  assert.deepEqual(await answers(editor, TEAM_A, 'status'), all('no'));
  assert.deepEqual(await answers(editor, TEAM_A, 'finalizers'), all('no'));
  assert.deepEqual(await answers(editor, TEAM_B), all('no'));
  assert.deepEqual(await answers(viewer, TEAM_A), {
    ...all('no'),
    get: 'yes',
    list: 'yes',
    watch: 'yes',
  });
  assert.deepEqual(await answers(viewer, TEAM_A, 'status'), all('no'));
  assert.deepEqual(await answers(viewer, TEAM_B), all('no'));
});

/** The user reads the Drmaa2Job `name` in team-a, alone and in the namespace's list. */
async function canGetAndList(user: string, name: string): Promise<void> {
  const got = await asUser(user, ['get', 'drmaa2job', name, '-n', TEAM_A, '-o', 'jsonpath={.metadata.name}']);
  ok(got);
  assert.equal(got.stdout, name);
  const listed = await asUser(user, ['get', 'drmaa2jobs', '-n', TEAM_A, '-o', 'name']);
  ok(listed);
  assert.match(listed.stdout, new RegExp(`^drmaa2job\\.drmaa2\\.io/${name}$`, 'm'));
}

test('edit in team-a: create, get, list, patch, update and delete a Drmaa2Job', async () => {
  ok(await asUser(editor, ['create', '-f', '-'], job('hello', TEAM_A)));
  await canGetAndList(editor, 'hello');
  ok(
    await asUser(editor, [
      'patch',
      'drmaa2job',
      'hello',
      '-n',
      TEAM_A,
      '--type=merge',
      '-p',
      '{"spec":{"terminate":true},"metadata":{"labels":{"team":"a"}}}',
    ]),
  );
  ok(await asUser(editor, ['label', 'drmaa2job', 'hello', '-n', TEAM_A, 'reviewed=yes']));
  const current = await asUser(editor, ['get', 'drmaa2job', 'hello', '-n', TEAM_A, '-o', 'json']);
  ok(current);
  const updated = JSON.parse(current.stdout) as { metadata: { annotations?: Record<string, string> } };
  updated.metadata.annotations = { ...updated.metadata.annotations, owner: 'team-a' };
  ok(await asUser(editor, ['replace', '-f', '-'], JSON.stringify(updated)));
  const patched = await cp.kubectl([
    'get',
    'drmaa2job',
    'hello',
    '-n',
    TEAM_A,
    '-o',
    'jsonpath={.spec.terminate} {.metadata.labels.team} {.metadata.labels.reviewed} {.metadata.annotations.owner}',
  ]);
  assert.equal(patched.stdout, 'true a yes team-a');
  ok(await asUser(editor, ['delete', 'drmaa2job', 'hello', '-n', TEAM_A, '--timeout=30s']));
  assert.equal(await finalizersOf('hello', TEAM_A), undefined, 'gone');
});

test('edit in team-a cannot write the status: patch and update of drmaa2jobs/status are denied', async () => {
  ok(await cp.kubectl(['create', '-f', '-'], { input: job('status-kept', TEAM_A) }));
  const statusPath = jobPath(TEAM_A, 'status-kept', 'status');
  const record = { state: 'Running', batchJob: { name: 'projects/p/locations/l/jobs/theirs' } };
  const written = await api(cp.kubeconfigController, 'PATCH', statusPath, { status: record });
  assert.equal(written.status, 200, `the controller writes the status: ${written.message}`);
  const relabelled = await api(editor, 'PATCH', jobPath(TEAM_A, 'status-kept'), {
    metadata: { labels: { team: 'a' } },
  });
  assert.equal(
    relabelled.status,
    200,
    `the same request to the resource itself is allowed: ${relabelled.message}`,
  );

  const forged = { state: 'Done', batchJob: { name: 'projects/p/locations/l/jobs/someone-elses' } };
  apiForbidden(
    await api(editor, 'PATCH', statusPath, { status: forged }),
    EDITOR_USER,
    'patch',
    'drmaa2jobs/status',
  );
  const current = await cp.kubectl(['get', 'drmaa2job', 'status-kept', '-n', TEAM_A, '-o', 'json']);
  ok(current);
  const replaced = { ...(JSON.parse(current.stdout) as Record<string, unknown>), status: forged };
  apiForbidden(await api(editor, 'PUT', statusPath, replaced), EDITOR_USER, 'update', 'drmaa2jobs/status');
  // kubectl reads the status before it writes it, and is turned away there already.
  const target = ['drmaa2job', 'status-kept', '-n', TEAM_A, '--subresource=status'];
  deniedOn(
    await asUser(editor, ['patch', ...target, '--type=merge', '-p', JSON.stringify({ status: forged })]),
    EDITOR_USER,
    'drmaa2jobs/status',
  );
  deniedOn(
    await asUser(editor, ['replace', ...target, '-f', '-'], JSON.stringify(replaced)),
    EDITOR_USER,
    'drmaa2jobs/status',
  );
  const status = await cp.kubectl([
    'get',
    'drmaa2job',
    'status-kept',
    '-n',
    TEAM_A,
    '-o',
    'jsonpath={.status.state} {.status.batchJob.name}',
  ]);
  assert.equal(status.stdout, 'Running projects/p/locations/l/jobs/theirs', 'the status is the controller’s');
});

test('the guard: only the controller (or a cluster admin) takes the finalizer off, also after a delete', async () => {
  ok(await asUser(editor, ['create', '-f', '-'], job('guarded', TEAM_A)));
  // What the controller does before it submits: put its finalizer on.
  ok(
    await asController([
      'patch',
      'drmaa2job',
      'guarded',
      '-n',
      TEAM_A,
      '--type=merge',
      '-p',
      JSON.stringify({ metadata: { finalizers: [FINALIZER] } }),
    ]),
  );
  const target = ['drmaa2job', 'guarded', '-n', TEAM_A];
  assert.equal(await canI(editor, 'patch', TEAM_A), 'yes', 'RBAC alone would let this through');
  refusedByGuard(await asUser(editor, ['patch', ...target, ...REMOVE_FINALIZERS]));
  refusedByGuard(
    await asUser(editor, ['patch', ...target, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']),
  );
  refusedByGuard(
    await asUser(editor, [
      'patch',
      ...target,
      '--type=merge',
      '-p',
      '{"metadata":{"finalizers":["example.com/instead"]}}',
    ]),
  );
  const current = await cp.kubectl(['get', ...target, '-o', 'json']);
  ok(current);
  const withoutFinalizer = JSON.parse(current.stdout) as { metadata: { finalizers?: string[] } };
  delete withoutFinalizer.metadata.finalizers;
  refusedByGuard(await asUser(editor, ['replace', '-f', '-'], JSON.stringify(withoutFinalizer)));
  assert.deepEqual(await finalizersOf('guarded', TEAM_A), [FINALIZER]);

  // Everything else stays the tenant's: labels, and finalizers of their own, on and off again.
  ok(await asUser(editor, ['label', ...target, 'still=editable']));
  ok(
    await asUser(editor, [
      'patch',
      ...target,
      '--type=json',
      '-p',
      '[{"op":"add","path":"/metadata/finalizers/-","value":"example.com/mine"}]',
    ]),
  );
  assert.deepEqual(await finalizersOf('guarded', TEAM_A), [FINALIZER, 'example.com/mine']);
  ok(
    await asUser(editor, [
      'patch',
      ...target,
      '--type=merge',
      '-p',
      JSON.stringify({ metadata: { finalizers: [FINALIZER] } }),
    ]),
  );
  assert.deepEqual(await finalizersOf('guarded', TEAM_A), [FINALIZER]);

  // A delete leaves the resource to the controller: the tenant still cannot take the finalizer off.
  ok(await asUser(editor, ['delete', ...target, '--wait=false']));
  refusedByGuard(await asUser(editor, ['patch', ...target, ...REMOVE_FINALIZERS]));
  const held = await cp.kubectl(['get', ...target, '-o', 'jsonpath={.metadata.deletionTimestamp}']);
  assert.notEqual(held.stdout, '', 'held by the finalizer');

  ok(await asController(['patch', ...target, ...REMOVE_FINALIZERS]));
  ok(await cp.kubectl(['wait', '--for=delete', 'drmaa2job/guarded', '-n', TEAM_A, '--timeout=30s']));
});

test('the guard lets a cluster admin (system:masters) clean up after a controller that is gone', async () => {
  ok(await cp.kubectl(['create', '-f', '-'], { input: job('abandoned', TEAM_A, [FINALIZER]) }));
  ok(await cp.kubectl(['delete', 'drmaa2job', 'abandoned', '-n', TEAM_A, '--wait=false']));
  refusedByGuard(
    await asUser(editor, ['patch', 'drmaa2job', 'abandoned', '-n', TEAM_A, ...REMOVE_FINALIZERS]),
  );
  ok(await cp.kubectl(['patch', 'drmaa2job', 'abandoned', '-n', TEAM_A, ...REMOVE_FINALIZERS]));
  ok(await cp.kubectl(['wait', '--for=delete', 'drmaa2job/abandoned', '-n', TEAM_A, '--timeout=30s']));
});

test('edit in team-a grants nothing in team-b: create, get, list, patch and delete are denied', async () => {
  ok(await cp.kubectl(['create', '-f', '-'], { input: job('theirs', TEAM_B) }));
  forbidden(
    await asUser(editor, ['create', '-f', '-'], job('intruder', TEAM_B)),
    EDITOR_USER,
    'create',
    'drmaa2jobs',
  );
  forbidden(
    await asUser(editor, ['get', 'drmaa2job', 'theirs', '-n', TEAM_B]),
    EDITOR_USER,
    'get',
    'drmaa2jobs',
  );
  forbidden(await asUser(editor, ['get', 'drmaa2jobs', '-n', TEAM_B]), EDITOR_USER, 'list', 'drmaa2jobs');
  forbidden(
    await asUser(editor, ['get', 'drmaa2jobs', '--all-namespaces']),
    EDITOR_USER,
    'list',
    'drmaa2jobs',
  );
  apiForbidden(
    await api(editor, 'PATCH', jobPath(TEAM_B, 'theirs'), { metadata: { labels: { taken: 'yes' } } }),
    EDITOR_USER,
    'patch',
    'drmaa2jobs',
  );
  deniedOn(
    await asUser(editor, ['label', 'drmaa2job', 'theirs', '-n', TEAM_B, 'taken=yes']),
    EDITOR_USER,
    'drmaa2jobs',
  );
  forbidden(
    await asUser(editor, ['delete', 'drmaa2job', 'theirs', '-n', TEAM_B, '--wait=false']),
    EDITOR_USER,
    'delete',
    'drmaa2jobs',
  );
  assert.deepEqual(await finalizersOf('theirs', TEAM_B), [], 'still there, untouched');
  assert.equal(await finalizersOf('intruder', TEAM_B), undefined, 'never created');
});

test('view in team-a: get and list, but no create, patch or delete', async () => {
  ok(await cp.kubectl(['create', '-f', '-'], { input: job('shown', TEAM_A) }));
  await canGetAndList(viewer, 'shown');
  forbidden(
    await asUser(viewer, ['create', '-f', '-'], job('not-mine', TEAM_A)),
    VIEWER_USER,
    'create',
    'drmaa2jobs',
  );
  apiForbidden(
    await api(viewer, 'PATCH', jobPath(TEAM_A, 'shown'), { metadata: { labels: { viewed: 'yes' } } }),
    VIEWER_USER,
    'patch',
    'drmaa2jobs',
  );
  forbidden(
    await asUser(viewer, ['delete', 'drmaa2job', 'shown', '-n', TEAM_A, '--wait=false']),
    VIEWER_USER,
    'delete',
    'drmaa2jobs',
  );
  forbidden(await asUser(viewer, ['get', 'drmaa2jobs', '-n', TEAM_B]), VIEWER_USER, 'list', 'drmaa2jobs');
});

function profileManifest(name: string): string {
  return JSON.stringify({
    apiVersion: 'drmaa2.io/v1alpha1',
    kind: 'BatchProfile',
    metadata: { name },
    spec: {
      project: `${name}-batch`,
      location: 'europe-west4',
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': name } },
      default: true,
    },
  });
}

async function applyProfiles(): Promise<void> {
  for (const name of [TEAM_A, TEAM_B]) await cp.apply(profileManifest(name));
}

function profilePath(name: string, subresource?: string): string {
  return `/apis/drmaa2.io/v1alpha1/batchprofiles/${name}${subresource ? `/${subresource}` : ''}`;
}

async function canIProfiles(kubeconfig: string, verb: string, subresource?: string): Promise<string> {
  const args = ['auth', 'can-i', verb, 'batchprofiles.drmaa2.io'];
  if (subresource) args.push(`--subresource=${subresource}`);
  return (await cp.kubectl(args, { kubeconfig })).stdout.trim();
}

test("BatchProfiles: edit and view in a namespace grant none; the reader role bound to the tenants' group reads them, writes nothing", async () => {
  await applyProfiles();
  const users: [string, string][] = [
    [editor, EDITOR_USER],
    [viewer, VIEWER_USER],
  ];
  // A RoleBinding grants only what lives in its namespace: cluster-scoped profiles stay out of reach.
  for (const [user, name] of users) {
    forbidden(await asUser(user, ['get', 'bprof']), name, 'list', 'batchprofiles');
    forbidden(await asUser(user, ['get', 'bprof', TEAM_A]), name, 'get', 'batchprofiles');
  }
  // What the README tells the platform team to do, for the group of the tenants' accounts.
  ok(
    await cp.kubectl([
      'create',
      'clusterrolebinding',
      'drmaa2-batchprofile-readers',
      `--clusterrole=${READER}`,
      `--group=system:serviceaccounts:${PEOPLE}`,
    ]),
  );
  await waitUntil(
    'the reader binding to be in force',
    async () =>
      (await canIProfiles(editor, 'list')) === 'yes' && (await canIProfiles(viewer, 'list')) === 'yes',
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  const before = await cp.kubectl(['get', 'bprof', TEAM_A, '-o', 'json']);
  ok(before);
  for (const [user, name] of users) {
    const got = await asUser(user, ['get', 'bprof', TEAM_A, '-o', 'jsonpath={.spec.project}']);
    ok(got);
    assert.equal(got.stdout, 'team-a-batch');
    const listed = await asUser(user, ['get', 'bprof', '-o', 'name']);
    ok(listed);
    assert.deepEqual(listed.stdout.trim().split('\n').sort(), [
      'batchprofile.drmaa2.io/team-a',
      'batchprofile.drmaa2.io/team-b',
    ]);
    const watched = await asUser(user, [
      'get',
      '--raw',
      '/apis/drmaa2.io/v1alpha1/batchprofiles?watch=true&timeoutSeconds=1',
    ]);
    ok(watched);
    assert.match(watched.stdout, /"type":"ADDED".*"name":"team-a"/);

    forbidden(
      await asUser(user, ['create', '-f', '-'], profileManifest('mine')),
      name,
      'create',
      'batchprofiles',
    );
    apiForbidden(
      await api(user, 'PATCH', profilePath(TEAM_A), { spec: { project: 'elsewhere' } }),
      name,
      'patch',
      'batchprofiles',
    );
    apiForbidden(
      await api(user, 'PUT', profilePath(TEAM_A), JSON.parse(before.stdout)),
      name,
      'update',
      'batchprofiles',
    );
    apiForbidden(
      await api(user, 'PATCH', profilePath(TEAM_A, 'status'), { status: { jobs: 99 } }),
      name,
      'patch',
      'batchprofiles/status',
    );
    apiForbidden(
      await api(user, 'PUT', profilePath(TEAM_A, 'status'), JSON.parse(before.stdout)),
      name,
      'update',
      'batchprofiles/status',
    );
    forbidden(
      await asUser(user, ['delete', 'bprof', TEAM_A, '--wait=false']),
      name,
      'delete',
      'batchprofiles',
    );
    for (const verb of ['create', 'update', 'patch', 'delete', 'deletecollection'])
      assert.equal(await canIProfiles(user, verb), 'no', `${name} ${verb}`);
    for (const verb of ['get', 'update', 'patch'])
      assert.equal(await canIProfiles(user, verb, 'status'), 'no', `${name} ${verb} status`);
  }
  const version = (r: KubectlResult) =>
    (JSON.parse(r.stdout) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  assert.equal(
    version(await cp.kubectl(['get', 'bprof', TEAM_A, '-o', 'json'])),
    version(before),
    'untouched',
  );
  assert.equal((await cp.kubectl(['get', 'bprof', 'mine', '--ignore-not-found', '-o', 'name'])).stdout, '');
});

test('BatchProfiles: a ClusterRole with resourceNames lets a team read its own profile and no other', async () => {
  await applyProfiles();
  const solo = { namespace: 'solo', name: 'carol' };
  const user = `system:serviceaccount:${solo.namespace}:${solo.name}`;
  ok(await cp.kubectl(['create', 'namespace', solo.namespace]));
  ok(await cp.kubectl(['create', 'serviceaccount', solo.name, '-n', solo.namespace]));
  const carol = await cp.serviceAccountKubeconfig(solo);
  ok(
    await cp.kubectl([
      'create',
      'clusterrole',
      'team-b-profile',
      '--verb=get',
      '--resource=batchprofiles.drmaa2.io',
      `--resource-name=${TEAM_B}`,
    ]),
  );
  ok(
    await cp.kubectl([
      'create',
      'clusterrolebinding',
      'team-b-profile',
      '--clusterrole=team-b-profile',
      `--serviceaccount=${solo.namespace}:${solo.name}`,
    ]),
  );
  await waitUntil(
    'the binding to be in force',
    async () =>
      (
        await cp.kubectl(['auth', 'can-i', 'get', `batchprofiles.drmaa2.io/${TEAM_B}`], { kubeconfig: carol })
      ).stdout.trim() === 'yes',
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  const own = await asUser(carol, ['get', 'bprof', TEAM_B, '-o', 'jsonpath={.metadata.name}']);
  ok(own);
  assert.equal(own.stdout, TEAM_B);
  forbidden(await asUser(carol, ['get', 'bprof', TEAM_A]), user, 'get', 'batchprofiles');
  forbidden(await asUser(carol, ['get', 'bprof']), user, 'list', 'batchprofiles');
});
