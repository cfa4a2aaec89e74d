// fake-gcs-server over plain HTTP on loopback with in-memory storage; @google-cloud/storage reaches it through
// STORAGE_EMULATOR_HOST.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trackDirectory, untrackDirectory } from './cleanup.js';
import { peerBinDir } from './peers.js';
import { freePort } from './ports.js';
import { startUntilReady } from './process.js';
import { waitUntil } from './wait.js';

export interface FakeGcs {
  /** The value for STORAGE_EMULATOR_HOST, e.g. http://127.0.0.1:41234 */
  readonly storageEmulatorHost: string;
  readonly logFile: string;
  stop(): Promise<void>;
}

export async function startFakeGcs(): Promise<FakeGcs> {
  const binDir = await peerBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'drmaa2-fake-gcs-'));
  trackDirectory(dir);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const removeDir = async () => {
    rmSync(dir, { recursive: true, force: true });
    untrackDirectory(dir);
  };
  const proc = await startUntilReady(
    {
      name: 'fake-gcs-server',
      command: join(binDir, 'fake-gcs-server'),
      args: ['-scheme', 'http', '-host', '127.0.0.1', '-port', String(port), '-backend', 'memory'],
      logFile: join(dir, 'fake-gcs-server.log'),
      workDir: dir,
    },
    (p) =>
      waitUntil('fake-gcs-server to list buckets', async () => (await fetch(`${url}/storage/v1/b`)).ok, {
        timeoutMs: 30_000,
        process: p,
      }),
  ).catch(async (error: unknown) => {
    await removeDir();
    throw error;
  });
  const stop = async () => {
    await proc.stop();
    await removeDir();
  };
  return { storageEmulatorHost: url, logFile: proc.logFile, stop };
}
