// The RBAC shipped in deploy/ against the real authorizer: the controller's ServiceAccount token can do what
// the controller does and nothing else. Denials are the API server's own (HTTP 403 from RBAC), so these tests
// cannot pass against anything but a real kube-apiserver.
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { startControlPlane, type ControlPlane } from '../support/controlPlane.js';
import type { KubectlResult } from '../support/kubectl.js';

const TEAM = 'rbac-team';
const OTHER = 'rbac-other';
let cp: ControlPlane;

beforeAll(async () => {
  cp = await startControlPlane();
  await cp.apply(namespace(TEAM) + '---\n' + namespace(OTHER));
  await cp.apply(drmaa2Job('hello'), { namespace: TEAM });
});

afterAll(async () => {
  await cp?.stop();
});

function asController(args: string[], input?: string): Promise<KubectlResult> {
  return cp.kubectl(args, { kubeconfig: cp.kubeconfigController, input });
}

function ok(result: KubectlResult): void {
  assert.equal(result.code, 0, result.stderr);
}

function forbidden(result: KubectlResult, resource: RegExp): void {
  assert.notEqual(result.code, 0, `expected a denial, got: ${result.stdout}`);
  assert.match(result.stderr, /\(Forbidden\)/);
  assert.match(result.stderr, /system:serviceaccount:drmaa2-system:drmaa2-batch-controller/);
  assert.match(result.stderr, resource);
}

