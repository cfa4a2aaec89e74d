import { describe, expect, it } from 'vitest';
import type { LogLine } from '../../../src/api/logLine.js';
import { QuotaBucket } from '../../../src/controller/batchThrottle.js';
import { LogReader, MAX_PAGE, type ReadBudget } from '../../../src/logs/reader.js';
import type { LogSelection } from '../../../src/translate/batchLogs.js';
import { FakeClock } from '../../support/fakes/fakeClock.js';
import { FakeLogEntries } from '../../support/fakes/fakeLogEntries.js';

const SEL: LogSelection = { project: 'p', jobUids: ['u'], since: '2026-01-01T00:00:00.000Z' };

function at(second: number, n = 0): string {
  return new Date(Date.UTC(2026, 0, 1, 0, 0, second) + n).toISOString().replace('Z', '000Z');
}

function lineAt(second: number, id: string, extra: Partial<LogLine> = {}): LogLine {
  return {
    timestamp: at(second),
    insertId: id,
    severity: 'INFO',
    text: `line ${id}`,
    jobUid: 'u',
    taskIndex: 0,
    ...extra,
  };
}

class CountingBudget implements ReadBudget {
  taken = 0;
  answers: unknown[] = [];
  async take() {
    this.taken++;
  }
  answered(err: unknown) {
    this.answers.push(err);
  }
}

function setup(opts: { budget?: ReadBudget } = {}) {
  // The follower starts at the time of the first lines: what it reads from Logging was written meanwhile.
  const clock = new FakeClock({ start: '2026-01-01T00:00:00Z' });
  const logs = new FakeLogEntries();
  const printed: LogLine[] = [];
  const budget = opts.budget ?? new CountingBudget();
  const reader = new LogReader({ logs, clock, budget, print: (l) => printed.push(l) });
  return { clock, logs, printed, budget, reader };
}

describe('reading a finished job', () => {
  it('every line in order, a page of 1,000 per list call', async () => {
    const { logs, printed, reader } = setup();
    // Added out of order: Logging's order (time, then insertId) decides.
    for (let i = 2499; i >= 0; i--) logs.add(lineAt(Math.floor(i / 10), `id${String(i).padStart(5, '0')}`));
    const result = await reader.read(SEL);
    expect(printed.map((l) => l.insertId)).toEqual(
      Array.from({ length: 2500 }, (_, i) => `id${String(i).padStart(5, '0')}`),
    );
    expect(result).toMatchObject({ printed: 2500, listCalls: 3, tailSessions: 0 });
    expect(logs.queries.map((q) => [q.order, q.pageSize, q.pageToken])).toEqual([
      ['asc', MAX_PAGE, undefined],
      ['asc', MAX_PAGE, '1000'],
      ['asc', MAX_PAGE, '2000'],
    ]);
  });

  it('--tail N: the newest N, read newest first and printed oldest first', async () => {
    const { logs, printed, reader } = setup();
    for (let i = 0; i < 20; i++) logs.add(lineAt(i, `l${i}`));
    await reader.read(SEL, { tail: 3 });
    expect(printed.map((l) => l.insertId)).toEqual(['l17', 'l18', 'l19']);
    expect(logs.queries).toEqual([expect.objectContaining({ order: 'desc', pageSize: 3 })]);
  });

  it('--tail larger than a page pages on; --tail 0 reads nothing', async () => {
    const { logs, printed, reader } = setup();
    for (let i = 0; i < 1500; i++) logs.add(lineAt(Math.floor(i / 100), `x${String(i).padStart(4, '0')}`));
    await reader.read(SEL, { tail: 1200 });
    expect(printed).toHaveLength(1200);
    expect(printed[0]!.insertId).toBe('x0300');
    expect(printed.at(-1)!.insertId).toBe('x1499');
    expect(logs.queries.map((q) => q.pageSize)).toEqual([1000, 200]);
    const before = logs.queries.length;
    await reader.read(SEL, { tail: 0 });
    expect(logs.queries.length).toBe(before);
  });

  it('a RESOURCE_EXHAUSTED answer is sat out through the budget, a few times, then reported', async () => {
    const { logs, printed, reader, budget } = setup();
    logs.add(lineAt(1, 'a'));
    logs.listFailures.push('ResourceExhausted', 'ResourceExhausted');
    await reader.read(SEL);
    expect(printed.map((l) => l.insertId)).toEqual(['a']);
    const answers = (budget as CountingBudget).answers;
    expect(answers.map((e) => (e as { kind?: string } | undefined)?.kind)).toEqual([
      'ResourceExhausted',
      'ResourceExhausted',
      undefined,
    ]);
    logs.listFailures.push(...Array(5).fill('ResourceExhausted'));
    await expect(reader.read(SEL)).rejects.toMatchObject({ kind: 'ResourceExhausted' });
  });

  it('PERMISSION_DENIED is not retried', async () => {
    const { logs, reader } = setup();
    logs.listFailures.push('PermissionDenied');
    await expect(reader.read(SEL)).rejects.toMatchObject({ kind: 'PermissionDenied' });
    expect(logs.queries).toHaveLength(1);
  });
});

