// A keyed work queue in the manner of client-go's: a key is queued at most once, at most one reconcile
// per key runs at a time (a key added while it runs is queued again when it is done), failures back off
// per key exponentially with jitter, and delayed adds serve requeueAfter. client-node has none of this.
// Keys added as urgent (something already submitted changed: its Batch job ended, its spec, its deletion) go
// before the others, so that a burst of new resources does not hold back what users wait to see; every
// few urgent keys one other goes too, so neither kind can starve.
// Within each of the two kinds, namespaces take turns: each has its own first-in-first-out line and the
// queue hands out one key from each namespace that has one waiting, in rotation, so that one tenant's burst
// of thousands of new jobs holds another tenant's single job back by at most one key per busy namespace.
import { DelayedAdds } from './delayedAdds.js';
import { backoffDelay } from '../translate/backoff.js';
import type { Clock } from '../ports/clock.js';
import { Fifo } from '../translate/fifo.js';

/** The longest a key waits before it is looked at again, whatever was asked. */
export const MAX_DELAY_MS = 24 * 60 * 60 * 1000;

export interface WorkQueueOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Fraction of the back-off added at random, 0..1. */
  jitter?: number;
  random?: () => number;
  clock?: Pick<Clock, 'now'>;
}

/** Urgent keys handed out in a row before one other key, when both wait. */
export const URGENT_RUN = 4;

export interface AddOptions {
  urgent?: boolean;
}

/** `namespace/name` → `namespace`; a key without a slash (cluster-scoped) is in the namespace ''. */
export function namespaceOf(key: string): string {
  const slash = key.indexOf('/');
  return slash < 0 ? '' : key.slice(0, slash);
}

/** A key's one place in the queue. A key promoted to urgent gets a new place; the old one, left behind in
 * its line (taking it out would cost a search), is skipped when reached because it is no longer current. */
interface Place {
  readonly key: string;
  readonly namespace: string;
  readonly urgent: boolean;
}

/** One kind of key (urgent or not): a line per namespace and the rotation of namespaces whose line is not
 * empty, each there once. A line is dropped when it empties, so idle namespaces cost nothing. */
class FairLines {
  private readonly lines = new Map<string, Fifo<Place>>();
  private readonly rotation = new Fifo<string>();
  /** Current places in the lines; the rest are left-behind ones. */
  private current = 0;

  constructor(private readonly isCurrent: (place: Place) => boolean) {}

  get size(): number {
    return this.current;
  }

  push(place: Place): void {
    let line = this.lines.get(place.namespace);
    if (!line) {
      line = new Fifo();
      this.lines.set(place.namespace, line);
      this.rotation.push(place.namespace);
    }
    line.push(place);
    this.current++;
  }

  /** A place of this kind stopped being current (its key became urgent). */
  leftBehind(): void {
    this.current--;
    // Nothing current is left to take, so nothing would walk past the left-behind places to free them.
    if (this.current === 0) this.clear();
  }

  /** The next namespace's first current place; that namespace goes to the back of the rotation. */
  take(): Place | undefined {
    while (this.current > 0) {
      const namespace = this.rotation.shift();
      if (namespace === undefined) return undefined;
      const line = this.lines.get(namespace)!;
      this.dropLeftBehind(line);
      const place = line.shift();
      this.dropLeftBehind(line);
      if (line.size > 0) this.rotation.push(namespace);
      else this.lines.delete(namespace);
      if (place !== undefined) {
        this.current--;
        return place;
      }
    }
    return undefined;
  }

  private dropLeftBehind(line: Fifo<Place>): void {
    while (line.size > 0 && !this.isCurrent(line.peek()!)) line.shift();
  }

  clear(): void {
    this.lines.clear();
    this.rotation.clear();
    this.current = 0;
  }
}

export class WorkQueue {
  /** Each queued key's current place. */
  private readonly queued = new Map<string, Place>();
  private readonly isCurrent = (place: Place) => this.queued.get(place.key) === place;
  private readonly urgentLines = new FairLines(this.isCurrent);
  private readonly otherLines = new FairLines(this.isCurrent);
  private urgentInARow = 0;
  private readonly processing = new Set<string>();
  /** Keys added while in flight, queued again when done; true when one of those adds was urgent. */
  private readonly dirty = new Map<string, boolean>();
  private readonly failuresByKey = new Map<string, number>();
  private readonly delayed: DelayedAdds;
  private readonly addedAt = new Map<string, number>();
  private readonly getters: ((key: string | undefined) => void)[] = [];
  private readonly idle: (() => void)[] = [];
  private shuttingDown = false;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly jitter: number;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(opts: WorkQueueOptions = {}) {
    this.baseDelayMs = opts.baseDelayMs ?? 5;
    this.maxDelayMs = opts.maxDelayMs ?? 300_000;
    this.jitter = opts.jitter ?? 0.2;
    this.random = opts.random ?? Math.random;
    this.now = () => opts.clock?.now().getTime() ?? Date.now();
    this.delayed = new DelayedAdds(this.now, (key) => this.add(key));
  }

