// The test harness itself against the real peers: identities, what it applies from a deploy directory,
// restarts that keep the data, and a stop() that leaves no process, port or file behind.
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startPeers, type Peers } from '../support/startPeers.js';

const fixtures = fileURLToPath(new URL('fixtures/harness/', import.meta.url));
let peers: Peers;

beforeAll(async () => {
  peers = await startPeers({ crdDir: `${fixtures}crds`, deployDir: `${fixtures}deploy` });
});

afterAll(async () => {
  await peers?.stop();
});

function parse<T>(stdout: string): T {
  return JSON.parse(stdout) as T;
}

test('the control plane is a real kube-apiserver of the pinned version, started in seconds', async ({
  annotate,
}) => {
  const { controlPlane: cp } = peers;
  await annotate(`control plane start: ${JSON.stringify(cp.startup)}`);
  const version = await cp.kubectl(['version', '-o', 'json']);
  assert.equal(version.code, 0, version.stderr);
  const { serverVersion } = parse<{ serverVersion: { gitVersion: string } }>(version.stdout);
  assert.equal(serverVersion.gitVersion, 'v1.37.2');
  const namespaces = await cp.kubectl(['get', 'namespaces', '-o', 'name']);
  assert.match(namespaces.stdout, /namespace\/default/);
});

test('the admin identity is in system:masters; the controller identity is the ServiceAccount', async () => {
  const { controlPlane: cp } = peers;
  const admin = parse<{ status: { userInfo: { username: string; groups: string[] } } }>(
    (await cp.kubectl(['auth', 'whoami', '-o', 'json'])).stdout,
  );
  assert.equal(admin.status.userInfo.username, 'admin');
  assert.ok(admin.status.userInfo.groups.includes('system:masters'));
  const controller = await cp.kubectl(['auth', 'whoami', '-o', 'json'], {
    kubeconfig: cp.kubeconfigController,
  });
  const { username } = parse<{ status: { userInfo: { username: string } } }>(controller.stdout).status
    .userInfo;
  assert.equal(username, 'system:serviceaccount:widget-system:widget-controller');
  assert.deepEqual(cp.controllerServiceAccount, { namespace: 'widget-system', name: 'widget-controller' });
});

test('only the RBAC of the deploy directory is applied: the controller may list widgets, nothing else', async () => {
  const { controlPlane: cp } = peers;
  const allowed = await cp.kubectl(['get', 'widgets', '-A'], { kubeconfig: cp.kubeconfigController });
  assert.equal(allowed.code, 0, allowed.stderr);
  const denied = await cp.kubectl(['get', 'configmaps', '-A'], { kubeconfig: cp.kubeconfigController });
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, /forbidden/i);
  const deployments = await cp.kubectl(['get', 'deployments', '-A', '-o', 'name']);
  assert.equal(deployments.code, 0, deployments.stderr);
  assert.equal(deployments.stdout.trim(), '', 'workloads from the deploy directory must not be applied');
});

test('apply() is server-side apply and the CRD schema is enforced', async () => {
  const { controlPlane: cp } = peers;
  await cp.apply('apiVersion: v1\nkind: Namespace\nmetadata: {name: harness}\n');
  await cp.apply(widget('w1', 2), { namespace: 'harness', fieldManager: 'harness-test' });
  const managers = await cp.kubectl([
    'get',
    'widget',
    'w1',
    '-n',
    'harness',
    '--show-managed-fields',
    '-o',
    'json',
  ]);
  const { metadata } = parse<{ metadata: { managedFields: { manager: string; operation: string }[] } }>(
    managers.stdout,
  );
  assert.ok(metadata.managedFields.some((f) => f.manager === 'harness-test' && f.operation === 'Apply'));
  await assert.rejects(cp.apply(widget('w2', 0), { namespace: 'harness' }), /spec\.size/);
});

test('restarting etcd and the API server keeps the stored objects', async () => {
  const { controlPlane: cp } = peers;
  await cp.apply(widget('survivor', 3), { namespace: 'harness' });
  const before = cp.processIds();
  await cp.restartEtcd();
  await cp.restartApiServer();
  const after = cp.processIds();
  assert.notEqual(after.etcd, before.etcd);
  assert.notEqual(after.apiServer, before.apiServer);
  assert.ok(!isAlive(before.etcd) && !isAlive(before.apiServer));
  const got = await cp.kubectl(['get', 'widget', 'survivor', '-n', 'harness', '-o', 'jsonpath={.spec.size}']);
  assert.equal(got.stdout, '3', got.stderr);
});

test('fake-gcs-server answers the JSON API at STORAGE_EMULATOR_HOST', async () => {
  const base = peers.storageEmulatorHost;
  const created = await fetch(`${base}/storage/v1/b?project=test`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'harness-bucket' }),
  });
  assert.equal(created.status, 200);
  const list = (await (await fetch(`${base}/storage/v1/b`)).json()) as { items?: { name: string }[] };
  assert.deepEqual(
    list.items?.map((b) => b.name),
    ['harness-bucket'],
  );
});

test('stop() ends every process, frees the port and removes the directory', async () => {
  const { controlPlane: cp } = peers;
  const pids = cp.processIds();
  const port = Number(new URL(cp.server).port);
  await peers.stop();
  assert.ok(!isAlive(pids.etcd), 'etcd still runs');
  assert.ok(!isAlive(pids.apiServer), 'kube-apiserver still runs');
  assert.ok(!existsSync(cp.dir), 'the temp dir is left');
  assert.equal(await accepts(port), false);
});

function widget(name: string, size: number): string {
  return `apiVersion: example.test/v1\nkind: Widget\nmetadata: {name: ${name}}\nspec: {size: ${size}}\n`;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
