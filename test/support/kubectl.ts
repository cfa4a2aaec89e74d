// Runs the kubectl built with the API server. Never throws on a non-zero exit: tests assert on denials.
import { spawn } from 'node:child_process';
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

function runKubectl(command: string, args: string[], opts: KubectlOptions): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.KUBECONFIG;
    const child = spawn(command, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env,
      timeout: opts.timeoutMs ?? 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ code: code ?? 128, stdout, stderr: signal ? `${stderr}\n(killed by ${signal})` : stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Throws with kubectl's own message when it failed; returns stdout. */
export function mustSucceed(result: KubectlResult, what: string): string {
  if (result.code !== 0) throw new Error(`${what} failed (exit ${result.code}): ${result.stderr.trim()}`);
  return result.stdout;
}
