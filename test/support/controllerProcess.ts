// The controller as its own process (`drmaa2-batch controller` from the sources), as it runs in a Pod: it
// can be killed with SIGKILL at any moment and started again, its JSON log lines read back, its /metrics
// scraped and its resident memory and CPU time read from /proc.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePorts } from './ports.js';
import { PROJECT_ROOT } from './peers.js';
import { startProcess, type PeerProcess } from './process.js';
import { waitUntil } from './wait.js';

export interface ControllerProcessOptions {
  kubeconfig: string;
  /** BATCH_EMULATOR_HOST (plain gRPC); absent: the controller finds Batch through its flags (--batch-endpoint). */
  batchEmulatorHost?: string;
  storageEmulatorHost?: string;
  /** Scratch directory for the log file (one per test file, removed with the control plane). */
  dir: string;
  /** Name of this instance (POD_NAME); also names its log file. */
  name?: string;
  /** Further flags, e.g. ['--poll-interval', '500ms', '--leader-elect']. */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Wait for /readyz after each start (default true). */
  waitReady?: boolean;
  /** `source` (default) runs src/ through tsx; `built` runs dist/main.js as the image does (build it first). */
  entry?: 'source' | 'built';
}

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface ProcessUsage {
  /** Resident set size now, bytes. */
  rssBytes: number;
  /** Peak resident set size (VmHWM), bytes. */
  peakRssBytes: number;
  /** User + system CPU time, seconds. */
  cpuSeconds: number;
}

export interface ControllerProcess {
  readonly name: string;
  readonly logFile: string;
  pid(): number;
  /** How many times it was started. */
  starts(): number;
  running(): boolean;
  /** SIGKILL and wait for the exit: no shutdown handler runs, in-flight work is lost mid-call. */
  kill(): Promise<void>;
  /** SIGKILL sent at once, without waiting (from inside a peer's callback); follow with kill(). */
  killNow(): void;
  /** SIGTERM and wait (graceful shutdown). */
  stop(): Promise<void>;
  /** Starts it again with the same flags. */
  restart(): Promise<void>;
  /** Every JSON log line written so far, across restarts. */
  logs(): LogLine[];
  metrics(): Promise<string>;
  /** `http://127.0.0.1:PORT` of its /healthz and /readyz (of the current run). */
  healthUrl(): string;
  usage(): ProcessUsage;
  /** Exit statuses of the runs that ended (e.g. 'SIGKILL', 'exit code 0'). */
  exits(): string[];
}

const TICKS_PER_SECOND = 100;

export async function startControllerProcess(opts: ControllerProcessOptions): Promise<ControllerProcess> {
  const name = opts.name ?? 'controller';
  const logFile = join(opts.dir, `${name}.log`);
  let current: PeerProcess | undefined;
  let starts = 0;
  let metricsPort = 0;
  let healthPort = 0;
  const exits: string[] = [];

  const launch = async () => {
    const [metrics, health] = await freePorts(2);
    metricsPort = metrics!;
    healthPort = health!;
    const main =
      opts.entry === 'built'
        ? [join(PROJECT_ROOT, 'dist', 'main.js')]
        : ['--import', 'tsx', join(PROJECT_ROOT, 'src', 'main.ts')];
    const args = [
      ...main,
      'controller',
      '--kubeconfig',
      opts.kubeconfig,
      '--metrics-addr',
      `127.0.0.1:${metrics}`,
      '--health-addr',
      `127.0.0.1:${health}`,
      ...(opts.args ?? []),
    ];
    const { BATCH_EMULATOR_HOST: _inherited, ...inherited } = process.env;
    const proc = startProcess({
      name,
      command: process.execPath,
      args,
      logFile,
      workDir: opts.dir,
      env: {
        ...inherited,
        POD_NAME: name,
        ...(opts.batchEmulatorHost ? { BATCH_EMULATOR_HOST: opts.batchEmulatorHost } : {}),
        ...(opts.storageEmulatorHost ? { STORAGE_EMULATOR_HOST: opts.storageEmulatorHost } : {}),
        ...opts.env,
      },
    });
    current = proc;
    starts++;
    if (opts.waitReady === false) return;
    await waitUntil(
      `${name} to be ready`,
      async () => (await fetch(`http://127.0.0.1:${health}/readyz`)).ok,
      { timeoutMs: 60_000, intervalMs: 50, process: proc },
    );
  };

  const ended = async (proc: PeerProcess) => {
    await waitUntil(`${name} to exit`, async () => proc.exitStatus() !== undefined, {
      timeoutMs: 30_000,
      intervalMs: 10,
    });
    exits.push(proc.exitStatus()!);
  };

  await launch();
  return {
    name,
    logFile,
    pid: () => current!.pid,
    starts: () => starts,
    running: () => current !== undefined && current.exitStatus() === undefined,
    killNow: () => signalGroup(current!.pid, 'SIGKILL'),
    kill: async () => {
      const proc = current!;
      if (proc.exitStatus() !== undefined && exits.length === starts) return;
      signalGroup(proc.pid, 'SIGKILL');
      await ended(proc);
    },
    stop: async () => {
      const proc = current!;
      if (proc.exitStatus() !== undefined) return;
      await proc.stop(20_000);
      exits.push(proc.exitStatus() ?? 'unknown');
    },
    restart: () => launch(),
    logs: () => parseLog(logFile),
    metrics: async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(),
    healthUrl: () => `http://127.0.0.1:${healthPort}`,
    usage: () => usageOf(current!.pid),
    exits: () => [...exits],
  };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** JSON log lines; anything else (a stack trace printed by Node itself) becomes a line with level 0. */
export function parseLog(file: string): LogLine[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const lines: LogLine[] = [];
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    try {
      lines.push(JSON.parse(raw) as LogLine);
    } catch {
      lines.push({ level: 0, msg: raw });
    }
  }
  return lines;
}

/** Resident memory and CPU time of a process from /proc (Linux). */
export function usageOf(pid: number): ProcessUsage {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0) * 1024;
  // /proc/PID/stat: the command may contain spaces, so fields are counted after its closing parenthesis.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return {
    rssBytes: kb('VmRSS'),
    peakRssBytes: kb('VmHWM'),
    cpuSeconds: (utime + stime) / TICKS_PER_SECOND,
  };
}
