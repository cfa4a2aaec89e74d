import { describe, expect, it } from 'vitest';
import type { Job } from '../../../src/api/batch.js';
import {
  compareLines,
  failedTaskOutput,
  logsConsoleUrl,
  logsRefOf,
  outputExcerpt,
  sinceTime,
  taskIndexOfLogId,
  taskLogFilter,
  taskLogIds,
  taskOfArrayIndex,
  EXCERPT_CHARS,
  EXCERPT_LINES,
  type LogLine,
} from '../../../src/translate/batchLogs.js';

const line = (timestamp: string, insertId: string, text = insertId): LogLine => ({
  timestamp,
  insertId,
  severity: 'INFO',
  text,
});

describe('task log filters', () => {
  it('one job: the log name first, then its UID', () => {
    expect(taskLogFilter({ project: 'p', jobUids: ['u1'] })).toBe(
      'logName="projects/p/logs/batch_task_logs" AND labels.job_uid="u1"',
    );
  });

  it('several jobs and tasks: each task under both forms of its task_id, ORed', () => {
    expect(taskLogFilter({ project: 'p', jobUids: ['a', 'b'], taskIndexes: [0, 2] })).toBe(
      'logName="projects/p/logs/batch_task_logs" AND (' +
        'labels.task_id="a-group0-0" OR labels.task_id="task/a-group0-0/0/0" OR ' +
        'labels.task_id="a-group0-2" OR labels.task_id="task/a-group0-2/0/0" OR ' +
        'labels.task_id="b-group0-0" OR labels.task_id="task/b-group0-0/0/0" OR ' +
        'labels.task_id="b-group0-2" OR labels.task_id="task/b-group0-2/0/0")',
    );
  });

  it('since and after bound the time; quotes and backslashes in values are escaped', () => {
    expect(
      taskLogFilter({
        project: 'p',
        jobUids: ['x"y\\z'],
        since: '2026-01-01T00:00:00.000Z',
        after: '2026-01-01T00:00:01.000000005Z',
      }),
    ).toBe(
      'logName="projects/p/logs/batch_task_logs" AND labels.job_uid="x\\"y\\\\z" AND ' +
        'timestamp>="2026-01-01T00:00:00.000Z" AND timestamp>"2026-01-01T00:00:01.000000005Z"',
    );
  });

  it('needs a job', () => {
    expect(() => taskLogFilter({ project: 'p', jobUids: [] })).toThrow(/at least one/);
  });

  it('task IDs of either form round-trip to their index; anything else is no task', () => {
    for (const id of taskLogIds('j-1-2', 17)) expect(taskIndexOfLogId(id)).toBe(17);
    expect(taskLogIds('u', 3)).toEqual(['u-group0-3', 'task/u-group0-3/0/0']);
    expect(taskIndexOfLogId('task/j-group0-x/0/0')).toBeUndefined();
    expect(taskIndexOfLogId('whatever')).toBeUndefined();
  });

  it('the console link carries the whole query, encoded, and the project', () => {
    const url = logsConsoleUrl('my-proj', 'logName="a" AND (labels.x="1" OR labels.x="2")');
    expect(url.startsWith('https://console.cloud.google.com/logs/query;query=')).toBe(true);
    expect(url).toContain('?project=my-proj');
    expect(url).not.toMatch(/[ "()]/);
    const query = url.slice(url.indexOf('query=') + 6, url.indexOf('?project='));
    expect(decodeURIComponent(query)).toBe('logName="a" AND (labels.x="1" OR labels.x="2")');
  });
});

describe('order of lines', () => {
  it('by time with nanoseconds, whatever the fraction length, then by insertId', () => {
    const lines = [
      line('2026-01-01T00:00:01Z', 'c'),
      line('2026-01-01T00:00:00.5Z', 'b'),
      line('2026-01-01T00:00:00.000000001Z', 'z'),
      line('2026-01-01T00:00:00.000000001Z', 'a'),
      line('2026-01-01T00:00:00.499999999Z', 'y'),
    ];
    expect([...lines].sort(compareLines).map((l) => l.insertId)).toEqual(['a', 'z', 'y', 'b', 'c']);
  });

  it('an offset other than Z is compared as the same instant in UTC', () => {
    expect(
      compareLines(line('2026-01-01T01:00:00+01:00', 'a'), line('2026-01-01T00:00:00.5Z', 'b')),
    ).toBeLessThan(0);
  });

  it('a line with the same time comes after another by its insertId only; an older fraction comes before', () => {
    const mark = line('2026-01-01T00:00:00.1Z', 'm');
    expect(compareLines(line('2026-01-01T00:00:00.1Z', 'n'), mark)).toBeGreaterThan(0);
    expect(compareLines(line('2026-01-01T00:00:00.1Z', 'm'), mark)).toBe(0);
    expect(compareLines(line('2026-01-01T00:00:00.09Z', 'z'), mark)).toBeLessThan(0);
    expect(compareLines(line('2000-01-01T00:00:00Z', 'a'), mark)).toBeLessThan(0);
  });
});

describe('--since', () => {
  const now = new Date('2026-06-01T12:00:00Z');
  it('relative durations and RFC 3339 times', () => {
    expect(sinceTime('90s', now)).toBe('2026-06-01T11:58:30.000Z');
    expect(sinceTime('5m', now)).toBe('2026-06-01T11:55:00.000Z');
    expect(sinceTime('2h', now)).toBe('2026-06-01T10:00:00.000Z');
    expect(sinceTime('2026-05-31T00:00:00+02:00', now)).toBe('2026-05-30T22:00:00.000Z');
  });
  it('anything else is refused', () => {
    for (const bad of ['', '5', '5d', 'yesterday', '2026-13-45T00:00:00Z', '-5m'])
      expect(sinceTime(bad, now), bad).toBeUndefined();
  });
});

describe('array indexes to tasks', () => {
  it('tasks are the indexes in order', () => {
    const array = { begin: 3, end: 11, step: 4 };
    expect([3, 7, 11].map((i) => taskOfArrayIndex(array, i))).toEqual([0, 1, 2]);
    for (const i of [2, 4, 12, 15]) expect(taskOfArrayIndex(array, i)).toBeUndefined();
    expect(taskOfArrayIndex({ begin: 1, end: 6 }, 6)).toBe(5);
  });
});

describe('the output excerpt of a failed task', () => {
  const newestFirst = (texts: string[]) =>
    texts.map((text, i) => line(`2026-01-01T00:00:${String(59 - i).padStart(2, '0')}Z`, `i${i}`, text));

  it('the last lines, oldest first', () => {
    expect(outputExcerpt(newestFirst(['three', 'two', 'one']))).toBe('one\ntwo\nthree');
  });

  it(`at most ${EXCERPT_LINES} lines and ${EXCERPT_CHARS} characters, keeping the newest`, () => {
    const many = outputExcerpt(newestFirst(Array.from({ length: 50 }, (_, i) => `line ${49 - i}`)));
    expect(many.split('\n')).toHaveLength(EXCERPT_LINES);
    expect(many.split('\n').at(-1)).toBe('line 49');
    const wide = outputExcerpt(newestFirst(Array.from({ length: 10 }, () => 'x'.repeat(500))));
    expect(wide.length).toBeLessThanOrEqual(EXCERPT_CHARS);
    expect(wide.split('\n')[0]).toMatch(/\.\.\.$/);
  });

  it('drops control characters (a terminal escape in a status would reach whoever runs kubectl)', () => {
    expect(outputExcerpt(newestFirst(['\u001b[31mred\u001b[0m\tend\r']))).toBe('[31mred[0m\tend');
  });

  it('says which task failed with which code, then its output or why there is none', () => {
    expect(failedTaskOutput({ task: { index: 2, exitCode: 3 }, output: { excerpt: 'boom' } })).toBe(
      'Task 2 exited with code 3; its last output:\nboom',
    );
    expect(failedTaskOutput({ task: { index: 0 }, output: { omitted: 'secrets' } })).toBe(
      'Task 0 failed; no output excerpt: the job reads secret_env values, which its output could carry.',
    );
  });
});

describe('status.logs', () => {
  const job = (uid: string | undefined, extra: Partial<Job> = {}): Job => ({
    name: `projects/proj/locations/l/jobs/j-${uid}`,
    ...(uid ? { uid } : {}),
    ...extra,
  });

  it("the jobs' task log filter and console link", () => {
    const ref = logsRefOf([job('u1'), job('u2')]);
    expect(ref?.filter).toBe(
      'logName="projects/proj/logs/batch_task_logs" AND (labels.job_uid="u1" OR labels.job_uid="u2")',
    );
    expect(ref?.url).toContain('project=proj');
  });

  it('none while a UID is unknown, or when the logs go to a path', () => {
    expect(logsRefOf([job(undefined)])).toBeUndefined();
    expect(
      logsRefOf([job('u', { logsPolicy: { destination: 'PATH', logsPath: '/mnt/x' } })]),
    ).toBeUndefined();
    expect(logsRefOf([])).toBeUndefined();
  });
});
