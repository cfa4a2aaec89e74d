// The README's first command, `npm run demo`, run non-interactively from a clean state: every example
// reaches its expected end and the demo stops everything it started.
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { startControlPlane } from '../support/controlPlane.js';
import { runKubectl } from '../support/kubectl.js';

/** Runs the demo with --keep until every job has finished, then the plugin command it prints, then Ctrl-C. */
async function demoThenPlugin(): Promise<{ out: string; plugin: KubectlLike; exit: Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', '--keep'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const deadline = Date.now() + 240_000;
  try {
    while (!/--keep: still running/.test(out)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`demo: ${err}\n${out}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    // The command exactly as the demo prints it: PATH with the plugin, KUBECONFIG, the emulator, kubectl.
    const line =
      /^and: {2}PATH=(\S+):\$PATH KUBECONFIG=(\S+) BATCH_EMULATOR_HOST=(\S+) (\S+) drmaa2 logs hello -n demo$/m.exec(
        out,
      );
    assert.ok(line, `the demo prints the plugin command:\n${out}`);
    const [, bin, kubeconfig, host, kubectl] = line;
    const plugin = await runKubectl(kubectl!, ['drmaa2', 'logs', 'hello', '-n', 'demo'], {
      env: { PATH: `${bin}:${process.env.PATH ?? ''}`, KUBECONFIG: kubeconfig!, BATCH_EMULATOR_HOST: host! },
    });
    return { out, plugin, exit: exited };
  } finally {
    child.kill('SIGINT');
    await exited;
  }
}

type KubectlLike = Awaited<ReturnType<typeof runKubectl>>;

test('the demo runs every example to its expected end, shows what each printed, and the plugin reads it', async () => {
  const { out, plugin, exit } = await demoThenPlugin();
  // Ctrl-C stops everything the demo started, and the demo with it.
  assert.equal(await exit, 130);
  assert.match(out, /kubeconfig \(admin\): /);
  assert.match(out, /^BATCH_EMULATOR_HOST=127\.0\.0\.1:\d+$/m);
  assert.match(out, /^Batch emulator admin: http:\/\/127\.0\.0\.1:\d+\/admin\/jobs$/m);
  assert.match(out, /releasing held/);
  assert.match(out, /all 10 jobs finished; Failed: failing \(/);
  assert.match(
    out,
    /BatchProfile demo-tenant: 10 jobs submitted under it, in projects\/demo-tenant-project\//,
  );
  const lastTable = out.slice(out.lastIndexOf('NAME '));
  for (const name of [
    'array',
    'container',
    'gpu-spot',
    'held',
    'hello',
    'mpi',
    'staging',
    'queued-1',
    'queued-2',
  ]) {
    assert.match(lastTable, new RegExp(`^${name}\\s+Done\\s+SUCCEEDED`, 'm'), `${name} is Done`);
  }
  assert.match(lastTable, /^failing\s+Failed\s+FAILED/m);
  assert.match(lastTable, /^array\s+Done\s+SUCCEEDED\s+6\/6/m);
  assert.match(lastTable, /^mpi\s+Done\s+SUCCEEDED\s+4\/4/m);
  // Kueue admitted one queued job at a time: the one that waited, in Kueue's words, went to Batch only after
  // the other had finished.
  assert.match(out, /^Kueue: ClusterQueue demo-cq has 2 vCPUs for LocalQueue demo-queue/m);
  const queued = [
    ...out.matchAll(
      /^ {2}(queued-\d): (waited PENDING_ADMISSION \((.*)\), then )?submitted to Batch at (\S+), finished at (\S+)$/gm,
    ),
  ];
  assert.equal(queued.length, 2, out);
  // Each may be seen waiting a moment before Kueue looks at it; only one waited for want of quota.
  const waited = queued.filter((m) => /insufficient unused quota for cpu/.test(m[3] ?? ''));
  assert.equal(waited.length, 1, `exactly one queued job waited for quota:\n${out}`);
  assert.match(waited[0]![3]!, /^Waiting for Kueue to admit its Workload in LocalQueue demo-queue: /);
  const first = queued.find((m) => m !== waited[0])!;
  assert.ok(
    Date.parse(waited[0]![4]!) >= Date.parse(first[5]!) - 1000,
    `${waited[0]![1]} reached Batch (${waited[0]![4]}) after ${first[1]} finished (${first[5]})`,
  );
  // What the jobs printed, read back from the emulator's Cloud Logging as `drmaa2-batch logs` reads it.
  assert.match(out, /^output of hello \(Done\):\n {2}\[task 0\] hello from task 0 of 1: hello DRMAA2$/m);
  assert.match(out, /^output of failing \(Failed\):\n {2}\[task 0\] about to fail$/m);
  for (const index of [1, 2, 3, 4, 5, 6])
    assert.match(out, new RegExp(`^ {2}\\[task ${index - 1}\\] processing chunk ${index}$`, 'm'));
  // The README's promise: `kubectl drmaa2 logs hello -n demo` against the demo's cluster.
  assert.equal(plugin.code, 0, plugin.stderr);
  assert.equal(plugin.stdout, 'hello from task 0 of 1: hello DRMAA2\n');
});

// A control plane of its own to start first, then the demo's 240 s.
test(
  'with --kubeconfig the demo uses that cluster instead of starting its own',
  { timeout: 480_000 },
  async () => {
    const cp = await startControlPlane();
    try {
      const result = spawnSync(
        process.execPath,
        ['--import', 'tsx', 'scripts/demo.ts', '--kubeconfig', cp.kubeconfigAdmin],
        {
          encoding: 'utf8',
          timeout: 240_000,
        },
      );
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, /using the cluster of /);
      assert.doesNotMatch(result.stdout, /starting etcd/);
      assert.match(result.stdout, /all 8 jobs finished; Failed: failing \(/);
      assert.match(result.stdout, /no Kueue started for an existing cluster: examples\/kueue\/ is left out/);
      const jobs = await cp.kubectl(['get', 'd2job', '-n', 'demo', '-o', 'name']);
      assert.equal(jobs.stdout.trim().split('\n').length, 8, 'the jobs ran in the given cluster');
    } finally {
      await cp.stop();
    }
  },
);
