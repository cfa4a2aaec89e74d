// Two tenants, one Batch project: team-a tries, by accident and on purpose, to reach team-b's Batch jobs. Its
// manifests reuse team-b's job IDs and job names; an identity with status rights (what a hand-written
// wildcard role grants) points team-a's status at team-b's jobs; then terminate, a TTL and deletions run in
// several orders. The controller runs as its own process; the emulator's call log is the witness: no Batch
// job of team-b is cancelled or deleted before team-b itself deletes its resource, and nothing of team-b
// shows up in team-a's status. isolation-profiles.test.ts runs the same with a BatchProfile per team (both in
// the one project, each with its own session and poller) and --require-profile.
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { dump } from 'js-yaml';
import { LABEL_NAMESPACE, type Drmaa2Job } from '../../src/api/drmaa2job.js';
import type { ControllerProcess } from '../support/controllerProcess.js';
import type { KubectlResult } from '../support/kubectl.js';
import type { Peers } from '../support/startPeers.js';
import { controllerFor, crashLines, eventually, getJob, listJobs, startSuite, stopSuite } from './support.js';

const A = 'team-a';
const B = 'team-b';
const SECRET = 'team-b-private-value-7f3a';
/** Set by isolation-profiles.test.ts before it imports this file. */
const WITH_PROFILES = process.env.DRMAA2_ISOLATION_PROFILES === '1';
let peers: Peers;
let controller: ControllerProcess;
const tenant: Record<string, string> = {};
let statusWriter: string;
/** CancelJob and DeleteJob calls by Batch job ID, with the time they were answered. */
const mutations: { method: string; jobId: string; at: number }[] = [];
/** When team-b deleted each of its resources (the only moment its jobs may be cancelled or deleted). */
const releasedAt = new Map<string, number>();

function ok(result: KubectlResult, what: string): string {
  assert.equal(result.code, 0, `${what}: ${result.stderr}`);
  return result.stdout;
}

beforeAll(async () => {
  peers = await startSuite([]);
  const cp = peers.controlPlane;
  const docs: unknown[] = [];
  for (const ns of [A, B]) {
    docs.push(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'tenant', namespace: ns } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'tenant-edit', namespace: ns },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'drmaa2-batch-edit' },
        subjects: [{ kind: 'ServiceAccount', name: 'tenant', namespace: ns }],
      },
    );
  }
  // The identity that forges: rights on the status subresource in team-a, as a careless role would give.
  docs.push(
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'status-writer', namespace: A } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'status-writer', namespace: A },
      rules: [
        { apiGroups: ['drmaa2.io'], resources: ['drmaa2jobs', 'drmaa2jobs/status'], verbs: ['get', 'patch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'status-writer', namespace: A },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'status-writer' },
      subjects: [{ kind: 'ServiceAccount', name: 'status-writer', namespace: A }],
    },
  );
  if (WITH_PROFILES) {
    for (const ns of [A, B]) {
      (
        docs.find((d) => (d as { kind: string; metadata: { name: string } }).metadata.name === ns) as {
          metadata: { labels?: Record<string, string> };
        }
      ).metadata.labels = { tenant: ns };
      // The controller's own project and location for both: only the owner guard stands between them.
      docs.push({
        apiVersion: 'drmaa2.io/v1alpha1',
        kind: 'BatchProfile',
        metadata: { name: ns },
        spec: {
          namespaceSelector: { matchLabels: { tenant: ns } },
          default: true,
          project: 'emulator',
          location: 'europe-west4',
          securityLevel: 'baseline',
        },
      });
    }
  }
  await cp.apply(docs.map((d) => dump(d)).join('---\n'));
  for (const ns of [A, B]) tenant[ns] = await cp.serviceAccountKubeconfig({ namespace: ns, name: 'tenant' });
  statusWriter = await cp.serviceAccountKubeconfig({ namespace: A, name: 'status-writer' });
  for (const ns of [A, B]) {
    await eventually(
      `the tenant of ${ns} to be allowed`,
      async () => {
        const r = await cp.kubectl(['auth', 'can-i', 'create', 'drmaa2jobs.drmaa2.io', '-n', ns], {
          kubeconfig: tenant[ns],
        });
        return r.stdout.trim() === 'yes' ? true : r.stdout + r.stderr;
      },
      15_000,
      200,
    );
  }
  peers.emulator.onCall((call) => {
    if ((call.method === 'CancelJob' || call.method === 'DeleteJob') && call.code === 'OK' && call.jobId) {
      mutations.push({ method: call.method, jobId: call.jobId, at: Date.now() });
    }
  });
  controller = await controllerFor(peers, 'isolation', [
    '--concurrency',
    '4',
    ...(WITH_PROFILES ? ['--require-profile', '--location', 'europe-west4'] : []),
  ]);
});

