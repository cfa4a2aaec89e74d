// Locates the real test peers (kube-apiserver, kubectl, etcd, fake-gcs-server, Kueue). The build script is the single
// source of truth for versions and the cache location; it is instant when the binaries are already built and
// shows its progress on stderr when a cold build is needed.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

let binDir: Promise<string> | undefined;
let output: Promise<string[]> | undefined;

/** The directory holding kube-apiserver, kubectl, etcd and fake-gcs-server (built on first use). */
export function peerBinDir(): Promise<string> {
  binDir ??= buildOutput().then((lines) => lines.at(-1)!);
  return binDir;
}

/** The directory holding Kueue's manager (`kueue`) and the manifests its version ships (`crds/`, `webhook/`). */
export async function peerKueueDir(): Promise<string> {
  const line = (await buildOutput()).find((l) => l.startsWith('kueue='));
  if (!line) throw new Error('scripts/build-peers.sh did not report a Kueue directory (no `kueue=` line)');
  return line.slice('kueue='.length);
}

function buildOutput(): Promise<string[]> {
  output ??= runBuildScript();
  return output;
}

function runBuildScript(): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(PROJECT_ROOT, 'scripts', 'build-peers.sh')], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = out
        .trim()
        .split('\n')
        .map((line) => line.trim());
      if (code !== 0 || !lines.at(-1)) {
        reject(new Error(`scripts/build-peers.sh failed (exit ${code}); its progress output above says why`));
        return;
      }
      resolve(lines);
    });
  });
}
