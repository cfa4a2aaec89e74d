// etcd for the API server: loopback ports, a throw-away data dir, no fsync (the flags controller-runtime's envtest passes to etcd).
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePorts } from './ports.js';
import { startUntilReady, type PeerProcess } from './process.js';
import { waitUntil } from './wait.js';

const START_TIMEOUT_MS = 60_000;

export interface Etcd {
  /** The client URL the API server connects to. */
  readonly url: string;
  readonly dataDir: string;
  process(): PeerProcess;
  /** Stops etcd and starts it again on the same ports and data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startEtcd(binDir: string, dir: string): Promise<Etcd> {
  const dataDir = join(dir, 'etcd-data');
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const [clientPort, peerPort] = await freePorts(2);
  const url = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const args = [
    '--name=drmaa2-test',
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${url}`,
    `--advertise-client-urls=${url}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=drmaa2-test=${peerUrl}`,
    '--log-level=warn',
    // A single member elects itself after one election timeout: a short one saves up to a second per start.
    '--heartbeat-interval=10',
    '--election-timeout=100',
  ];
  if (await supportsNoFsync(join(binDir, 'etcd'))) args.push('--unsafe-no-fsync=true');
  const launch = (): Promise<PeerProcess> =>
    startUntilReady(
      { name: 'etcd', command: join(binDir, 'etcd'), args, logFile: join(dir, 'etcd.log'), workDir: dir },
      (proc) =>
        waitUntil('etcd to answer /health', () => healthy(url), {
          timeoutMs: START_TIMEOUT_MS,
          process: proc,
        }),
    );
  let current = await launch();
  return {
    url,
    dataDir,
    process: () => current,
    restart: async () => {
      await current.stop();
      current = await launch();
    },
    stop: () => current.stop(),
  };
}

async function healthy(url: string): Promise<boolean> {
  const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
  if (!response.ok) return false;
  const body = (await response.json()) as { health?: string };
  return body.health === 'true';
}

const noFsyncSupport = new Map<string, Promise<boolean>>();

/** envtest turns the flag on only when `etcd --help` lists it; asked once per binary. */
function supportsNoFsync(etcd: string): Promise<boolean> {
  let answer = noFsyncSupport.get(etcd);
  if (!answer) {
    answer = promisify(execFile)(etcd, ['--help'], { timeout: 10_000 }).then(({ stdout, stderr }) =>
      `${stdout}${stderr}`.includes('--unsafe-no-fsync'),
    );
    noFsyncSupport.set(etcd, answer);
  }
  return answer;
}
