// The unmodified @google-cloud/batch client, pointed at an emulator the way BATCH_EMULATOR_HOST does.
import { BatchServiceClient } from '@google-cloud/batch';
import { clientOptions } from '../../../src/adapters/batch/clientOptions.js';

export type WireStatusEvent = {
  type?: string | null;
  description?: string | null;
  taskState?: string | null;
  taskExecution?: { exitCode?: number | null } | null;
};

/** The status events of one task, as GetTask gives them. */
export async function taskEvents(
  client: BatchServiceClient,
  jobName: string,
  index: number,
): Promise<WireStatusEvent[]> {
  const [task] = await client.getTask({ name: `${jobName}/taskGroups/group0/tasks/${index}` });
  return (task.status?.statusEvents ?? []) as WireStatusEvent[];
}

export function rawClient(host: string): BatchServiceClient {
  return new BatchServiceClient(clientOptions({ emulatorHost: host, projectId: 'p' }));
}

export const PARENT = 'projects/p/locations/l';

export function scriptJob(
  text: string,
  extra: Record<string, unknown> = {},
  group: Record<string, unknown> = {},
) {
  return {
    taskGroups: [{ taskCount: 1, ...group, taskSpec: { runnables: [{ script: { text } }], ...extra } }],
  };
}

export async function waitFor<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`condition not met in ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