afterAll(async () => {
  await stopSuite(peers, controller);
});

interface Spec {
  command?: string;
  jobName?: string;
  hold?: boolean;
  ttl?: number;
}

function manifest(ns: string, name: string, spec: Spec): Record<string, unknown> {
  return {
    apiVersion: 'drmaa2.io/v1alpha1',
    kind: 'Drmaa2Job',
    metadata: { name, namespace: ns },
    spec: {
      jobTemplate: {
        remoteCommand: spec.command ?? 'sleep 300',
        jobCategory: '$script$',
        candidateMachines: ['e2-standard-2'],
        jobEnvironment: ns === B ? { PRIVATE: SECRET } : { TEAM: 'a' },
        ...(spec.jobName ? { jobName: spec.jobName } : {}),
      },
      ...(spec.hold ? { hold: true } : {}),
      ...(spec.ttl !== undefined ? { ttlSecondsAfterFinished: spec.ttl } : {}),
    },
  };
}

/** As the namespace's own tenant (the shipped edit role), never as admin. */
async function asTenant(ns: string, args: string[], input?: string): Promise<string> {
  const r = await peers.controlPlane.kubectl([...args, '-n', ns], { kubeconfig: tenant[ns]!, input });
  return ok(r, `${ns}: kubectl ${args.join(' ')}`);
}

async function create(ns: string, name: string, spec: Spec): Promise<void> {
  await asTenant(ns, ['create', '-f', '-'], JSON.stringify(manifest(ns, name, spec)));
}

async function patchSpec(ns: string, name: string, spec: Record<string, unknown>): Promise<void> {
  await asTenant(ns, ['patch', 'drmaa2job', name, '--type=merge', '-p', JSON.stringify({ spec })]);
}

async function remove(ns: string, name: string): Promise<void> {
  if (ns === B) releasedAt.set(name, Date.now());
  await asTenant(ns, ['delete', 'drmaa2job', name, '--wait=false']);
}

/** Points a team-a resource's status at another Batch job, as the status writer. */
async function forge(name: string, batchJob: string): Promise<void> {
  const patch = { status: { batchJob: { name: batchJob } } };
  const r = await peers.controlPlane.kubectl(
    [
      'patch',
      'drmaa2job',
      name,
      '-n',
      A,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify(patch),
    ],
    { kubeconfig: statusWriter },
  );
  ok(r, `forging the status of ${name}`);
}

async function until(ns: string, name: string, check: (j: Drmaa2Job) => boolean, what: string) {
  let found: Drmaa2Job | undefined;
  await eventually(
    `${ns}/${name} ${what}`,
    async () => {
      found = await getJob(peers, ns, name);
      return found && check(found) ? true : `${found?.status?.state}/${found?.status?.subState}`;
    },
    90_000,
    250,
  );
  return found!;
}

async function gone(ns: string, name: string): Promise<void> {
  await eventually(
    `${ns}/${name} to be gone`,
    async () => !(await getJob(peers, ns, name)) || 'still there',
    90_000,
    250,
  );
}

const running = (j: Drmaa2Job) => j.status?.state === 'Running';

