// Locates the real test peers (kube-apiserver, kubectl, etcd, fake-gcs-server). The build script is the single
// source of truth for versions and the cache location; it is instant when the binaries are already built and
// shows its progress on stderr when a cold build is needed.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

let binDir: Promise<string> | undefined;

/** The directory holding kube-apiserver, kubectl, etcd and fake-gcs-server (built on first use). */
export function peerBinDir(): Promise<string> {
  binDir ??= runBuildScript();
  return binDir;
}

function runBuildScript(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(PROJECT_ROOT, 'scripts', 'build-peers.sh')], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const dir = out.trim().split('\n').at(-1)?.trim();
      if (code !== 0 || !dir) {
        reject(new Error(`scripts/build-peers.sh failed (exit ${code}); its progress output above says why`));
        return;
      }
      resolve(dir);
    });
  });
}
