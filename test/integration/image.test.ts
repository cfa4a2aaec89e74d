// No Docker engine runs here, so the Dockerfile's contract is checked statically: pinned base, non-root
// user, only production dependencies and dist/ in the final image, and an entrypoint the build produces.
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

interface Stage {
  from: string;
  name?: string;
  lines: string[];
}

function stages(dockerfile: string): Stage[] {
  const result: Stage[] = [];
  for (const raw of dockerfile.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) {
      result.push({ from: from[1]!, name: from[2], lines: [] });
      continue;
    }
    result.at(-1)?.lines.push(line);
  }
  return result;
}

const dockerfile = readFileSync('Dockerfile', 'utf8');
const all = stages(dockerfile);
const final = all.at(-1)!;

test('every stage uses a pinned Node 24 slim base', () => {
  assert.ok(all.length >= 2, 'multi-stage build');
  for (const stage of all) assert.match(stage.from, /^node:24\.\d+\.\d+-[a-z]+-slim$/);
});

test('the final image runs as a non-root user', () => {
  const user = final.lines.filter((l) => /^USER\s/i.test(l)).at(-1);
  assert.ok(user, 'USER is set in the final stage');
  const id = user.split(/\s+/)[1]!.split(':')[0]!;
  assert.notEqual(id, 'root');
  assert.notEqual(id, '0');
});

test('the final image holds only production dependencies and dist/', () => {
  const copies = final.lines.filter((l) => /^COPY\s/i.test(l));
  const deps = all.find((s) =>
    copies.some((c) => c.includes(`--from=${s.name} `) && c.includes('node_modules')),
  );
  assert.ok(deps, 'node_modules comes from a dependencies stage');
  assert.ok(
    deps.lines.some((l) => /npm ci\b.*--omit=dev/.test(l)),
    'the dependencies stage installs with --omit=dev',
  );
  for (const copy of copies) {
    const sources = copy
      .split(/\s+/)
      .slice(1, -1)
      .filter((t) => !t.startsWith('--'));
    for (const source of sources) {
      assert.doesNotMatch(source, /(^|\/)(src|test)\/?$|tsconfig/, `no sources in the final image: ${copy}`);
    }
  }
  assert.ok(!final.lines.some((l) => /^RUN\s+npm\s+(ci|install)/.test(l)), 'no install in the final stage');
});

test('the entrypoint exists in the build output', () => {
  const entry = final.lines.find((l) => l.startsWith('ENTRYPOINT'));
  assert.equal(entry, 'ENTRYPOINT ["node","dist/main.js","controller"]');
  // Built inside the checkout so that the output resolves the project's node_modules.
  mkdirSync('.tmp', { recursive: true });
  const out = mkdtempSync(join('.tmp', 'build-'));
  try {
    execFileSync(
      process.execPath,
      ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--outDir', out],
      {
        stdio: 'inherit',
      },
    );
    assert.ok(existsSync(join(out, 'main.js')), 'dist/main.js is produced by npm run build');
    const help = execFileSync(process.execPath, [join(out, 'main.js'), 'controller', '--help'], {
      encoding: 'utf8',
    });
    assert.match(help, /controller/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
