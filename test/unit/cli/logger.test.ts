// The controller's logger on a terminal: pretty lines where pino-pretty is installed, JSON lines where it is
// not (the image installs no development dependencies, and `docker run -it` gives the controller a terminal).
import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { loggerOptions } from '../../../src/cli/controller.js';

const missing = (specifier: string): string => {
  throw Object.assign(new Error(`Cannot find module '${specifier}'`), { code: 'MODULE_NOT_FOUND' });
};

describe('loggerOptions', () => {
  it('pretty on a terminal where pino-pretty resolves', () => {
    const options = loggerOptions('debug', { isTTY: true, resolve: (s) => `/somewhere/${s}` });
    assert.equal(options.level, 'debug');
    assert.deepEqual(options.transport, { target: 'pino-pretty', options: { colorize: true } });
  });

  it('JSON on a terminal where pino-pretty is not installed', () => {
    assert.deepEqual(loggerOptions('info', { isTTY: true, resolve: missing }), { level: 'info' });
  });

  it('JSON when nobody watches, whether or not pino-pretty is there', () => {
    assert.deepEqual(loggerOptions('info', { isTTY: false, resolve: (s) => s }), { level: 'info' });
  });

  it('the real resolver finds pino-pretty here (a development install)', () => {
    const options = loggerOptions('info', { isTTY: true, resolve: (s) => import.meta.resolve(s) });
    assert.ok(options.transport, 'pino-pretty is a devDependency of this checkout');
  });

  it('a logger built without pino-pretty writes JSON lines to a terminal-less stdout', () => {
    const script = [
      "import { createLogger } from './src/cli/controller.ts';",
      "const missing = () => { throw new Error('not installed'); };",
      "createLogger('info', { isTTY: true, resolve: missing }).info({ n: 1 }, 'hello');",
    ].join('\n');
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, run.stderr);
    const line = JSON.parse(run.stdout.trim()) as { msg: string; n: number };
    assert.equal(line.msg, 'hello');
    assert.equal(line.n, 1);
  });
});