  add(key: string, opts: AddOptions = {}): void {
    if (this.shuttingDown) return;
    const urgent = opts.urgent === true;
    if (this.processing.has(key)) {
      this.dirty.set(key, this.dirty.get(key) === true || urgent);
      return;
    }
    const place = this.queued.get(key);
    if (place) {
      if (urgent && !place.urgent) {
        this.otherLines.leftBehind();
        this.enqueue({ key, namespace: place.namespace, urgent: true });
      }
      return;
    }
    this.addedAt.set(key, this.now());
    const getter = this.getters.shift();
    if (getter) {
      this.processing.add(key);
      getter(key);
      return;
    }
    this.enqueue({ key, namespace: namespaceOf(key), urgent });
  }

  private enqueue(place: Place): void {
    this.queued.set(place.key, place);
    (place.urgent ? this.urgentLines : this.otherLines).push(place);
  }

  /** The next waiting key, urgent ones first but one other after every URGENT_RUN of them. */
  private next(): string | undefined {
    const otherWaits = this.otherLines.size > 0;
    const takeUrgent = this.urgentLines.size > 0 && (!otherWaits || this.urgentInARow < URGENT_RUN);
    const place = (takeUrgent ? this.urgentLines : this.otherLines).take();
    if (place === undefined) return undefined;
    this.urgentInARow = takeUrgent ? this.urgentInARow + 1 : 0;
    this.queued.delete(place.key);
    return place.key;
  }

  /** Adds the key after `delayMs`; an earlier pending delayed add of the same key wins. */
  addAfter(key: string, requestedMs: number): void {
    if (this.shuttingDown) return;
    if (requestedMs <= 0) return this.add(key);
    // A timer longer than 2^31-1 ms fires at once; a day is as good: the key is looked at again and waits anew.
    const delayMs = Math.min(requestedMs, MAX_DELAY_MS);
    this.delayed.schedule(key, this.delayed.now() + delayMs);
  }

  /** The back-off the next addRateLimited of this key waits. */
  backoff(key: string): number {
    const failures = this.failuresByKey.get(key) ?? 0;
    const spread = [1, 1 + this.jitter] as const;
    const delay = backoffDelay(
      failures,
      { initialMs: this.baseDelayMs, maxMs: this.maxDelayMs, spread },
      this.random,
    );
    return Math.min(this.maxDelayMs, delay);
  }

  addRateLimited(key: string): number {
    const delay = this.backoff(key);
    this.failuresByKey.set(key, (this.failuresByKey.get(key) ?? 0) + 1);
    this.addAfter(key, delay);
    return delay;
  }

  forget(key: string): void {
    this.failuresByKey.delete(key);
  }

  failures(key: string): number {
    return this.failuresByKey.get(key) ?? 0;
  }

  /** How long the key waited in the queue before it was handed out (ms), for metrics. */
  waited(key: string): number {
    const at = this.addedAt.get(key);
    return at === undefined ? 0 : this.now() - at;
  }

  get(): Promise<string | undefined> {
    const key = this.next();
    if (key !== undefined) {
      this.processing.add(key);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    this.addedAt.delete(key);
    const urgent = this.dirty.get(key);
    if (urgent !== undefined) {
      this.dirty.delete(key);
      this.add(key, { urgent });
    }
    if (this.processing.size === 0) for (const resolve of this.idle.splice(0)) resolve();
  }

  len(): number {
    return this.queued.size;
  }

  /** Stops handing out keys; pending delayed adds are dropped; waiting getters receive undefined. */
  shutDown(): void {
    this.shuttingDown = true;
    this.delayed.clear();
    this.urgentLines.clear();
    this.otherLines.clear();
    this.queued.clear();
    for (const getter of this.getters.splice(0)) getter(undefined);
  }

  /** Resolves when no reconcile is in flight. */
  drained(): Promise<void> {
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }
}
