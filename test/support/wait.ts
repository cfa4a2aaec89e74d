// Polling until a peer is ready, failing early (with its log) when the peer process has already ended.
import type { PeerProcess } from './process.js';

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  process?: PeerProcess;
}

export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  opts: WaitOptions,
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  for (;;) {
    const status = opts.process?.exitStatus();
    if (status !== undefined) throw failure(`${opts.process!.name} ended (${status}) before ${what}`, opts);
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      throw failure(`timed out after ${opts.timeoutMs} ms waiting for ${what}${reason}`, opts);
    }
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs ?? 100));
  }
}

function failure(message: string, opts: WaitOptions): Error {
  if (!opts.process) return new Error(message);
  return new Error(`${message}\n--- ${opts.process.logFile} (last lines) ---\n${opts.process.logTail()}`);
}
