// A peer process (etcd, kube-apiserver, fake-gcs-server) in its own process group, its output in a log file.
// Stopping signals the whole group: SIGTERM, then SIGKILL after a deadline (as controller-runtime's envtest stops its processes). A small watchdog
// kills the group if the test process itself dies without running any handler (e.g. SIGKILL).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { trackProcessGroup, untrackProcessGroup } from './cleanup.js';

export interface PeerProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** The exit code or signal once the process has ended, else undefined. */
  exitStatus(): string | undefined;
  stop(timeoutMs?: number): Promise<void>;
  logTail(lines?: number): string;
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  /** The process's scratch directory: removed by the watchdog if the test process dies without cleaning up. */
  workDir: string;
  env?: NodeJS.ProcessEnv;
}

export function startProcess(opts: StartOptions): PeerProcess {
  const log = openSync(opts.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(opts.command, opts.args, {
      detached: true,
      stdio: ['ignore', log, log],
      env: opts.env ?? process.env,
    });
  } finally {
    closeSync(log);
  }
  if (child.pid === undefined) throw new Error(`${opts.name} did not start (${opts.command})`);
  const pid = child.pid;
  trackProcessGroup(pid);
  startWatchdog(pid, opts.workDir);
  child.unref();
  let status: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      status = signal ?? `exit code ${code}`;
      untrackProcessGroup(pid);
      resolve();
    });
  });
  return {
    name: opts.name,
    pid,
    logFile: opts.logFile,
    exitStatus: () => status,
    stop: (timeoutMs = 20_000) => stopGroup(pid, exited, () => status !== undefined, timeoutMs),
    logTail: (lines = 60) => tail(opts.logFile, lines),
  };
}

/** Starts a process and waits until `ready` resolves; a process that never gets ready is stopped again. */
export async function startUntilReady(
  opts: StartOptions,
  ready: (proc: PeerProcess) => Promise<void>,
): Promise<PeerProcess> {
  const proc = startProcess(opts);
  try {
    await ready(proc);
    return proc;
  } catch (error) {
    await proc.stop(5_000);
    throw error;
  }
}

async function stopGroup(
  pgid: number,
  exited: Promise<void>,
  isDone: () => boolean,
  timeoutMs: number,
): Promise<void> {
  if (isDone()) return;
  signalGroup(pgid, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
  const outcome = await Promise.race([exited.then(() => 'done' as const), deadline]);
  clearTimeout(timer);
  if (outcome === 'done') return;
  signalGroup(pgid, 'SIGKILL');
  await exited;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is already gone
  }
}

/** Ends by itself once the group is gone; kills the group (and removes its directory) when the test process
 * disappears first. POSIX sh: a negative number names a process group (dash has no `--`). */
function startWatchdog(pgid: number, orphanDir: string): void {
  const script = [
    'while kill -0 "$1" 2>/dev/null && kill -0 -"$2" 2>/dev/null; do sleep 1; done',
    'if ! kill -0 "$1" 2>/dev/null; then kill -KILL -"$2" 2>/dev/null; sleep 1; rm -rf "$3"; fi',
    'exit 0',
  ].join('\n');
  const args = ['-c', script, 'watchdog', String(process.pid), String(pgid), orphanDir];
  spawn('sh', args, { detached: true, stdio: 'ignore' }).unref();
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
