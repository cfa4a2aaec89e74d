// The local demo: a real control plane (etcd + kube-apiserver built from their Go modules), the Batch
// emulator executing jobs as local processes, fake-gcs-server, and the controller running as its
// ServiceAccount; it applies examples/, shows the jobs live until all have finished, and tells where the
// kubeconfig is. Ctrl-C stops everything. --keep leaves it running after the jobs finish; --once exits then.
// The local control plane also runs a real Kueue (built from its Go module with the other peers) in front of
// Batch, with a ClusterQueue of 2 vCPUs, for the jobs of examples/kueue/.
// With --kubeconfig PATH it uses that cluster instead of starting a local control plane (the CRD is installed
// there, and the controller runs with that kubeconfig's identity); examples/kueue/ is left out there.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { runController } from '../src/cli/controller.js';
import { runLogs } from '../src/cli/logs.js';
import { DEFAULT_READS_PER_MINUTE } from '../src/logs/reader.js';
import { parseConfig } from '../src/controller/config.js';
import type { Drmaa2Job } from '../src/api/drmaa2job.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startEmulator } from '../src/emulator/index.js';
import { startFakeGcs } from '../test/support/fakeGcs.js';
import { kubectlFor, mustSucceed, type Kubectl } from '../test/support/kubectl.js';
import { PROJECT_ROOT, peerBinDir } from '../test/support/peers.js';
import { startPeers } from '../test/support/startPeers.js';
import { startKueue } from '../test/support/kueue.js';
import { queues, resourceFlavor } from '../test/support/kueueQueues.js';

const keep = process.argv.includes('--keep');
const kubeconfigAt = process.argv.indexOf('--kubeconfig');
const externalKubeconfig = kubeconfigAt > 0 ? process.argv[kubeconfigAt + 1] : undefined;

interface Environment {
  kubectl: Kubectl;
  controllerKubeconfig: string;
  userKubeconfig: string;
  kubectlPath: string;
  batchEmulatorHost: string;
  /** The emulator's admin endpoint (its jobs, call counts, faults). */
  batchEmulatorAdmin: string;
  storageEmulatorHost: string;
  /** Whether a Kueue runs in front of Batch (the local control plane only). */
  kueue: boolean;
  stop(): Promise<void>;
}

/** A local control plane with the test peers, or an existing cluster with only the emulators started here. */
async function environment(): Promise<Environment> {
  if (!externalKubeconfig) {
    console.log(
      'starting etcd, kube-apiserver (with the CRD, RBAC and finalizer policy), fake-gcs-server and the Batch emulator ...',
    );
    // The local cluster gets the whole install, the finalizer policy included.
    const peers = await startPeers({ emulator: { stepMs: 300, adminPort: 0 }, finalizerPolicy: true });
    console.log('starting Kueue ...');
    const kueue = await startKueue(peers.controlPlane, {
      externalFrameworks: ['Drmaa2Job.v1alpha1.drmaa2.io'],
    }).catch(async (err: unknown) => {
      await peers.stop();
      throw err;
    });
    // The optional component of the install that lets the controller manage Workloads.
    await peers.controlPlane.apply(readFileSync(join(PROJECT_ROOT, 'deploy', 'kueue', 'rbac.yaml'), 'utf8'));
    return {
      kubectl: peers.controlPlane.kubectl,
      controllerKubeconfig: peers.controlPlane.kubeconfigController,
      userKubeconfig: peers.controlPlane.kubeconfigAdmin,
      kubectlPath: join(peers.controlPlane.binDir, 'kubectl'),
      batchEmulatorHost: peers.emulator.host,
      batchEmulatorAdmin: peers.emulator.adminUrl,
      storageEmulatorHost: peers.storageEmulatorHost,
      kueue: true,
      stop: async () => {
        await kueue.stop();
        await peers.stop();
      },
    };
  }
  console.log(
    `using the cluster of ${externalKubeconfig}; starting fake-gcs-server and the Batch emulator ...`,
  );
  const binDir = await peerBinDir();
  const kubectl = kubectlFor(binDir, externalKubeconfig, mkdtempSync(join(tmpdir(), 'drmaa2-demo-kubectl-')));
  mustSucceed(
    await kubectl(['apply', '--server-side', '-k', join(PROJECT_ROOT, 'crds')]),
    'installing the CRD',
  );
  mustSucceed(
    await kubectl(['wait', '--for=condition=Established', 'crd/drmaa2jobs.drmaa2.io', '--timeout=60s']),
    'CRD',
  );
  const [emulator, gcs] = await Promise.all([startEmulator({ stepMs: 300, adminPort: 0 }), startFakeGcs()]);
  return {
    kubectl,
    controllerKubeconfig: externalKubeconfig,
    userKubeconfig: externalKubeconfig,
    kubectlPath: join(binDir, 'kubectl'),
    batchEmulatorHost: emulator.host,
    batchEmulatorAdmin: emulator.adminUrl,
    storageEmulatorHost: gcs.storageEmulatorHost,
    kueue: false,
    stop: async () => {
      await Promise.all([emulator.stop(), gcs.stop()]);
    },
  };
}
const NS = 'demo';
/** Kueue's side of the demo: a ClusterQueue with room for one job of 2 vCPUs, and the namespace's LocalQueue. */
const CLUSTER_QUEUE = 'demo-cq';
const LOCAL_QUEUE = 'demo-queue';
const QUEUE_CPUS = '2';

