// Kueue as a real peer: its CRDs, webhooks and manager on the test control plane. Workloads are created
// directly, as a controller that owns its workloads creates them, and every admission decision seen here is
// made by Kueue's scheduler against a ClusterQueue's quota.
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { dump } from 'js-yaml';
import { startControlPlane, type ControlPlane } from '../support/controlPlane.js';
import { mustSucceed } from '../support/kubectl.js';
import { startKueue, type Kueue } from '../support/kueue.js';
import { waitUntil } from '../support/wait.js';

const NS = 'kueue-peer';
const API = 'kueue.x-k8s.io/v1beta2';
const FLAVOR = 'default-flavor';
const CLUSTER_QUEUE = 'cq-4cpu';
const LOCAL_QUEUE = 'team-queue';
const WAIT_MS = 60_000;

let cp: ControlPlane;
let kueue: Kueue;

beforeAll(async () => {
  cp = await startControlPlane();
  kueue = await startKueue(cp);
  await cp.apply(dump({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }));
});

afterAll(async () => {
  await kueue?.stop();
  await cp?.stop();
});

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

interface Workload {
  metadata: { name: string };
  status?: {
    conditions?: Condition[];
    admission?: {
      clusterQueue: string;
      podSetAssignments: {
        name: string;
        flavors?: Record<string, string>;
        resourceUsage?: Record<string, string>;
      }[];
    };
  };
}

interface ClusterQueue {
  status?: { conditions?: Condition[]; pendingWorkloads?: number; admittedWorkloads?: number };
}

interface Crd {
  spec: {
    versions: { name: string; served: boolean; storage: boolean }[];
    conversion?: { strategy: string; webhook?: { clientConfig?: { url?: string } } };
  };
}

async function getJson<T>(args: string[]): Promise<T> {
  return JSON.parse(
    mustSucceed(await cp.kubectl(['get', ...args, '-o', 'json']), `kubectl get ${args.join(' ')}`),
  ) as T;
}

const workload = (name: string) => getJson<Workload>(['workloads.v1beta2.kueue.x-k8s.io', name, '-n', NS]);

function condition(obj: { status?: { conditions?: Condition[] } }, type: string): Condition | undefined {
  return obj.status?.conditions?.find((c) => c.type === type);
}

const isTrue = (obj: { status?: { conditions?: Condition[] } }, type: string) =>
  condition(obj, type)?.status === 'True';

function workloadManifest(name: string, cpu: string, requests: Record<string, string> = { cpu }): string {
  return dump({
    apiVersion: API,
    kind: 'Workload',
    metadata: { name, namespace: NS },
    spec: {
      queueName: LOCAL_QUEUE,
      podSets: [
        {
          name: 'main',
          count: 1,
          template: {
            spec: {
              restartPolicy: 'Never',
              containers: [{ name: 'task', image: 'registry.k8s.io/pause:3.10', resources: { requests } }],
            },
          },
        },
      ],
    },
  });
}

async function create(yamlText: string) {
  return cp.kubectl(['create', '-f', '-'], { input: yamlText });
}

test('the CRDs serve v1beta1 and v1beta2, store v1beta2, and convert through Kueue', async ({ annotate }) => {
  assert.ok(kueue.crds.includes('workloads.kueue.x-k8s.io'), kueue.crds.join(', '));
  const summary: string[] = [];
  for (const name of kueue.crds) {
    const crd = await getJson<Crd>(['customresourcedefinition', name]);
    const versions = crd.spec.versions.map(
      (v) => `${v.name}${v.storage ? '*' : ''}${v.served ? '' : '(not served)'}`,
    );
    summary.push(`${name}: ${versions.join(' ')} conversion=${crd.spec.conversion?.strategy ?? 'None'}`);
  }
  await annotate(`served versions (* = storage):\n${summary.join('\n')}`);
  const wl = await getJson<Crd>(['customresourcedefinition', 'workloads.kueue.x-k8s.io']);
  assert.deepEqual(
    wl.spec.versions.map((v) => [v.name, v.served, v.storage]),
    [
      ['v1beta1', true, false],
      ['v1beta2', true, true],
    ],
  );
  assert.equal(wl.spec.conversion?.strategy, 'Webhook');
  assert.equal(wl.spec.conversion?.webhook?.clientConfig?.url, `${kueue.webhookUrl}/convert`);
});

test("Kueue's own validating webhook rejects a Workload that requests the reserved `pods` resource", async () => {
  const rejected = await create(workloadManifest('wl-reserved', '1', { cpu: '1', pods: '1' }));
  assert.notEqual(rejected.code, 0, 'the Workload must be rejected');
  assert.match(rejected.stderr, /vworkload\.kb\.io/);
  assert.match(rejected.stderr, /the key is reserved for internal kueue use/);
});

