// Runs one attempt of one task the way a Batch VM agent does: its runnables in order as local processes,
// with Batch's task environment, barriers across the group, background runnables, alwaysRun and
// ignoreExitStatus. Container images cannot be pulled here: by default a container's entrypoint and
// commands run as a local process; in `simulate` mode they succeed without running.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Runnable } from '../api/batch.js';
import type { Barriers } from './barriers.js';

export const EXIT_TIMEOUT = 50005;
/** Exit code of a task whose Spot VM was preempted (cloud.google.com/batch/docs/troubleshooting). */
export const EXIT_PREEMPTED = 50001;
/** Exit code of a task whose runnable could not be started at all (Batch's "other failure"). */
export const EXIT_OTHER = 50000;

export interface TaskAttempt {
  index: number;
  runnables: Runnable[];
  env: Record<string, string>;
  workDir: string;
  containers: 'run' | 'simulate';
  simulateMs: number;
  maxRunDurationMs?: number;
  /** The attempt's VM is preempted this long after it starts, unless it has ended by then. */
  preemptAfterMs?: number;
  barriers: Barriers;
  signal: AbortSignal;
  /** Output as it comes, with the stream it came on; the emulator's own messages about the attempt (a
   * runnable that could not start) come as stderr, as the agent would report them. */
  log(text: string, stream: 'stdout' | 'stderr'): void;
  /** Every started process, so the emulator can kill them all when it stops. */
  processes: Set<ChildProcess>;
}

export interface AttemptResult {
  exitCode: number;
  timedOut: boolean;
  preempted: boolean;
  notes: string[];
}

function commandOf(
  runnable: Runnable,
  position: number,
  attempt: TaskAttempt,
  notes: string[],
): string[] | undefined {
  // The text is a script file's content (its shebang line picks the interpreter, /bin/sh by default:
  // docs/batch-fidelity.md), so it is written to a file and run as one; a long script is no command-line
  // argument either (one of over 128 KiB could not even be passed to a process).
  if (runnable.script?.text !== undefined) {
    const file = join(attempt.workDir, `runnable-${position}.sh`);
    writeFileSync(file, runnable.script.text, { mode: 0o755 });
    return runnable.script.text.startsWith('#!') ? [file] : ['/bin/sh', file];
  }
  if (runnable.script?.path !== undefined) return ['/bin/sh', runnable.script.path];
  const container = runnable.container;
  if (!container) return undefined;
  const argv = [...(container.entrypoint ? [container.entrypoint] : []), ...(container.commands ?? [])];
  if (attempt.containers === 'simulate' || argv.length === 0) {
    notes.push(`container ${container.imageUri} simulated (images are not pulled by the emulator)`);
    return undefined;
  }
  notes.push(`container ${container.imageUri}: entrypoint and commands run as a local process`);
  return argv;
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function run(
  argv: string[],
  attempt: TaskAttempt,
  env: Record<string, string>,
): { child: ChildProcess | undefined; done: Promise<number> } {
  let child: ChildProcess;
  try {
    child = spawn(argv[0]!, argv.slice(1), {
      cwd: attempt.workDir,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    // E.g. E2BIG for a huge script: the task fails as exec would fail on a VM, the emulator carries on.
    attempt.log(`${(err as Error).message}\n`, 'stderr');
    return { child: undefined, done: Promise.resolve(127) };
  }
  attempt.processes.add(child);
  // Decoded as a stream, so that a character split across two reads is not mangled into two halves.
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => attempt.log(chunk, 'stdout'));
  child.stderr?.on('data', (chunk: string) => attempt.log(chunk, 'stderr'));
  const done = new Promise<number>((resolve) => {
    child.on('error', (err) => {
      attempt.log(`${err.message}\n`, 'stderr');
      resolve(127);
    });
    child.on('close', (code, signal) => {
      attempt.processes.delete(child);
      resolve(code ?? (signal ? 128 + 9 : EXIT_OTHER));
    });
  });
  return { child, done };
}

export async function runTaskAttempt(attempt: TaskAttempt): Promise<AttemptResult> {
  const notes: string[] = [];
  const background: ChildProcess[] = [];
  const foreground = new Set<ChildProcess>();
  let failure: number | undefined;
  let stopped: 'timeout' | 'preempted' | 'aborted' | undefined;
  let wake!: () => void;
  // A simulated container or a barrier is waited on, not a process that can be killed: they race this.
  const interrupted = new Promise<void>((resolve) => (wake = resolve));
  const stopAll = (why: NonNullable<typeof stopped>) => {
    stopped ??= why;
    for (const child of [...background, ...foreground]) killGroup(child);
    wake();
  };
  const timers = [
    attempt.maxRunDurationMs !== undefined
      ? setTimeout(() => stopAll('timeout'), attempt.maxRunDurationMs)
      : undefined,
    attempt.preemptAfterMs !== undefined
      ? setTimeout(() => stopAll('preempted'), attempt.preemptAfterMs)
      : undefined,
  ];
  const onAbort = () => stopAll('aborted');
  attempt.signal.addEventListener('abort', onAbort);
  if (attempt.signal.aborted) onAbort();
  try {
    for (const [position, runnable] of attempt.runnables.entries()) {
      if (stopped) break;
      if (failure !== undefined && !runnable.alwaysRun) continue;
      if (runnable.barrier) {
        await Promise.race([attempt.barriers.arrive(position, attempt.index), interrupted]);
        continue;
      }
      const env = { ...attempt.env, ...(runnable.environment?.variables ?? {}) };
      const argv = commandOf(runnable, position, attempt, notes);
      if (!argv) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise((resolve) => (timer = setTimeout(resolve, attempt.simulateMs))),
          interrupted,
        ]);
        clearTimeout(timer);
        continue;
      }
      const started = run(argv, attempt, env);
      const child = started.child;
      if (runnable.background) {
        if (child) background.push(child);
        continue;
      }
      if (child) foreground.add(child);
      // A stop that came while the process was being spawned must still reach it.
      if (stopped && child) killGroup(child);
      const code = await started.done;
      if (child) foreground.delete(child);
      if (code !== 0 && !runnable.ignoreExitStatus && failure === undefined) failure = code;
    }
  } finally {
    for (const timer of timers) clearTimeout(timer);
    attempt.signal.removeEventListener('abort', onAbort);
    // Background runnables end when the last foreground runnable has ended.
    for (const child of background) killGroup(child);
    attempt.barriers.end(attempt.index);
  }
  if (stopped === 'preempted') return { exitCode: EXIT_PREEMPTED, timedOut: false, preempted: true, notes };
  if (stopped === 'timeout') return { exitCode: EXIT_TIMEOUT, timedOut: true, preempted: false, notes };
  return { exitCode: failure ?? 0, timedOut: false, preempted: false, notes };
}