describe('quota pacing', () => {
  it('list calls go no faster than the budget: 12 pages at 30 a minute take over 20 s', async () => {
    const clock = new FakeClock({ start: '2026-01-01T01:00:00Z' });
    const logs = new FakeLogEntries();
    for (let i = 0; i < 12 * MAX_PAGE; i++)
      logs.add(lineAt(Math.floor(i / 1000), `p${String(i).padStart(6, '0')}`));
    const budget = new QuotaBucket('logRead', 30, clock, () => 0.5);
    const reader = new LogReader({ logs, clock, budget, print: () => {} });
    const started = clock.nowMs();
    const result = await reader.read(SEL);
    expect(result.listCalls).toBe(12);
    // One call at once, then one every 2 s.
    expect(clock.nowMs() - started).toBeGreaterThanOrEqual(11 * 2_000);
    expect(clock.nowMs() - started).toBeLessThan(12 * 2_000 + 1_000);
  });
});

describe('following a running job', () => {
  it('opens the tail before reading the history, prints each line once, and ends after the job ended and its last lines were read', async () => {
    const { logs, printed, reader, clock } = setup();
    logs.add(lineAt(1, 'h1'), lineAt(2, 'h2'));
    let checks = 0;
    const ended = async () => {
      checks++;
      const tail = logs.tails[0]!;
      expect(logs.queries.length).toBeGreaterThan(0);
      if (checks === 1) {
        // A line the history already printed comes again through the tail: printed once.
        tail.push([lineAt(2, 'h2'), lineAt(3, 't3')]);
      }
      if (checks === 2) {
        tail.push([lineAt(5, 't5'), lineAt(4, 't4')]);
        return true;
      }
      return false;
    };
    const endedAfter = clock.nowMs();
    // A line the tail never brought (it arrived in Logging late): the last read finds it.
    logs.add(lineAt(6, 'late'));
    logs.visibleAfter = (l) => l.insertId !== 'late' || clock.nowMs() - endedAfter > 7_000;
    const result = await reader.read(SEL, { follow: { ended, checkEveryMs: 5_000, drainMs: 5_000 } });
    expect(printed.map((l) => l.insertId)).toEqual(['h1', 'h2', 't3', 't4', 't5', 'late']);
    expect(result).toMatchObject({ printed: 6, tailSessions: 1, followedBy: 'tail' });
    // The history, and one read after the end: a follower's list calls do not grow with the time it follows.
    expect(result.listCalls).toBe(2);
    expect(logs.tails[0]!.closed).toBe(true);
    // The tail's filter has no start time: it streams what arrives from now on.
    expect(logs.tails[0]!.filter).not.toContain('timestamp');
    expect(checks).toBe(2);
  });

  it('a long, busy follow prints each line once: the last read reaches back no further than the lines remembered', async () => {
    const { logs, printed, reader, clock } = setup();
    let checks = 0;
    const ended = async () => {
      checks++;
      if (checks <= 600) {
        // 20 minutes of a chatty job: 50 lines every 2 s, each line both in Logging and through the tail.
        const batch = Array.from({ length: 50 }, (_, i) => ({
          ...lineAt(0, `c${checks}-${i}`),
          timestamp: new Date(clock.nowMs() + i).toISOString(),
        }));
        logs.add(...batch);
        logs.tails[0]!.push(batch);
      }
      return checks > 600;
    };
    const result = await reader.read(SEL, { follow: { ended, checkEveryMs: 2_000 } });
    expect(result.printed).toBe(30_000);
    expect(new Set(printed.map((l) => l.insertId)).size).toBe(30_000);
    expect(printed).toHaveLength(30_000);
    expect(result.followedBy).toBe('tail');
  });

  it('a long follow costs no more list calls than a short one', async () => {
    const { logs, reader } = setup();
    let checks = 0;
    const result = await reader.read(SEL, {
      follow: { ended: async () => ++checks > 120, checkEveryMs: 5_000 },
    });
    expect(checks).toBe(121);
    expect(result.listCalls).toBe(2);
    expect(logs.tails).toHaveLength(1);
  });

  it('when Logging refuses or drops the tail, new lines are listed every poll interval until the end', async () => {
    const { logs, printed, reader } = setup();
    logs.add(lineAt(1, 'a'));
    let checks = 0;
    const ended = async () => {
      checks++;
      if (checks === 1) logs.tails[0]!.fail('ResourceExhausted');
      if (checks === 3) logs.add(lineAt(2, 'b'));
      return checks >= 7;
    };
    const result = await reader.read(SEL, {
      follow: { ended, checkEveryMs: 5_000, pollEveryMs: 10_000, drainMs: 5_000 },
    });
    expect(printed.map((l) => l.insertId)).toEqual(['a', 'b']);
    expect(result.followedBy).toBe('polling');
    // 30 s of following at one list per 10 s, plus the history and the last read.
    expect(result.listCalls).toBeGreaterThanOrEqual(4);
    expect(result.listCalls).toBeLessThanOrEqual(6);
  });

  it('a tail refused for permission ends the follow with that error', async () => {
    const { logs, reader } = setup();
    const ended = async () => {
      logs.tails[0]!.fail('PermissionDenied');
      return false;
    };
    await expect(reader.read(SEL, { follow: { ended } })).rejects.toMatchObject({ kind: 'PermissionDenied' });
    expect(logs.tails[0]!.closed).toBe(true);
  });

  it('an abort ends the follow without the last read', async () => {
    const clock = new FakeClock({ start: '2026-01-01T01:00:00Z' });
    const logs = new FakeLogEntries();
    const abort = new AbortController();
    const reader = new LogReader({
      logs,
      clock,
      budget: new CountingBudget(),
      print: () => {},
      signal: abort.signal,
    });
    let checks = 0;
    const result = await reader.read(SEL, {
      follow: {
        ended: async () => {
          if (++checks === 3) abort.abort();
          return false;
        },
      },
    });
    expect(result.listCalls).toBe(1);
    expect(logs.tails[0]!.closed).toBe(true);
  });
});