test('a 4-CPU ClusterQueue admits one of two 3-CPU Workloads, and the second once the first finishes', async ({
  annotate,
}) => {
  await cp.apply(
    [
      { apiVersion: API, kind: 'ResourceFlavor', metadata: { name: FLAVOR } },
      {
        apiVersion: API,
        kind: 'ClusterQueue',
        metadata: { name: CLUSTER_QUEUE },
        spec: {
          namespaceSelector: {},
          resourceGroups: [
            {
              coveredResources: ['cpu'],
              flavors: [{ name: FLAVOR, resources: [{ name: 'cpu', nominalQuota: '4' }] }],
            },
          ],
        },
      },
      {
        apiVersion: API,
        kind: 'LocalQueue',
        metadata: { name: LOCAL_QUEUE, namespace: NS },
        spec: { clusterQueue: CLUSTER_QUEUE },
      },
    ]
      .map((doc) => dump(doc))
      .join('---\n'),
  );
  await waitUntil(
    'the ClusterQueue to be Active',
    async () => isTrue(await getJson<ClusterQueue>(['clusterqueue', CLUSTER_QUEUE]), 'Active'),
    { timeoutMs: WAIT_MS, process: kueue.process() },
  );

  for (const name of ['wl-a', 'wl-b']) {
    const created = await create(workloadManifest(name, '3'));
    assert.equal(created.code, 0, created.stderr);
  }

  let admitted: Workload | undefined;
  let pending: Workload | undefined;
  await waitUntil(
    'Kueue to admit one Workload and leave the other pending',
    async () => {
      const both = await Promise.all(['wl-a', 'wl-b'].map(workload));
      admitted = both.find((wl) => isTrue(wl, 'Admitted'));
      pending = both.find((wl) => condition(wl, 'QuotaReserved')?.status === 'False');
      return admitted !== undefined && pending !== undefined;
    },
    { timeoutMs: WAIT_MS, process: kueue.process() },
  );
  assert.ok(admitted && pending);
  assert.notEqual(admitted.metadata.name, pending.metadata.name);
  await annotate(`admitted first: ${admitted.metadata.name}; pending: ${pending.metadata.name}`);

  assert.ok(isTrue(admitted, 'QuotaReserved'));
  assert.equal(admitted.status?.admission?.clusterQueue, CLUSTER_QUEUE);
  const [assignment] = admitted.status!.admission!.podSetAssignments;
  assert.equal(assignment?.name, 'main');
  assert.deepEqual(assignment?.flavors, { cpu: FLAVOR });
  assert.equal(assignment?.resourceUsage?.cpu, '3');

  assert.equal(pending.status?.admission, undefined);
  assert.notEqual(condition(pending, 'Admitted')?.status, 'True');
  const waiting = condition(pending, 'QuotaReserved')!;
  assert.equal(waiting.reason, 'Pending');
  assert.match(
    waiting.message ?? '',
    /couldn't assign flavors to pod set main: insufficient unused quota for cpu in flavor default-flavor, 2 more needed/,
  );
  await waitUntil(
    'the ClusterQueue to count one admitted and one pending Workload',
    async () => {
      const cq = await getJson<ClusterQueue>(['clusterqueue', CLUSTER_QUEUE]);
      return cq.status?.admittedWorkloads === 1 && cq.status?.pendingWorkloads === 1;
    },
    { timeoutMs: WAIT_MS, process: kueue.process() },
  );

  // Read through the conversion webhook: the stored v1beta2 object served as v1beta1.
  const asV1beta1 = await getJson<Workload>([
    'workloads.v1beta1.kueue.x-k8s.io',
    admitted.metadata.name,
    '-n',
    NS,
  ]);
  assert.equal(asV1beta1.status?.admission?.clusterQueue, CLUSTER_QUEUE);

  // The owner of a workload reports its end with the Finished condition on the status subresource.
  const finished = await cp.kubectl(
    ['apply', '--server-side', '--subresource=status', '--field-manager=workload-owner', '-f', '-'],
    {
      input: dump({
        apiVersion: API,
        kind: 'Workload',
        metadata: { name: admitted.metadata.name, namespace: NS },
        status: {
          conditions: [
            {
              type: 'Finished',
              status: 'True',
              reason: 'Succeeded',
              message: 'the job ran to completion',
              lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
            },
          ],
        },
      }),
    },
  );
  assert.equal(finished.code, 0, finished.stderr);

  const second = pending.metadata.name;
  let secondAdmitted: Workload | undefined;
  await waitUntil(
    `Kueue to admit ${second} once ${admitted.metadata.name} finished`,
    async () => {
      secondAdmitted = await workload(second);
      return isTrue(secondAdmitted, 'Admitted');
    },
    { timeoutMs: WAIT_MS, process: kueue.process() },
  );
  assert.ok(isTrue(secondAdmitted!, 'QuotaReserved'));
  assert.equal(secondAdmitted!.status?.admission?.clusterQueue, CLUSTER_QUEUE);
  assert.equal(secondAdmitted!.status?.admission?.podSetAssignments[0]?.resourceUsage?.cpu, '3');
  const first = await workload(admitted.metadata.name);
  assert.ok(isTrue(first, 'Finished'), 'the first Workload keeps its Finished condition');
  await waitUntil(
    'the ClusterQueue to count one admitted and no pending Workload',
    async () => {
      const cq = await getJson<ClusterQueue>(['clusterqueue', CLUSTER_QUEUE]);
      return cq.status?.admittedWorkloads === 1 && cq.status?.pendingWorkloads === 0;
    },
    { timeoutMs: WAIT_MS, process: kueue.process() },
  );
});