test('the controller identity is the shipped ServiceAccount', async () => {
  assert.deepEqual(cp.controllerServiceAccount, {
    namespace: 'drmaa2-system',
    name: 'drmaa2-batch-controller',
  });
  const whoami = await asController(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
  ok(whoami);
  assert.equal(whoami.stdout, 'system:serviceaccount:drmaa2-system:drmaa2-batch-controller');
});

test('the controller can get, list and watch Drmaa2Jobs in every namespace', async () => {
  const got = await asController([
    'get',
    'drmaa2job',
    'hello',
    '-n',
    TEAM,
    '-o',
    'jsonpath={.metadata.name}',
  ]);
  ok(got);
  assert.equal(got.stdout, 'hello');
  const listed = await asController(['get', 'drmaa2jobs', '--all-namespaces', '-o', 'name']);
  ok(listed);
  assert.match(listed.stdout, /drmaa2job\.drmaa2\.io\/hello/);
  const watched = await asController([
    'get',
    '--raw',
    '/apis/drmaa2.io/v1alpha1/drmaa2jobs?watch=true&timeoutSeconds=1',
  ]);
  ok(watched);
  assert.match(watched.stdout, /"type":"ADDED".*"name":"hello"/);
});

test('the controller can patch Drmaa2Jobs, their status and their finalizers', async () => {
  const target = ['drmaa2job', 'hello', '-n', TEAM];
  ok(
    await asController(['patch', ...target, '--type=merge', '-p', '{"metadata":{"labels":{"seen":"yes"}}}']),
  );
  ok(
    await asController([
      'patch',
      ...target,
      '--type=merge',
      '-p',
      '{"metadata":{"finalizers":["drmaa2.io/batch-job"]}}',
    ]),
  );
  ok(
    await asController([
      'patch',
      ...target,
      '--type=merge',
      '--subresource=status',
      '-p',
      '{"status":{"state":"Queued"}}',
    ]),
  );
  const state = await cp.kubectl([
    'get',
    ...target,
    '-o',
    'jsonpath={.status.state} {.metadata.finalizers[0]}',
  ]);
  assert.equal(state.stdout, 'Queued drmaa2.io/batch-job');
  ok(
    await asController([
      'patch',
      ...target,
      '--type=json',
      '-p',
      '[{"op":"remove","path":"/metadata/finalizers"}]',
    ]),
  );
  const canUpdateFinalizers = await asController([
    'auth',
    'can-i',
    'update',
    'drmaa2jobs.drmaa2.io',
    '--subresource=finalizers',
    '-n',
    TEAM,
  ]);
  assert.equal(canUpdateFinalizers.stdout.trim(), 'yes');
});

test('the controller can create core and events.k8s.io Events in any namespace', async () => {
  ok(await asController(['create', '-f', '-'], coreEvent('hello.core')));
  ok(await asController(['create', '-f', '-'], eventsV1Event('hello.v1')));
  const reasons = await cp.kubectl(['get', 'events', '-n', TEAM, '-o', 'jsonpath={.items[*].reason}']);
  assert.deepEqual(reasons.stdout.split(' ').sort(), ['Submitted', 'Submitted']);
});

test('the controller can get, create and update its leader-election Lease in drmaa2-system', async () => {
  ok(await asController(['create', '-f', '-'], lease('drmaa2-system', 'replica-a')));
  ok(await asController(['replace', '-f', '-'], lease('drmaa2-system', 'replica-b')));
  const holder = await asController([
    'get',
    'lease',
    'drmaa2-batch-controller',
    '-n',
    'drmaa2-system',
    '-o',
    'jsonpath={.spec.holderIdentity}',
  ]);
  ok(holder);
  assert.equal(holder.stdout, 'replica-b');
});

test('the controller cannot write Leases outside drmaa2-system', async () => {
  forbidden(await asController(['create', '-f', '-'], lease(TEAM, 'replica-a')), /leases/);
});

test('the controller cannot read Secrets', async () => {
  ok(
    await cp.kubectl([
      'create',
      'secret',
      'generic',
      'batch-credentials',
      '-n',
      TEAM,
      '--from-literal=key=v',
    ]),
  );
  forbidden(
    await asController(['get', 'secret', 'batch-credentials', '-n', TEAM]),
    /secrets "batch-credentials"/,
  );
  forbidden(await asController(['get', 'secrets', '-n', 'drmaa2-system']), /secrets/);
  forbidden(await asController(['get', 'secrets', '--all-namespaces']), /secrets/);
  const watch = await asController(['auth', 'can-i', 'watch', 'secrets', '--all-namespaces']);
  assert.equal(watch.stdout.trim(), 'no');
});

test('the controller cannot create Pods', async () => {
  forbidden(
    await asController(['run', 'intruder', '-n', TEAM, '--image=busybox', '--restart=Never']),
    /pods/,
  );
});

test('the controller cannot delete namespaces', async () => {
  forbidden(await asController(['delete', 'namespace', OTHER, '--wait=false']), /namespaces/);
  ok(await cp.kubectl(['get', 'namespace', OTHER]));
});

test("the controller reads BatchProfiles and namespaces and writes the profiles' status, not the profiles", async () => {
  await cp.apply(batchProfile('team'));
  const got = await asController(['get', 'bprof', 'team', '-o', 'jsonpath={.spec.project}']);
  ok(got);
  assert.equal(got.stdout, 'team-batch');
  const listed = await asController(['get', 'bprof', '-o', 'name']);
  ok(listed);
  assert.equal(listed.stdout.trim(), 'batchprofile.drmaa2.io/team');
  const watched = await asController([
    'get',
    '--raw',
    '/apis/drmaa2.io/v1alpha1/batchprofiles?watch=true&timeoutSeconds=1',
  ]);
  ok(watched);
  assert.match(watched.stdout, /"type":"ADDED".*"name":"team"/);
  const labels = await asController(['get', 'namespace', TEAM, '-o', 'jsonpath={.metadata.labels}']);
  ok(labels);
  assert.equal((JSON.parse(labels.stdout) as Record<string, string>)['kubernetes.io/metadata.name'], TEAM);
  const namespaces = await asController(['get', 'namespaces', '-o', 'name']);
  ok(namespaces);
  assert.match(namespaces.stdout, new RegExp(`^namespace/${OTHER}$`, 'm'));
  const watchedNamespaces = await asController([
    'get',
    '--raw',
    '/api/v1/namespaces?watch=true&timeoutSeconds=1',
  ]);
  ok(watchedNamespaces);
  assert.match(watchedNamespaces.stdout, /"type":"ADDED"/);

  const status = {
    observedGeneration: 1,
    jobs: 2,
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'Valid',
        message: 'The profile is valid and in use as written.',
        lastTransitionTime: '2030-01-01T00:00:00Z',
      },
    ],
  };
  ok(
    await asController([
      'patch',
      'bprof',
      'team',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status }),
    ]),
  );
  const written = await cp.kubectl(['get', 'bprof', 'team', '-o', 'jsonpath={.status.jobs}']);
  assert.equal(written.stdout, '2');
  const current = await asController(['get', 'bprof', 'team', '-o', 'json']);
  ok(current);
  ok(await asController(['replace', '--subresource=status', '-f', '-'], current.stdout));

  forbidden(await asController(['create', '-f', '-'], batchProfile('mine')), /batchprofiles/);
  forbidden(
    await asController(['patch', 'bprof', 'team', '--type=merge', '-p', '{"spec":{"project":"elsewhere"}}']),
    /batchprofiles/,
  );
  forbidden(await asController(['replace', '-f', '-'], current.stdout), /batchprofiles/);
  forbidden(await asController(['delete', 'bprof', 'team', '--wait=false']), /batchprofiles/);
  forbidden(await asController(['label', 'namespace', OTHER, 'taken=yes']), /namespaces/);
  for (const verb of ['create', 'update', 'patch', 'delete', 'deletecollection']) {
    const profiles = await asController(['auth', 'can-i', verb, 'batchprofiles.drmaa2.io']);
    assert.equal(profiles.stdout.trim(), 'no', `${verb} batchprofiles`);
    const spaces = await asController(['auth', 'can-i', verb, 'namespaces']);
    assert.equal(spaces.stdout.trim(), 'no', `${verb} namespaces`);
  }
});

