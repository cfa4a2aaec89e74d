// Last-resort cleanup: whatever a test run started is killed and removed even when the run ends without
// reaching stop() — normal exit, an uncaught error, Ctrl-C or SIGTERM from the test runner's timeout.
import { rmSync } from 'node:fs';

const processGroups = new Set<number>();
const directories = new Set<string>();
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