/** What of team-b a team-a status shows: its private value (also inside a JobInfo template copy), its
 * Batch job names or its resources' UIDs. */
function leaksOf(job: Drmaa2Job, b: Record<string, string>, bUids: string[]): string[] {
  const text = JSON.stringify(job.status ?? {});
  const template = job.status?.jobInfo?.extension?.extensionList?.jobtemplate_base64;
  const decoded = template ? Buffer.from(template, 'base64').toString('utf8') : '';
  const found: string[] = [];
  if (text.includes(SECRET) || decoded.includes(SECRET)) found.push(`${job.metadata.name}: team-b's value`);
  // A forged status names team-b's job in batchJob until the controller's next pass replaces it; JobInfo is
  // the controller's own writing, from jobs it proved its own, so a team-b job there is a leak.
  const info = job.status?.jobInfo?.id;
  if (info && Object.values(b).includes(info)) found.push(`${job.metadata.name}: JobInfo of ${info}`);
  for (const uid of bUids) if (text.includes(uid)) found.push(`${job.metadata.name}: team-b uid ${uid}`);
  return found;
}
const idOf = (name: string) => name.split('/').at(-1)!;

test(
  "no namespace can cancel, delete or read another namespace's Batch jobs",
  { timeout: 600_000 },
  async () => {
    // team-b's jobs, running: one with an explicit jobName, two without.
    for (const [name, spec] of [
      ['nightly', { jobName: 'nightly' }],
      ['victim', {}],
      ['victim2', {}],
      ['victim3', {}],
    ] as const)
      await create(B, name, spec);
    const b: Record<string, string> = {};
    const bUids: string[] = [];
    for (const name of ['nightly', 'victim', 'victim2', 'victim3']) {
      const job = await until(B, name, running, 'to run');
      if (WITH_PROFILES) assert.equal(job.status?.profile?.name, B, `${name} runs under team-b's profile`);
      b[name] = job.status!.batchJob!.name;
      bUids.push(job.metadata.uid, job.status!.batchJob!.uid ?? '');
    }
    // Every team-a status, read twice a second for the whole run.
    const leaks = new Set<string>();
    let reads = 0;
    const watcher = setInterval(() => {
      void listJobs(peers, A).then(
        (jobs) => {
          reads++;
          for (const job of jobs) for (const leak of leaksOf(job, b, bUids.filter(Boolean))) leaks.add(leak);
        },
        () => undefined,
      );
    }, 500);
    try {
      // By accident and on purpose: the same jobName, and team-b's Batch job IDs as jobName.
      await create(A, 'nightly', { jobName: 'nightly' });
      await create(A, 'squat-held', { jobName: idOf(b.victim!), hold: true });
      await create(A, 'squat', { jobName: idOf(b.victim!) });
      await create(A, 'forge-run', {});
      await create(A, 'forge-ttl', { command: 'true', ttl: 3600 });
      await create(A, 'forge-delete', {});
      const own: Record<string, string> = {};
      for (const name of ['nightly', 'squat', 'forge-run', 'forge-delete']) {
        const job = await until(A, name, running, 'to run');
        own[name] = job.status!.batchJob!.name;
        assert.ok(!Object.values(b).includes(own[name]), `${name} got a job of its own, not team-b's`);
      }
      assert.equal(
        (await until(A, 'squat-held', (j) => j.status?.state === 'QueuedHeld', 'held')).status?.state,
        'QueuedHeld',
      );
      const ttl = await until(A, 'forge-ttl', (j) => j.status?.state === 'Done', 'to finish');
      own['forge-ttl'] = ttl.status!.batchJob!.name;

      // Forged statuses, then terminate, a TTL and deletions.
      await forge('forge-run', b.nightly!);
      await forge('forge-ttl', b.victim!);
      await forge('forge-delete', b.victim2!);
      await patchSpec(A, 'forge-run', { terminate: true });
      await patchSpec(A, 'forge-ttl', { ttlSecondsAfterFinished: 0 });
      await remove(A, 'forge-delete');
      await remove(A, 'squat-held');
      // The forged names are refused; each resource goes on with its own job, which terminate cancels and the
      // TTL deletes.
      const terminated = await until(
        A,
        'forge-run',
        (j) => j.status?.conditions?.some((c) => c.type === 'Failed' && c.reason === 'Terminated') ?? false,
        'to be terminated',
      );
      assert.equal(terminated.status?.batchJob?.name, own['forge-run'], 'the record names its own job again');
      const expired = await until(A, 'forge-ttl', (j) => j.status?.batchJob?.deleted === true, 'to expire');
      assert.equal(expired.status?.batchJob?.name, own['forge-ttl']);
      await gone(A, 'forge-delete');
      await gone(A, 'squat-held');
      for (const name of ['forge-run', 'forge-ttl', 'forge-delete']) {
        const state = peers.emulator.jobs().find((j) => j.name === own[name])?.status?.state ?? 'gone';
        assert.match(
          state,
          name === 'forge-run' ? /CANCELL/ : /gone|DELETION_IN_PROGRESS/,
          `${name}'s own job`,
        );
      }

      // Deletions in the other order: team-b first for one pair, team-a first for the other.
      await remove(B, 'nightly');
      await gone(B, 'nightly');
      await remove(A, 'nightly');
      await remove(A, 'squat');
      await gone(A, 'nightly');
      await gone(A, 'squat');
      await remove(A, 'forge-run');
      await remove(A, 'forge-ttl');
      await gone(A, 'forge-run');
      await gone(A, 'forge-ttl');
      for (const name of ['victim', 'victim2', 'victim3']) await remove(B, name);
      for (const name of ['victim', 'victim2', 'victim3']) await gone(B, name);
    } finally {
      clearInterval(watcher);
    }
    assert.ok(reads > 3, `team-a's statuses were read ${reads} times`);
    assert.deepEqual([...leaks], [], "team-b's data in team-a's status");

    // The witness: the emulator's log of cancels and deletes.
    const early = mutations.filter((m) => {
      const owner = Object.entries(b).find(([, full]) => idOf(full) === m.jobId)?.[0];
      return owner !== undefined && m.at < (releasedAt.get(owner) ?? Infinity);
    });
    assert.deepEqual(early, [], "team-b's jobs were touched before team-b deleted them");
    for (const [name, full] of Object.entries(b)) {
      assert.ok(
        mutations.some((m) => m.jobId === idOf(full)),
        `team-b's own deletion of ${name} reached its Batch job (the witness sees mutations)`,
      );
    }
    const left = peers.emulator
      .jobs()
      .filter((j) => j.labels?.[LABEL_NAMESPACE] === A && j.status?.state !== 'DELETION_IN_PROGRESS');
    assert.deepEqual(
      left.map((j) => j.name),
      [],
      'every team-a job went with its resource',
    );
    const events = ok(await peers.controlPlane.kubectl(['get', 'events', '-n', A, '-o', 'json']), 'events');
    const notOwned = (
      JSON.parse(events) as { items: { reason?: string; involvedObject?: { name?: string } }[] }
    ).items.filter((e) => e.reason === 'BatchJobNotOwned');
    assert.ok(notOwned.length >= 3, `BatchJobNotOwned Warnings: ${notOwned.length}`);
    assert.deepEqual(crashLines(controller), []);
    console.log(
      WITH_PROFILES ? '(with a BatchProfile per team) ' : '',
      `isolation: team-b jobs ${Object.keys(b).length}, team-a resources 6 (2 colliding jobNames, 1 held squatter, 3 forged statuses); ` +
        `cancels/deletes of team-b jobs before team-b deleted them: ${early.length}; BatchJobNotOwned Warnings: ${notOwned.length}; ` +
        `team-a statuses read ${reads} times, team-b data found in them: ${leaks.size}`,
    );
  },
);
