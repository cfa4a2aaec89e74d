// Security: the shipped RBAC grants exactly what the controller needs and nothing else; logs and Events
// never carry secret_env values or the controller's token, even at debug level and while Batch fails;
// containers run privileged only for multi-node jobs or explicit docker options; the Deployment passes
// restricted Pod Security on the real API server.
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { LABEL_NAME, LABEL_NAMESPACE } from '../../src/api/drmaa2job.js';
import type { ControllerProcess } from '../support/controllerProcess.js';
import { PROJECT_ROOT } from '../support/peers.js';
import type { Peers } from '../support/startPeers.js';
import { controllerFor, eventually, finished, listJobs, startSuite, stopSuite } from './support.js';

const NS = 'tenant';
const SA = 'system:serviceaccount:drmaa2-system:drmaa2-batch-controller';
let peers: Peers;
let controller: ControllerProcess | undefined;

beforeAll(async () => {
  peers = await startSuite([NS], { emulator: { containers: 'simulate' } });
});

afterAll(async () => {
  await stopSuite(peers, controller);
});

/** `kubectl auth can-i --list`: resource -> sorted verbs. */
async function canI(namespace: string, user: string): Promise<Record<string, string>> {
  const r = await peers.controlPlane.kubectl(['auth', 'can-i', '--list', '-n', namespace, `--as=${user}`]);
  assert.equal(r.code, 0, r.stderr);
  const out: Record<string, string> = {};
  for (const line of r.stdout.split('\n').slice(1)) {
    const match = /^(\S+)\s+\[[^\]]*\]\s+\[[^\]]*\]\s+\[([^\]]*)\]/.exec(line);
    if (!match || match[1]!.startsWith('self')) continue;
    out[match[1]!] = match[2]!.split(' ').sort().join(' ');
  }
  return out;
}

/** What the controller may do beyond what every ServiceAccount may (the cluster's own defaults). */
async function grants(namespace: string): Promise<Record<string, string>> {
  const baseline = await canI(namespace, 'system:serviceaccount:tenant:nobody');
  const controller = await canI(namespace, SA);
  return Object.fromEntries(
    Object.entries(controller).filter(([resource, verbs]) => baseline[resource] !== verbs),
  );
}

test('RBAC: exactly the verbs the controller needs, in any namespace and in its own', async () => {
  const everywhere = {
    'drmaa2jobs.drmaa2.io': 'get list patch update watch',
    'drmaa2jobs.drmaa2.io/status': 'get patch update',
    'drmaa2jobs.drmaa2.io/finalizers': 'update',
    // BatchProfiles are cluster-scoped and read (their status written) for every namespace; namespaces are
    // read for the labels profiles select on.
    'batchprofiles.drmaa2.io': 'get list watch',
    'batchprofiles.drmaa2.io/status': 'get patch update',
    namespaces: 'get list watch',
    events: 'create patch',
    'events.events.k8s.io': 'create patch',
  };
  assert.deepEqual(await grants(NS), everywhere);
  assert.deepEqual(await grants('drmaa2-system'), {
    ...everywhere,
    'leases.coordination.k8s.io': 'create get update',
  });
  const denied: [string, string, string][] = [
    ['get', 'secrets', NS],
    ['list', 'secrets', 'drmaa2-system'],
    ['create', 'drmaa2jobs.drmaa2.io', NS],
    ['delete', 'drmaa2jobs.drmaa2.io', NS],
    ['create', 'pods', NS],
    ['delete', 'namespaces', ''],
    ['update', 'customresourcedefinitions.apiextensions.k8s.io', ''],
    ['update', 'batchprofiles.drmaa2.io', ''],
    ['update', 'namespaces', ''],
    ['create', 'clusterrolebindings.rbac.authorization.k8s.io', ''],
    ['update', 'leases.coordination.k8s.io', NS],
    ['impersonate', 'serviceaccounts', NS],
  ];
  for (const [verb, resource, namespace] of denied) {
    const args = [
      'auth',
      'can-i',
      verb,
      resource,
      `--as=${SA}`,
      ...(namespace ? ['-n', namespace] : ['--all-namespaces']),
    ];
    const r = await peers.controlPlane.kubectl(args);
    assert.equal(r.stdout.trim(), 'no', `${verb} ${resource} ${namespace} must be denied`);
  }
});

