// The shell scripts pass shellcheck, and the kind end-to-end script explains itself where there is no
// Docker engine or kind instead of failing obscurely.
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

// The first run on a machine may install shellcheck with apt-get.
test('every script passes shellcheck', { timeout: 300_000 }, () => {
  const shellcheck = execFileSync('bash', ['scripts/ensure-tool.sh', 'shellcheck', 'shellcheck'], {
    encoding: 'utf8',
  })
    .trim()
    .split('\n')
    .at(-1)!;
  const scripts = readdirSync('scripts')
    .filter((f) => f.endsWith('.sh'))
    .map((f) => `scripts/${f}`);
  assert.ok(scripts.includes('scripts/e2e-kind.sh'));
  const result = spawnSync(shellcheck, [...scripts, '.ci/run'], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stdout + result.stderr);
});

test('the kind e2e script checks for its tools first and says what is missing', () => {
  const result = spawnSync('bash', ['scripts/e2e-kind.sh'], {
    encoding: 'utf8',
    env: { ...process.env, PATH: '/usr/bin:/bin' },
  });
  assert.equal(result.status, 2);
  assert.match(result.stderr, /e2e-kind: (docker|kind|kubectl) is required|no Docker engine is reachable/);
});
