// The emulator's Cloud Logging storage: the entries Batch writes for the task output of jobs whose
// logsPolicy sends it to Cloud Logging, each one visible to readers only after the configured ingestion
// delay, in bounded memory (the oldest entries go first, per job and in all), with tail sessions told of each
// new entry. Entries are kept in write order, which is also their (timestamp, insertId) order.
import type { FilterView } from './logFilter.js';
import { Fifo } from '../translate/fifo.js';

export type LogSeverity =
  'DEFAULT' | 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR' | 'CRITICAL' | 'ALERT' | 'EMERGENCY';

/** One entry, as RunningEmulator.logEntries() shows it (times in RFC 3339). */
export interface LogEntry {
  logName: string;
  resource: { type: string; labels: Record<string, string> };
  labels: Record<string, string>;
  severity: LogSeverity;
  textPayload: string;
  timestamp: string;
  receiveTimestamp: string;
  insertId: string;
}

export interface StoredEntry extends FilterView {
  readonly entry: LogEntry;
  readonly project: string;
  readonly job: string;
  /** Write order; also the tie-break after the timestamp, as the insertId is made from it. */
  readonly seq: number;
  readonly visibleAt: number;
  dropped: boolean;
}

export interface LogStoreLimits {
  /** Entries kept per job; a job's oldest go first. */
  perJob: number;
  /** Entries kept in all. */
  total: number;
  /** Characters of textPayload kept in all. */
  totalChars: number;
}

/** A chatty job must not exhaust the emulator's memory: some 100 MB at most with these. */
export const LOG_STORE_LIMITS: LogStoreLimits = { perJob: 50_000, total: 200_000, totalChars: 32 << 20 };

export type NewEntry = Omit<LogEntry, 'timestamp' | 'receiveTimestamp' | 'insertId'>;

export class LogStore {
  private readonly all = new Fifo<StoredEntry>();
  private readonly byJob = new Map<string, Fifo<StoredEntry>>();
  private readonly listeners = new Set<(entry: StoredEntry) => void>();
  private live = 0;
  private tombstones = 0;
  private chars = 0;
  private seq = 0;
  /** A prefix of the emulator's own, so that insertIds look like Logging's and differ between emulators. */
  private readonly idPrefix = Math.floor(Math.random() * 36 ** 4)
    .toString(36)
    .padStart(4, '0');

  constructor(
    private readonly ingestionDelayMs: number,
    private readonly limits: LogStoreLimits = LOG_STORE_LIMITS,
  ) {}

  /** Stores an entry written at `atMs` by a job of `project`. */
  write(project: string, job: string, fields: NewEntry, atMs: number): void {
    const seq = ++this.seq;
    const visibleAt = atMs + this.ingestionDelayMs;
    // Fixed width, so that insertId order is write order among entries of one timestamp.
    const insertId = `${this.idPrefix}${seq.toString(36).padStart(10, '0')}`;
    const entry: LogEntry = {
      ...fields,
      timestamp: new Date(atMs).toISOString(),
      receiveTimestamp: new Date(visibleAt).toISOString(),
      insertId,
    };
    const stored: StoredEntry = {
      entry,
      project,
      job,
      seq,
      visibleAt,
      dropped: false,
      logName: entry.logName,
      severity: entry.severity,
      insertId,
      textPayload: entry.textPayload,
      labels: entry.labels,
      resource: entry.resource,
      timeMs: atMs,
      receiveTimeMs: visibleAt,
    };
    this.all.push(stored);
    let queue = this.byJob.get(job);
    if (!queue) this.byJob.set(job, (queue = new Fifo()));
    queue.push(stored);
    this.live++;
    this.chars += entry.textPayload.length;
    while (queue.size > this.limits.perJob) this.drop(queue.shift()!);
    while (this.live > this.limits.total || (this.chars > this.limits.totalChars && this.live > 1))
      this.dropOldest();
    if (this.tombstones > 1024 && this.tombstones > this.live) {
      this.all.retain((e) => !e.dropped);
      this.tombstones = 0;
    }
    for (const listener of this.listeners) {
      try {
        listener(stored);
      } catch {
        // A reader's failure is its own.
      }
    }
  }

  private drop(entry: StoredEntry): void {
    entry.dropped = true;
    this.live--;
    this.tombstones++;
    this.chars -= entry.entry.textPayload.length;
  }

  private dropOldest(): void {
    for (let oldest = this.all.shift(); oldest; oldest = this.all.shift()) {
      if (oldest.dropped) {
        this.tombstones--;
        continue;
      }
      // The oldest of all is also the oldest of its job.
      this.byJob.get(oldest.job)?.shift();
      oldest.dropped = true;
      this.live--;
      this.chars -= oldest.entry.textPayload.length;
      return;
    }
  }

  /** Entries of these projects that readers can see at `now`, in (timestamp, insertId) order. */
  visible(projects: ReadonlySet<string>, now: number): StoredEntry[] {
    const out: StoredEntry[] = [];
    for (const e of this.all.from()) {
      if (e.visibleAt > now) break;
      if (!e.dropped && projects.has(e.project)) out.push(e);
    }
    return out.sort(byTime);
  }

  /** The seq of the newest entry readers can see at `now`: a tail session starts after it. */
  visibleUpTo(now: number): number {
    let last = this.firstSeq() - 1;
    for (const e of this.all.from()) {
      if (e.visibleAt > now) break;
      last = e.seq;
    }
    return last;
  }

  /** Entries after `seq` that readers can see at `now`, and the seq to continue after; the first entry not
   * visible yet stops the walk, as entries become visible in write order. */
  after(seq: number, now: number): { entries: StoredEntry[]; cursor: number; pending: boolean } {
    const entries: StoredEntry[] = [];
    let cursor = seq;
    let pending = false;
    for (const e of this.all.from(this.indexAfter(seq))) {
      if (e.visibleAt > now) {
        pending = true;
        break;
      }
      cursor = e.seq;
      if (!e.dropped) entries.push(e);
    }
    return { entries, cursor, pending };
  }

  /** When the first entry after `seq` becomes visible; undefined when there is none. */
  nextVisibleAt(seq: number): number | undefined {
    return this.all.at(this.indexAfter(seq))?.visibleAt;
  }

  private firstSeq(): number {
    return this.all.peek()?.seq ?? this.seq + 1;
  }

  /** The index of the first entry whose seq is above `seq` (seqs increase along the queue). */
  private indexAfter(seq: number): number {
    let lo = 0;
    let hi = this.all.size;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.all.at(mid)!.seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  subscribe(listener: (entry: StoredEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every entry kept, visible yet or not, in write order. */
  entries(): LogEntry[] {
    const out: LogEntry[] = [];
    for (const e of this.all.from()) if (!e.dropped) out.push(structuredClone(e.entry));
    return out;
  }
}

type Ordered = Pick<StoredEntry, 'timeMs' | 'insertId'>;

export function byTime(a: Ordered, b: Ordered): number {
  return a.timeMs - b.timeMs || (a.insertId < b.insertId ? -1 : a.insertId > b.insertId ? 1 : 0);
}
