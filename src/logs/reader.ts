// Reads a Batch job's task logs from Cloud Logging, in order, once or following them live.
//
// Cloud Logging's read quota is per project and shared by everyone reading it (60 ListLogEntries calls a
// minute, docs/batch-fidelity.md), so one reader stays well inside it: its list calls draw from a token
// bucket (30 a minute by default: half the project's quota, a page of up to 1,000 lines each) that also
// learns from a RESOURCE_EXHAUSTED answer, and a follower holds one tail session, which counts as one read
// request when it opens and costs no list calls however long it runs. A follower:
//  1. opens the tail first, so that nothing written while the history is read is missed;
//  2. lists the history (or the last N lines), then prints what the tail streams, skipping lines already
//     printed;
//  3. asks every few seconds (of Kubernetes, not of Logging) whether the job has ended; once it has, it
//     keeps the tail open for a drain period (Logging takes a few seconds to make an entry readable), then
//     lists once more from the time the tail opened and prints whatever the tail did not bring, and ends.
// A tail Logging refuses or ends (too many sessions, a lost connection) is replaced by listing new lines
// every poll interval, within the same budget.
import type { LogLine } from '../api/logLine.js';
import type { Clock } from '../ports/clock.js';
import { isBatchError } from '../ports/errors.js';
import type { LogEntries, LogQuery, LogTail } from '../ports/logEntries.js';
import { compareLines, taskLogFilter, type LogSelection } from '../translate/batchLogs.js';

/** Logging's largest page. */
export const MAX_PAGE = 1000;
/** A reader's list calls per minute unless told otherwise. */
export const DEFAULT_READS_PER_MINUTE = 30;

/** A list call's turn: waits for a token; `answered` tells the budget how the call went. */
export interface ReadBudget {
  take(): Promise<void>;
  answered(err: unknown): void;
}

export interface ReaderDeps {
  logs: LogEntries;
  clock: Clock;
  budget: ReadBudget;
  print(line: LogLine): void;
  signal?: AbortSignal;
}

export interface FollowOptions {
  /** Whether the job has ended; asked every `checkEveryMs` (2 s). */
  ended(): Promise<boolean>;
  checkEveryMs?: number;
  /** How long the tail stays open after the end was seen. */
  drainMs?: number;
  /** Between list calls when there is no tail. */
  pollEveryMs?: number;
}

export interface ReadOptions {
  /** Only the last N lines of the history. */
  tail?: number;
  follow?: FollowOptions;
}

export interface ReadResult {
  printed: number;
  listCalls: number;
  tailSessions: number;
  /** How the follower learned of new lines: the tail, or listing when Logging would not keep a tail. */
  followedBy?: 'tail' | 'polling';
}

/** How many RESOURCE_EXHAUSTED answers in a row a read sits out before it gives up. */
const MAX_EXHAUSTED = 5;
/** Entries printed are remembered by insertId for this long behind the newest, to skip the tail's repeats. */
const SEEN_WINDOW_MS = 10 * 60_000;
/** Clocks of the machines writing entries and of this reader differ; a catch-up reaches back this far. */
const CLOCK_SKEW_MS = 30_000;

/** The lines printed so far, remembered by insertId for SEEN_WINDOW_MS behind the newest: every read that can
 * bring a line again (the tail after the history, a poll, the last read) reaches back no further than that. */
class Printed {
  private readonly ids = new Map<string, number>();
  private addsSinceForget = 0;
  count = 0;
  newest: LogLine | undefined;

  constructor(private readonly print: (line: LogLine) => void) {}

  /** Prints a line once; false when it was printed before. */
  add(line: LogLine): boolean {
    if (line.insertId !== '' && this.ids.has(line.insertId)) return false;
    const at = Date.parse(line.timestamp);
    if (line.insertId !== '') this.ids.set(line.insertId, Number.isNaN(at) ? 0 : at);
    this.print(line);
    this.count++;
    if (!this.newest || compareLines(line, this.newest) > 0) this.newest = line;
    // Forgetting scans the map: done once per 10,000 lines, its cost stays a fraction of the printing's.
    if (++this.addsSinceForget >= 10_000) this.forget();
    return true;
  }

  /** How far back a read may reach without bringing a line that was printed and forgotten. */
  rememberedFrom(): number {
    return this.newest ? Date.parse(this.newest.timestamp) - SEEN_WINDOW_MS : -Infinity;
  }

  private forget(): void {
    this.addsSinceForget = 0;
    const from = this.rememberedFrom();
    for (const [id, at] of this.ids) if (at < from) this.ids.delete(id);
  }
}

export class LogReader {
  private listCalls = 0;
  private tailSessions = 0;

  constructor(private readonly deps: ReaderDeps) {}

  async read(sel: LogSelection, opts: ReadOptions = {}): Promise<ReadResult> {
    const printed = new Printed(this.deps.print);
    const follow = opts.follow;
    let tail: LogTail | undefined;
    const openedAt = this.deps.clock.now();
    if (follow) {
      tail = this.deps.logs.tail(sel.project, taskLogFilter({ ...sel, since: undefined }));
      this.tailSessions++;
    }
    try {
      await this.history(sel, opts.tail, printed);
      if (!follow || this.aborted()) return this.result(printed);
      const followedBy = await this.follow(sel, follow, tail!, printed, openedAt);
      return { ...this.result(printed), followedBy };
    } finally {
      tail?.close();
    }
  }