test('logs and Events never carry secret_env values or the controller token', async () => {
  const secretValue = 'projects/acme/secrets/db-password-q7Zx/versions/3';
  const secretEnv = Buffer.from(JSON.stringify({ DB_PASSWORD: secretValue })).toString('base64');
  const token = (
    load(readFileSync(peers.controlPlane.kubeconfigController, 'utf8')) as {
      users: { user: { token: string } }[];
    }
  ).users[0]!.user.token;
  const job = (name: string, extra: Record<string, string>) => ({
    apiVersion: 'drmaa2.io/v1alpha1',
    kind: 'Drmaa2Job',
    metadata: { name, namespace: NS },
    spec: {
      jobTemplate: {
        remoteCommand: 'true',
        jobCategory: 'busybox',
        candidateMachines: ['e2-standard-2'],
        extension: { extensionList: { secret_env: secretEnv, ...extra } },
      },
    },
  });
  // Every create fails until the controller has logged its failures (the request carries the secret),
  // then Batch fails half the time, so errors and retries are logged too.
  const injectedFaultLogged = () =>
    controller!.logs().some((l) => l.level === 40 && JSON.stringify(l).includes('injected fault'));
  peers.emulator.setFaults({ errors: { CreateJob: { probability: 1, codes: ['UNAVAILABLE'] } } });
  controller = await controllerFor(peers, 'security');
  for (const manifest of [job('with-secret', {}), job('invalid-with-secret', { tasks_per_node: '0' })]) {
    const r = await peers.controlPlane.kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
    assert.equal(r.code, 0, r.stderr);
  }
  await eventually(
    'a failed create to be logged',
    async () => (injectedFaultLogged() ? true : 'not yet'),
    30_000,
  );
  peers.emulator.setFaults({ errors: { '*': { probability: 0.5, codes: ['UNAVAILABLE'] } } });
  await eventually(
    'both to end',
    async () => {
      const items = await listJobs(peers, NS);
      return items.length === 2 && items.every(finished) ? true : 'not yet';
    },
    90_000,
  );
  peers.emulator.setFaults({});
  const submitted = peers.emulator.jobs().find((j) => j.labels?.[LABEL_NAME] === 'with-secret');
  assert.ok(JSON.stringify(submitted).includes(secretValue), 'the secret reached Batch as a secret variable');

  const logText = readFileSync(controller.logFile, 'utf8');
  assert.ok(injectedFaultLogged(), 'Batch errors were logged');
  const events = await peers.controlPlane.kubectl(['get', 'events.events.k8s.io', '-n', NS, '-o', 'json']);
  assert.equal(events.code, 0, events.stderr);
  assert.ok(JSON.parse(events.stdout).items.length > 0, 'Events were written');
  for (const [what, text] of [
    ['logs', logText],
    ['Events', events.stdout],
  ] as const) {
    assert.ok(!text.includes(secretValue), `${what} carry no secret_env value`);
    assert.ok(!text.includes(secretEnv), `${what} carry no secret_env extension`);
    assert.ok(!text.includes(token), `${what} carry no token`);
  }
});

test('containers are privileged only for multi-node jobs or explicit docker options', async () => {
  const ns = 'containers';
  assert.equal((await peers.controlPlane.kubectl(['create', 'namespace', ns])).code, 0);
  const cases: [string, Record<string, unknown>, (options: string) => boolean][] = [
    ['plain', {}, (o) => o === ''],
    [
      'gpu',
      { extension: { extensionList: { accelerators: '1*nvidia-tesla-t4' } } },
      (o) => !o.includes('--privileged'),
    ],
    ['multi-node', { minSlots: 2, maxSlots: 2 }, (o) => o.includes('--privileged')],
    [
      'docker-options',
      { extension: { extensionList: { docker_options: '--privileged --shm-size=1g' } } },
      (o) => o === '--privileged --shm-size=1g',
    ],
  ];
  for (const [name, fields] of cases) {
    const manifest = {
      apiVersion: 'drmaa2.io/v1alpha1',
      kind: 'Drmaa2Job',
      metadata: { name, namespace: ns },
      spec: {
        jobTemplate: {
          remoteCommand: 'true',
          jobCategory: 'busybox',
          candidateMachines: ['a2-highgpu-1g'],
          ...fields,
        },
      },
    };
    const r = await peers.controlPlane.kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
    assert.equal(r.code, 0, r.stderr);
  }
  controller ??= await controllerFor(peers, 'security');
  await eventually(
    'all four submitted',
    async () =>
      peers.emulator.jobs().filter((j) => j.labels?.[LABEL_NAMESPACE] === ns).length === 4 ? true : 'not yet',
    60_000,
  );
  for (const [name, , ok] of cases) {
    const job = peers.emulator
      .jobs()
      .find((j) => j.labels?.[LABEL_NAMESPACE] === ns && j.labels?.[LABEL_NAME] === name)!;
    const container = job.taskGroups?.[0]?.taskSpec?.runnables?.find((r) => r.container)?.container;
    assert.ok(container, `${name} runs a container`);
    const options = container.options ?? '';
    assert.ok(ok(options), `${name}: container options ${JSON.stringify(options)}`);
  }
});

test('the deploy/ kustomize base passes a server-side dry-run, the Deployment under restricted Pod Security', async () => {
  const cp = peers.controlPlane;
  const result = await cp.kubectl([
    'apply',
    '--server-side',
    '--dry-run=server',
    '-k',
    join(PROJECT_ROOT, 'deploy'),
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stdout,
    /deployment\.apps\/drmaa2-batch-controller serverside-applied \(server dry run\)/,
  );
  assert.doesNotMatch(result.stderr, /would violate PodSecurity/);
  const ns = await cp.kubectl(['get', 'namespace', 'drmaa2-system', '-o', 'jsonpath={.metadata.labels}']);
  assert.match(ns.stdout, /"pod-security.kubernetes.io\/enforce":"restricted"/);
  // The same Deployment made privileged is refused by the restricted namespace: the check is real.
  const rendered = (await cp.kubectl(['kustomize', join(PROJECT_ROOT, 'deploy')])).stdout;
  const privileged = rendered.replace('allowPrivilegeEscalation: false', 'allowPrivilegeEscalation: true');
  const refused = await cp.kubectl(['apply', '--server-side', '--dry-run=server', '-f', '-'], {
    input: privileged,
  });
  assert.match(refused.stderr + refused.stdout, /violate PodSecurity "restricted/);
});
