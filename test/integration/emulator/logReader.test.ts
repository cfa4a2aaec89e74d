// The log reader and the Cloud Logging adapter through the real @google-cloud/logging client, under both
// answers to the open question of Batch's task_id label (docs/batch-fidelity.md, "Cloud Logging"): the reader
// asks for either form, so one task's lines are found whichever Batch writes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogLine } from '../../../src/api/logLine.js';
import { CloudLogEntries } from '../../../src/adapters/logging/index.js';
import { QuotaBucket } from '../../../src/controller/batchThrottle.js';
import { systemClock } from '../../../src/controller/systemClock.js';
import { startEmulator, type RunningEmulator, type TaskIdLabel } from '../../../src/emulator/index.js';
import { LogReader } from '../../../src/logs/reader.js';
import { PARENT, rawClient, scriptJob, waitFor } from './client.js';

const FORMS: TaskIdLabel[] = ['plain', 'taskPath'];

describe.each(FORMS)('Batch writing task_id in the %s form', (form) => {
  let emulator: RunningEmulator;
  let logs: CloudLogEntries;

  beforeAll(async () => {
    emulator = await startEmulator({ taskIdLabel: form });
    logs = new CloudLogEntries({ emulatorHost: emulator.host });
  });

  afterAll(async () => {
    await logs?.close();
    await emulator?.stop();
  });

  it("one task's lines, in order, with their task index; every task's with --all-tasks", async () => {
    const client = rawClient(emulator.host);
    try {
      const [created] = await client.createJob({
        parent: PARENT,
        jobId: `three-${form.toLowerCase()}`,
        job: {
          ...scriptJob(
            'for i in 1 2 3; do echo "task $BATCH_TASK_INDEX line $i"; done',
            {},
            { taskCount: 3 },
          ),
          logsPolicy: { destination: 'CLOUD_LOGGING' },
        },
      });
      await waitFor(
        async () => (await client.getJob({ name: created.name! }))[0].status?.state,
        (state) => state === 'SUCCEEDED',
      );
      const taskIds = new Set(emulator.logEntries().map((e) => e.labels.task_id));
      // The emulator plays the answer asked for.
      expect(
        [...taskIds].every((id) => (form === 'plain' ? !id!.startsWith('task/') : id!.startsWith('task/'))),
      ).toBe(true);
      const read = async (taskIndexes?: number[]) => {
        const printed: LogLine[] = [];
        const reader = new LogReader({
          logs,
          clock: systemClock,
          budget: new QuotaBucket('logRead', 30, systemClock, Math.random),
          print: (line) => printed.push(line),
        });
        await reader.read({
          project: 'p',
          jobUids: [created.uid!],
          ...(taskIndexes ? { taskIndexes } : {}),
          since: new Date(Date.now() - 60_000).toISOString(),
        });
        return printed;
      };
      const one = await read([1]);
      expect(one.map((l) => [l.taskIndex, l.text])).toEqual([
        [1, 'task 1 line 1'],
        [1, 'task 1 line 2'],
        [1, 'task 1 line 3'],
      ]);
      expect(one.every((l) => l.severity === 'INFO' && l.jobUid === created.uid)).toBe(true);
      const all = await read();
      expect(all).toHaveLength(9);
      expect(new Set(all.map((l) => l.taskIndex))).toEqual(new Set([0, 1, 2]));
      for (const index of [0, 1, 2])
        expect(all.filter((l) => l.taskIndex === index).map((l) => l.text)).toEqual(
          [1, 2, 3].map((i) => `task ${index} line ${i}`),
        );
    } finally {
      await client.close();
    }
  });
});