  private result(printed: Printed): ReadResult {
    return { printed: printed.count, listCalls: this.listCalls, tailSessions: this.tailSessions };
  }

  private aborted(): boolean {
    return this.deps.signal?.aborted === true;
  }

  /** One list call, paced by the budget; RESOURCE_EXHAUSTED is sat out a few times, then reported. */
  private async list(query: LogQuery) {
    for (let exhausted = 0; ; exhausted++) {
      await this.deps.budget.take();
      this.listCalls++;
      try {
        const page = await this.deps.logs.list(query);
        this.deps.budget.answered(undefined);
        return page;
      } catch (err) {
        this.deps.budget.answered(err);
        if (!isBatchError(err, 'ResourceExhausted') || exhausted + 1 >= MAX_EXHAUSTED) throw err;
      }
    }
  }

  private async history(sel: LogSelection, last: number | undefined, printed: Printed): Promise<void> {
    const filter = taskLogFilter(sel);
    if (last !== undefined) {
      if (last <= 0) return;
      // The newest N, read newest first, printed oldest first.
      const newest: LogLine[] = [];
      let pageToken: string | undefined;
      do {
        const page = await this.list({
          project: sel.project,
          filter,
          order: 'desc',
          pageSize: Math.min(MAX_PAGE, last - newest.length),
          ...(pageToken ? { pageToken } : {}),
        });
        newest.push(...page.entries);
        pageToken = page.nextPageToken;
      } while (pageToken && newest.length < last && !this.aborted());
      for (const line of newest.slice(0, last).reverse()) printed.add(line);
      return;
    }
    await this.listAll({ project: sel.project, filter, order: 'asc', pageSize: MAX_PAGE }, printed);
  }

  private async listAll(query: LogQuery, printed: Printed): Promise<void> {
    let pageToken: string | undefined;
    do {
      const page = await this.list({ ...query, ...(pageToken ? { pageToken } : {}) });
      for (const line of page.entries) printed.add(line);
      pageToken = page.nextPageToken;
    } while (pageToken && !this.aborted());
  }

  /** Lines from `since` on (or from the selection's own `since`, when later). */
  private listSince(sel: LogSelection, since: string, printed: Printed): Promise<void> {
    const from = sel.since && sel.since > since ? sel.since : since;
    const filter = taskLogFilter({ ...sel, since: from });
    return this.listAll({ project: sel.project, filter, order: 'asc', pageSize: MAX_PAGE }, printed);
  }

  private async follow(
    sel: LogSelection,
    opts: FollowOptions,
    tail: LogTail,
    printed: Printed,
    openedAt: Date,
  ): Promise<'tail' | 'polling'> {
    const clock = this.deps.clock;
    const checkEvery = opts.checkEveryMs ?? 2_000;
    const drain = opts.drainMs ?? 5_000;
    const pollEvery = opts.pollEveryMs ?? 10_000;
    let followedBy: 'tail' | 'polling' = 'tail';
    let tailDone = false;
    let tailError: unknown;
    const consuming = (async () => {
      try {
        for await (const batch of tail) for (const line of [...batch].sort(compareLines)) printed.add(line);
      } catch (err) {
        tailError = err;
      } finally {
        tailDone = true;
      }
    })();
    // Polling lists from a little before the newest line printed; the last read after a tail goes back to
    // when the tail opened (at most SEEN_WINDOW_MS before the newest line), since a line the tail missed may be
    // anywhere in the time it was open.
    const pollFrom = () => {
      const newest = printed.newest ? Date.parse(printed.newest.timestamp) : 0;
      return new Date(Math.max(newest, openedAt.getTime()) - CLOCK_SKEW_MS).toISOString();
    };
    // Within the window of lines remembered, so that nothing printed is printed again.
    const tailFrom = () =>
      new Date(
        Math.max(openedAt.getTime() - CLOCK_SKEW_MS, printed.rememberedFrom() + CLOCK_SKEW_MS),
      ).toISOString();
    let endedAt: number | undefined;
    let nextCheck = clock.now().getTime();
    let nextPoll = Infinity;
    while (!this.aborted()) {
      const now = clock.now().getTime();
      if (tailDone && followedBy === 'tail') {
        if (isBatchError(tailError, 'PermissionDenied') || isBatchError(tailError, 'InvalidArgument'))
          throw tailError;
        followedBy = 'polling';
        nextPoll = now;
      }
      if (endedAt === undefined && now >= nextCheck) {
        if (await opts.ended()) endedAt = clock.now().getTime();
        nextCheck = now + checkEvery;
      }
      if (followedBy === 'polling' && now >= nextPoll) {
        await this.listSince(sel, pollFrom(), printed);
        nextPoll = clock.now().getTime() + pollEvery;
      }
      if (endedAt !== undefined && clock.now().getTime() >= endedAt + drain) break;
      const wakeAt = Math.min(nextCheck, nextPoll, endedAt !== undefined ? endedAt + drain : Infinity);
      // Short sleeps without the signal: the loop sees an abort within a second, and an hour of following
      // does not pile a listener per sleep onto it.
      await clock.sleep(Math.max(50, Math.min(1_000, wakeAt - clock.now().getTime())));
    }
    tail.close();
    await consuming;
    if (this.aborted()) return followedBy;
    // The last entries: whatever became readable after the tail (or the last poll) had passed it by.
    await this.listSince(sel, followedBy === 'tail' ? tailFrom() : pollFrom(), printed);
    return followedBy;
  }
}
