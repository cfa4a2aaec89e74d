// client-node's informer stops for good on any watch error other than 410 Gone or an idle timeout (a non-200
// answer, a reset stream, a failed list), and a restart does not replay the objects it already has: this
// restarts it after a jittered back-off, and tells the caller once it runs again so that it can replay.
import type { Informer, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { backoffDelay } from '../../translate/backoff.js';

/** A failed watch is restarted after 1 s, 2 s, ... up to 30 s, each ±20%. */
const RESTART_BACKOFF = { initialMs: 1000, maxMs: 30_000, spread: [0.8, 1.2] } as const;

export interface Supervision {
  /** Stops restarting (the caller stops the informer itself). */
  stop(): void;
}

export function supervise<T extends KubernetesObject>(
  informer: Informer<T>,
  opts: { logger: Logger; what: string; onRestarted(): void; random?: () => number },
): Supervision {
  let stopped = false;
  let restarts = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const random = opts.random ?? Math.random;
  const onError = (err: unknown): void => {
    if (stopped) return;
    const delay = backoffDelay(restarts, RESTART_BACKOFF, random);
    restarts++;
    opts.logger.warn(
      { err: (err as Error)?.message ?? String(err), retryInMs: Math.round(delay), watch: opts.what },
      'watch failed; restarting',
    );
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (stopped) return;
      informer.start().then(() => {
        restarts = 0;
        opts.onRestarted();
      }, onError);
    }, delay);
  };
  informer.on('error', onError);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