const DEMO_PROFILE = {
  apiVersion: 'drmaa2.io/v1alpha1',
  kind: 'BatchProfile',
  metadata: { name: 'demo-tenant' },
  spec: {
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': NS } },
    default: true,
    project: 'demo-tenant-project',
    location: 'europe-west4',
    serviceAccount: { email: 'batch-vms@demo-tenant-project.iam.gserviceaccount.com' },
    labels: { 'cost-center': 'demo' },
    securityLevel: 'privileged',
  },
};

function row(cells: string[], widths: number[]): string {
  return cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
}

async function main(): Promise<number> {
  const env = await environment();
  const stopAll: (() => Promise<void>)[] = [() => env.stop()];
  const stop = async () => {
    for (const s of stopAll.reverse()) await s().catch(() => undefined);
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  process.once('SIGTERM', () => void stop().then(() => process.exit(143)));
  try {
    const parsed = parseConfig(
      {
        kubeconfig: env.controllerKubeconfig,
        pollInterval: '1s',
        metricsAddr: '127.0.0.1:0',
        healthAddr: '127.0.0.1:0',
        session: 'demo',
        kueue: env.kueue,
      },
      { BATCH_EMULATOR_HOST: env.batchEmulatorHost, STORAGE_EMULATOR_HOST: env.storageEmulatorHost },
    );
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    const controller = await runController(parsed.config, pino({ level: 'warn' }));
    stopAll.push(() => controller.stop());
    const kubectl = env.kubectl;
    await kubectl(['create', 'namespace', NS]);
    // The namespace's jobs run under a profile: its project, location, VM identity and labels, as a platform
    // team would give a tenant (privileged, since the examples include scripts and an MPI job).
    const profile = await kubectl(['apply', '-f', '-'], { input: JSON.stringify(DEMO_PROFILE) });
    if (profile.code !== 0) throw new Error(`BatchProfile: ${profile.stderr}`);
    const dir = join(PROJECT_ROOT, 'examples');
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .map((f) => join(dir, f));
    if (env.kueue) {
      const kueueObjects = [
        resourceFlavor('default-flavor'),
        ...queues(NS, CLUSTER_QUEUE, LOCAL_QUEUE, { cpu: QUEUE_CPUS }),
      ];
      const r = await kubectl(['apply', '-f', '-'], {
        input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: kueueObjects }),
      });
      if (r.code !== 0) throw new Error(`Kueue's queues: ${r.stderr}`);
      files.push(join(dir, 'kueue', 'queued.yaml'));
    } else {
      console.log('no Kueue started for an existing cluster: examples/kueue/ is left out');
    }
    for (const file of files) {
      const r = await kubectl(['apply', '-n', NS, '-f', file]);
      if (r.code !== 0) throw new Error(`${file}: ${r.stderr}`);
    }
    console.log(`kubeconfig (admin): ${env.userKubeconfig}`);
    // The Batch side of what the controller did, for the real client or `drmaa2-batch` commands.
    console.log(`BATCH_EMULATOR_HOST=${env.batchEmulatorHost}`);
    console.log(`Batch emulator admin: ${env.batchEmulatorAdmin}/admin/jobs`);
    console.log(`try: ${env.kubectlPath} --kubeconfig ${env.userKubeconfig} get d2job -n ${NS} -o wide`);
    // The kubectl plugin is bin/kubectl-drmaa2; kubectl finds it on PATH, and it finds the cluster as kubectl
    // does (KUBECONFIG) and the emulator through BATCH_EMULATOR_HOST, which serves Cloud Logging too.
    console.log(
      `and:  PATH=${join(PROJECT_ROOT, 'bin')}:$PATH KUBECONFIG=${env.userKubeconfig} BATCH_EMULATOR_HOST=${env.batchEmulatorHost} ${env.kubectlPath} drmaa2 logs hello -n ${NS}\n`,
    );
    const shown = new Set<string>();
    /** What a finished job printed, read as `drmaa2-batch logs NAME --all-tasks` reads it. */
    const showOutput = async (job: Drmaa2Job) => {
      shown.add(job.metadata.name);
      const text: string[] = [];
      const collect = (chunk: string) => text.push(chunk);
      await runLogs(
        job.metadata.name,
        {
          namespace: NS,
          kubeconfig: env.userKubeconfig,
          allTasks: true,
          readsPerMinute: DEFAULT_READS_PER_MINUTE,
          batchEmulatorHost: env.batchEmulatorHost,
        },
        { out: collect, err: collect },
      );
      const body = text.join('').trimEnd().split('\n').slice(0, 12);
      console.log(`output of ${job.metadata.name} (${job.status?.state}):\n  ${body.join('\n  ')}\n`);
    };
    const widths = [12, 11, 22, 6, 40, 10];
    let released = false;
    /** Jobs seen waiting for Kueue's admission, with the last reason their status gave (Kueue's words). */
    const waitedForKueue = new Map<string, string>();
    for (;;) {
      const r = await kubectl(['get', 'drmaa2jobs', '-n', NS, '-o', 'json']);
      const jobs = (JSON.parse(r.stdout) as { items: Drmaa2Job[] }).items;
      const lines = [row(['NAME', 'STATE', 'SUBSTATE', 'TASKS', 'BATCH JOB', 'DURATION'], widths)];
      for (const job of jobs) {
        const s = job.status ?? {};
        const tasks = s.tasks ? `${s.tasks.succeeded}/${s.tasks.total}` : '';
        lines.push(
          row(
            [
              job.metadata.name,
              s.state ?? '',
              s.subState ?? '',
              tasks,
              (s.batchJob?.name ?? '').split('/').pop() ?? '',
              s.jobInfo?.wallclockTime ?? '',
            ],
            widths,
          ),
        );
      }
      console.log(`${lines.join('\n')}\n`);
      for (const job of jobs)
        if (job.status?.subState === 'PENDING_ADMISSION')
          waitedForKueue.set(job.metadata.name, job.status.message ?? '');
      const held = jobs.filter((j) => j.status?.state === 'QueuedHeld');
      if (!released && held.length > 0) {
        released = true;
        for (const job of held) {
          console.log(`releasing ${job.metadata.name} (spec.hold: false)`);
          await kubectl([
            'patch',
            'drmaa2job',
            job.metadata.name,
            '-n',
            NS,
            '--type=merge',
            '-p',
            '{"spec":{"hold":false}}',
          ]);
        }
      }
      const finished = jobs.filter((j) =>
        j.status?.conditions?.some((c) => c.type === 'Finished' && c.status === 'True'),
      );
      for (const job of finished) if (!shown.has(job.metadata.name)) await showOutput(job);
      if (jobs.length > 0 && finished.length === jobs.length) {
        const failed = jobs.filter((j) => j.status?.state === 'Failed').map((j) => j.metadata.name);
        console.log(
          `all ${jobs.length} jobs finished; Failed: ${failed.join(', ') || 'none'} (examples/failing.yaml fails on purpose)`,
        );
        const under = jobs.filter((j) => j.status?.profile?.name === DEMO_PROFILE.metadata.name).length;
        const { project, location, serviceAccount } = DEMO_PROFILE.spec;
        console.log(
          `BatchProfile ${DEMO_PROFILE.metadata.name}: ${under} jobs submitted under it, in projects/${project}/locations/${location}, their VMs running as ${serviceAccount.email} (kubectl get bprof)`,
        );
        if (env.kueue) console.log(kueueSummary(jobs, waitedForKueue));
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    if (keep) {
      console.log('--keep: still running; Ctrl-C stops everything');
      await new Promise(() => undefined);
    }
    return 0;
  } finally {
    if (!keep) await stop();
  }
}

/** What Kueue did for the queued examples: who waited, in Kueue's words, and when it reached Batch. */
function kueueSummary(jobs: Drmaa2Job[], waited: Map<string, string>): string {
  const queued = jobs.filter((j) => j.metadata.labels?.['kueue.x-k8s.io/queue-name'] === LOCAL_QUEUE);
  const lines = [
    `Kueue: ClusterQueue ${CLUSTER_QUEUE} has ${QUEUE_CPUS} vCPUs for LocalQueue ${LOCAL_QUEUE} (kubectl get workloads -n ${NS})`,
  ];
  for (const job of queued) {
    const info = job.status?.jobInfo;
    const reason = waited.get(job.metadata.name);
    lines.push(
      `  ${job.metadata.name}: ${reason !== undefined ? `waited PENDING_ADMISSION (${reason}), then ` : ''}submitted to Batch at ${info?.submissionTime ?? '?'}, finished at ${info?.finishTime ?? '?'}`,
    );
  }
  return lines.join('\n');
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