test('nothing beyond Drmaa2Jobs, BatchProfiles, namespaces and Events is granted outside drmaa2-system', async () => {
  const baseline = await rulesOf(await baselineKubeconfig(), OTHER);
  const granted = await rulesOf(cp.kubeconfigController, OTHER);
  const extra = granted.filter((rule) => !baseline.some((b) => b.key === rule.key));
  const allowed =
    /^(drmaa2jobs\.drmaa2\.io(\/status|\/finalizers)?|batchprofiles\.drmaa2\.io(\/status)?|namespaces|events|events\.events\.k8s\.io)$/;
  /** What may only be read: the profiles themselves and the namespaces. */
  const readOnly = /^(batchprofiles\.drmaa2\.io|namespaces)$/;
  assert.ok(extra.length > 0, 'the controller should have grants beyond an unbound ServiceAccount');
  for (const rule of extra) {
    assert.match(rule.resource, allowed, `unexpected grant: ${rule.key}`);
    assert.ok(!rule.verbs.includes('*'), `wildcard verb on ${rule.resource}`);
    if (readOnly.test(rule.resource)) assert.deepEqual(rule.verbs.sort(), ['get', 'list', 'watch'], rule.key);
  }
  assert.ok(extra.some((rule) => rule.resource === 'drmaa2jobs.drmaa2.io'));
});

interface RuleRow {
  resource: string;
  verbs: string[];
  key: string;
}

/** `kubectl auth can-i --list` as a table of rows; non-resource URLs count as rows too. */
async function rulesOf(kubeconfig: string, ns: string): Promise<RuleRow[]> {
  const result = await cp.kubectl(['auth', 'can-i', '--list', '-n', ns], { kubeconfig });
  ok(result);
  const [header, ...lines] = result.stdout.split('\n').filter((line) => line.trim() !== '');
  const urlsAt = header!.indexOf('Non-Resource URLs');
  const namesAt = header!.indexOf('Resource Names');
  const verbsAt = header!.indexOf('Verbs');
  return lines.map((line) => {
    const resource = line.slice(0, urlsAt).trim() || line.slice(urlsAt, namesAt).trim();
    const names = line.slice(namesAt, verbsAt).trim();
    const verbs = line
      .slice(verbsAt)
      .trim()
      .replace(/^\[|\]$/g, '')
      .split(' ');
    return { resource, verbs, key: `${resource} ${names} ${verbs.join(',')}` };
  });
}

/** What any ServiceAccount may do without a binding of its own (discovery, self-reviews, ...). */
async function baselineKubeconfig(): Promise<string> {
  ok(await cp.kubectl(['create', 'serviceaccount', 'unbound', '-n', OTHER]));
  return cp.serviceAccountKubeconfig({ namespace: OTHER, name: 'unbound' });
}

function batchProfile(name: string): string {
  return [
    'apiVersion: drmaa2.io/v1alpha1',
    'kind: BatchProfile',
    `metadata: {name: ${name}}`,
    `spec: {project: ${name}-batch, location: us-central1, namespaceSelector: {}}`,
    '',
  ].join('\n');
}

function namespace(name: string): string {
  return `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${name}}\n`;
}

function drmaa2Job(name: string): string {
  return [
    'apiVersion: drmaa2.io/v1alpha1',
    'kind: Drmaa2Job',
    `metadata: {name: ${name}}`,
    'spec:',
    '  jobTemplate:',
    '    remoteCommand: /bin/echo',
    '    args: [hello]',
    '    jobCategory: busybox:1.36',
    '',
  ].join('\n');
}

function regarding(): string {
  return `{apiVersion: drmaa2.io/v1alpha1, kind: Drmaa2Job, name: hello, namespace: ${TEAM}}`;
}

function coreEvent(name: string): string {
  return [
    'apiVersion: v1',
    'kind: Event',
    `metadata: {name: ${name}, namespace: ${TEAM}}`,
    `involvedObject: ${regarding()}`,
    'reason: Submitted',
    'message: submitted to Batch',
    'type: Normal',
    'source: {component: drmaa2-batch-controller}',
    '',
  ].join('\n');
}

function eventsV1Event(name: string): string {
  const microTime = `${new Date().toISOString().slice(0, 19)}.000000Z`;
  return [
    'apiVersion: events.k8s.io/v1',
    'kind: Event',
    `metadata: {name: ${name}, namespace: ${TEAM}}`,
    `eventTime: "${microTime}"`,
    'reportingController: drmaa2.io/batch-controller',
    'reportingInstance: replica-a',
    'action: Submit',
    'reason: Submitted',
    'note: submitted to Batch',
    'type: Normal',
    `regarding: ${regarding()}`,
    '',
  ].join('\n');
}

function lease(ns: string, holder: string): string {
  return [
    'apiVersion: coordination.k8s.io/v1',
    'kind: Lease',
    `metadata: {name: drmaa2-batch-controller, namespace: ${ns}}`,
    `spec: {holderIdentity: ${holder}, leaseDurationSeconds: 15}`,
    '',
  ].join('\n');
}
