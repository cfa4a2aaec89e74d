// The README's first command, `npm run demo`, run non-interactively from a clean state: every example
// reaches its expected end and the demo stops everything it started.
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startControlPlane } from '../support/controlPlane.js';

test('the demo runs every example to its expected end and exits', () => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', '--once'], {
    encoding: 'utf8',
    timeout: 240_000,
  });
  assert.equal(result.status, 0, result.stderr);
  const out = result.stdout;
  assert.match(out, /kubeconfig \(admin\): /);
  assert.match(out, /^BATCH_EMULATOR_HOST=127\.0\.0\.1:\d+$/m);
  assert.match(out, /^Batch emulator admin: http:\/\/127\.0\.0\.1:\d+\/admin\/jobs$/m);
  assert.match(out, /releasing held/);
  assert.match(out, /all 8 jobs finished; Failed: failing \(/);
  assert.match(
    out,
    /BatchProfile demo-tenant: 8 jobs submitted under it, in projects\/demo-tenant-project\//,
  );
  const lastTable = out.slice(out.lastIndexOf('NAME '));
  for (const name of ['array', 'container', 'gpu-spot', 'held', 'hello', 'mpi', 'staging']) {
    assert.match(lastTable, new RegExp(`^${name}\\s+Done\\s+SUCCEEDED`, 'm'), `${name} is Done`);
  }
  assert.match(lastTable, /^failing\s+Failed\s+FAILED/m);
  assert.match(lastTable, /^array\s+Done\s+SUCCEEDED\s+6\/6/m);
  assert.match(lastTable, /^mpi\s+Done\s+SUCCEEDED\s+4\/4/m);
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
      const jobs = await cp.kubectl(['get', 'd2job', '-n', 'demo', '-o', 'name']);
      assert.equal(jobs.stdout.trim().split('\n').length, 8, 'the jobs ran in the given cluster');
    } finally {
      await cp.stop();
    }
  },
);
