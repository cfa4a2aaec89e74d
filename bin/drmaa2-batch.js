#!/usr/bin/env node
// Runs the built CLI (dist/) when present, else the TypeScript sources through tsx (a source checkout).
// On a Node.js older than the project needs, it re-runs itself with the Node.js that `npm ci` installed.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [major, minor] = process.versions.node.split('.').map(Number);
const bundled = join(root, 'node_modules', '.bin', 'node');
if ((major < 22 || (major === 22 && minor < 19)) && existsSync(bundled)) {
  const result = spawnSync(bundled, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exit(result.status ?? 1);
}
const built = join(root, 'dist', 'main.js');
if (existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'src', 'main.ts')).href);
}
