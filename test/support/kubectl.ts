// Runs the kubectl built with the API server. Never throws on a non-zero exit: tests assert on denials.
// kubectl's stdin is never a pipe: an input is written to a private temporary file first and handed over as
// the file itself, and without an input stdin is /dev/null. Nothing is ever written to a child that may
// already have exited (a pipe would fail with EPIPE then), and no stream error can go unhandled.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  kubeconfig?: string;
  input?: string;
  timeoutMs?: number;
  /** Added to the environment kubectl (and any plugin it runs) gets. */
  env?: NodeJS.ProcessEnv;
}

export type Kubectl = (args: string[], opts?: KubectlOptions) => Promise<KubectlResult>;

/** kubectl bound to one control plane: a default kubeconfig and a private discovery cache. */
export function kubectlFor(binDir: string, defaultKubeconfig: string, cacheDir: string): Kubectl {
  return (args, opts = {}) =>
    runKubectl(
      join(binDir, 'kubectl'),
      [`--kubeconfig=${opts.kubeconfig ?? defaultKubeconfig}`, `--cache-dir=${cacheDir}`, ...args],
      opts,
    );
}

/** Runs kubectl with exactly these arguments: a plugin (`kubectl drmaa2 ...`) must come first, before any
 * of kubectl's own flags, so its kubeconfig is given as KUBECONFIG in `opts.env`. */
export function runKubectl(command: string, args: string[], opts: KubectlOptions): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.KUBECONFIG;
    Object.assign(env, opts.env);
    const child = spawnWithInput(opts.input, (stdin) =>
      spawn(command, args, {
        stdio: [stdin, 'pipe', 'pipe'],
        env,
        timeout: opts.timeoutMs ?? 60_000,
      }),
    );
    let stdout = '';
    let stderr = '';
    const streamError = (name: string) => (error: Error) => (stderr += `\n(${name}: ${error.message})`);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout!.on('error', streamError('stdout'));
    child.stderr!.on('error', streamError('stderr'));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ code: code ?? 128, stdout, stderr: signal ? `${stderr}\n(killed by ${signal})` : stderr });
    });
  });
}

/**
 * Spawns with stdin read from a file holding `input` ('ignore', i.e. /dev/null, without one). The child gets
 * its own copy of the descriptor while spawn() runs, so the file is closed and removed as soon as it returns.
 */
function spawnWithInput(
  input: string | undefined,
  start: (stdin: number | 'ignore') => ChildProcess,
): ChildProcess {
  if (input === undefined) return start('ignore');
  const dir = mkdtempSync(join(tmpdir(), 'drmaa2-kubectl-input-'));
  let fd: number | undefined;
  try {
    const file = join(dir, 'stdin');
    writeFileSync(file, input, { mode: 0o600 });
    fd = openSync(file, 'r');
    return start(fd);
  } finally {
    if (fd !== undefined) closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Throws with kubectl's own message when it failed; returns stdout. */
export function mustSucceed(result: KubectlResult, what: string): string {
  if (result.code !== 0) throw new Error(`${what} failed (exit ${result.code}): ${result.stderr.trim()}`);
  return result.stdout;
}
