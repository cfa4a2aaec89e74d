// Last-resort cleanup: whatever a test file started is killed and removed even when it ends without reaching
// stop() — normal exit, an uncaught error, Ctrl-C (SIGINT reaches the whole process group: the test runner and
// its worker processes) or SIGTERM from the runner stopping its worker. A worker killed with SIGKILL runs no
// handler at all; the watchdog each peer is started with (process.ts) covers that.
import { rmSync } from 'node:fs';

const processGroups = new Set<number>();
const directories = new Set<string>();
const actions = new Set<() => void>();
let installed = false;

export function trackProcessGroup(pgid: number): void {
  install();
  processGroups.add(pgid);
}

export function untrackProcessGroup(pgid: number): void {
  processGroups.delete(pgid);
}

export function trackDirectory(dir: string): void {
  install();
  directories.add(dir);
}

export function untrackDirectory(dir: string): void {
  directories.delete(dir);
}

/** Runs `action` (synchronous work only: it may run in an exit handler) if the process ends first; returns
 * the function that forgets it again. */
export function trackCleanup(action: () => void): () => void {
  install();
  actions.add(action);
  return () => actions.delete(action);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', cleanUpNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      cleanUpNow();
      // Re-raise so the process ends with the signal's usual status once our handler is gone.
      process.kill(process.pid, signal);
    });
  }
}

function cleanUpNow(): void {
  for (const action of actions) {
    try {
      action();
    } catch {
      // the rest still runs
    }
  }
  actions.clear();
  for (const pgid of processGroups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  processGroups.clear();
  for (const dir of directories) rmSync(dir, { recursive: true, force: true });
  directories.clear();
}
