// The `drmaa2-batch controller` command's start-up contract: bad configuration is a clear error with exit
// code 2 before anything connects anywhere.
import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../../src/main.ts', import.meta.url));

function run(args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('DRMAA2_') && !k.endsWith('_EMULATOR_HOST')),
  );
  return spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'controller', ...args], {
    env: { ...clean, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

// Each test starts the CLI as a child process (through tsx), allowed as long as the spawn's own limit.
describe('drmaa2-batch controller', { timeout: 60_000 }, () => {
  it('without --project and --location exits 2 naming both', () => {
    const result = run([]);
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /--project \(or DRMAA2_PROJECT\) is required/);
    assert.match(result.stderr, /--location \(or DRMAA2_LOCATION\) is required/);
  });

  it('a bad poll interval exits 2', () => {
    const result = run(['--project', 'p', '--location', 'l', '--poll-interval', 'often']);
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /--poll-interval/);
  });

  it('an unreadable kubeconfig is a start-up error, not a crash later', () => {
    const result = run([
      '--project',
      'p',
      '--location',
      'l',
      '--kubeconfig',
      '/nonexistent/kubeconfig',
      '--metrics-addr',
      '127.0.0.1:0',
      '--health-addr',
      '127.0.0.1:0',
    ]);
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stdout, /Controller could not start/);
  });
});
