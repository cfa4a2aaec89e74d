// `drmaa2-batch logs NAME` (and `kubectl drmaa2 logs NAME`): what a Drmaa2Job's tasks printed, read from
// Cloud Logging. The resource is read from Kubernetes with the caller's kubeconfig; its Batch jobs and the
// logs with the caller's own Google credentials (Application Default Credentials), so that nobody reads
// more through this command than Google lets them read anyway.
import { CustomObjectsApi } from '@kubernetes/client-node';
import { Option, type Command } from 'commander';
import { TERMINAL_STATES } from '../api/drmaa2.js';
import type { Drmaa2Job } from '../api/drmaa2job.js';
import type { LogLine } from '../api/logLine.js';
import { createBatchJobs } from '../adapters/batch/index.js';
import { JobStore } from '../adapters/kube/jobStore.js';
import { loadKubeConfig } from '../adapters/kube/kubeConfig.js';
import { CloudLogEntries } from '../adapters/logging/index.js';
import { QuotaBucket } from '../controller/batchThrottle.js';
import { systemClock } from '../controller/systemClock.js';
import { proveLogTarget, LogsUnavailable } from '../logs/jobLogs.js';
import { DEFAULT_READS_PER_MINUTE, LogReader } from '../logs/reader.js';
import { isBatchError } from '../ports/errors.js';
import { isErrorSeverity, sinceTime } from '../translate/batchLogs.js';
import { logTargetOf } from '../translate/logTarget.js';

export interface LogsOptions {
  namespace?: string;
  kubeconfig?: string;
  task?: number;
  arrayIndex?: number;
  follow?: boolean;
  since?: string;
  tail?: number;
  timestamps?: boolean;
  allTasks?: boolean;
  readsPerMinute: number;
  /** Default BATCH_EMULATOR_HOST. */
  batchEmulatorHost?: string;
  /** Default LOGGING_EMULATOR_HOST, else the Batch emulator's (which serves Logging too). */
  loggingEmulatorHost?: string;
}

/** Where the command writes: the process's streams, or the demo's own. */
export interface LogsOutput {
  out(text: string): void;
  err(text: string): void;
}

const STDIO: LogsOutput = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

function integer(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || n < min) throw new Error(`${name} must be an integer >= ${min}`);
    return n;
  };
}

export function registerLogs(program: Command): void {
  program
    .command('logs')
    .description(
      "print what a Drmaa2Job's tasks wrote to stdout (to stdout) and stderr (to stderr), from Cloud Logging",
    )
    .argument('<name>', 'the Drmaa2Job')
    .option('-n, --namespace <namespace>', "the resource's namespace (default: the kubeconfig context's)")
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG or ~/.kube/config)')
    .option('--task <index>', 'only this task of the Batch job', integer('--task', 0))
    .option('--array-index <index>', 'only this index of an array job', integer('--array-index', -1e15))
    .option('--all-tasks', 'every task, each line prefixed with its task')
    .option('-f, --follow', 'keep printing new lines until the job has ended and its last lines are read')
    .option('--since <when>', 'only lines from this long ago (30s, 5m, 2h) or this RFC 3339 time on')
    .option(
      '--tail <lines>',
      'only the last lines of the output, this many (-1: all, as kubectl)',
      integer('--tail', -1),
    )
    .option('--timestamps', 'prefix each line with its RFC 3339 time')
    .addOption(
      new Option('--reads-per-minute <n>', 'at most this many Cloud Logging list calls a minute')
        .argParser(integer('--reads-per-minute', 1))
        .default(DEFAULT_READS_PER_MINUTE)
        .env('DRMAA2_LOGS_READS_PER_MINUTE'),
    )
    .addHelpText(
      'after',
      "\nBATCH_EMULATOR_HOST and LOGGING_EMULATOR_HOST (default: BATCH_EMULATOR_HOST, the project's emulator " +
        'serves both) point the clients at an emulator.',
    )
    .action(async (name: string, opts: LogsOptions) => {
      process.exitCode = await runLogs(name, opts);
    });
}

export async function runLogs(name: string, opts: LogsOptions, io: LogsOutput = STDIO): Promise<number> {
  const fail = (message: string): number => {
    io.err(`error: ${message}\n`);
    return 1;
  };
  let since: string | undefined;
  if (opts.since !== undefined) {
    since = sinceTime(opts.since, new Date());
    if (since === undefined)
      return fail(`--since must be a duration such as 30s, 5m, 2h or an RFC 3339 time, got ${opts.since}`);
  }
  let kubeConfig;
  try {
    kubeConfig = loadKubeConfig(opts.kubeconfig);
  } catch (err) {
    return fail((err as Error).message);
  }
  const namespace =
    opts.namespace ?? kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace ?? 'default';
  const store = new JobStore(kubeConfig.makeApiClient(CustomObjectsApi), undefined);
  const read = async (): Promise<Drmaa2Job | undefined> => store.getWhole(namespace, name);
  let resource: Drmaa2Job | undefined;
  try {
    resource = await read();
  } catch (err) {
    return fail(`reading Drmaa2Job ${namespace}/${name}: ${(err as Error).message}`);
  }
  if (!resource) return fail(`Drmaa2Job ${name} not found in namespace ${namespace}`);

  const found = logTargetOf(resource, {
    ...(opts.task !== undefined ? { task: opts.task } : {}),
    ...(opts.arrayIndex !== undefined ? { arrayIndex: opts.arrayIndex } : {}),
    ...(opts.allTasks ? { allTasks: true } : {}),
  });
  if ('error' in found) return fail(found.error);
  if (found.target.note) io.err(`${found.target.note}\n`);

  const emulatorHost = opts.batchEmulatorHost ?? (process.env.BATCH_EMULATOR_HOST || undefined);
  const loggingHost = opts.loggingEmulatorHost ?? (process.env.LOGGING_EMULATOR_HOST || emulatorHost);
  const batch = createBatchJobs(emulatorHost ? { emulatorHost } : {});
  const logs = new CloudLogEntries(loggingHost ? { emulatorHost: loggingHost } : {});
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const proven = await proveLogTarget(resource, found.target, batch, since);
    for (const note of proven.notes) io.err(`${note}\n`);
    const many = proven.jobsByUid.size > 1;
    const prefixed = opts.allTasks === true || many;
    const indexOfUid = new Map(
      [...proven.jobsByUid.keys()].map((uid, n) => [uid, arrayIndexOf(resource, n)] as const),
    );
    const print = (line: LogLine) => {
      const stamp = opts.timestamps ? `${line.timestamp} ` : '';
      const where = prefixed
        ? `[${many ? `index ${indexOfUid.get(line.jobUid ?? '') ?? '?'} ` : ''}task ${line.taskIndex ?? '?'}] `
        : '';
      const text = `${stamp}${where}${line.text}\n`;
      if (isErrorSeverity(line.severity)) io.err(text);
      else io.out(text);
    };
    const budget = new QuotaBucket('read', opts.readsPerMinute, systemClock, Math.random);
    const reader = new LogReader({ logs, clock: systemClock, budget, print, signal: abort.signal });
    const ended = async () => {
      const now = await read();
      return !now || TERMINAL_STATES.includes(now.status?.state ?? 'Undetermined');
    };
    // A job that has ended already prints what it printed, as `kubectl logs -f` does for a finished pod.
    const follow =
      opts.follow === true && !TERMINAL_STATES.includes(resource.status?.state ?? 'Undetermined');
    const result = await reader.read(proven.selection, {
      ...(opts.tail !== undefined && opts.tail >= 0 ? { tail: opts.tail } : {}),
      ...(follow ? { follow: { ended } } : {}),
    });
    if (result.printed === 0 && !abort.signal.aborted) {
      io.err(
        `no output in Cloud Logging for ${namespace}/${name}${since ? ` since ${since}` : ''}: the tasks printed nothing, ` +
          'or their lines have not arrived yet (Cloud Logging takes a few seconds)\n',
      );
    }
    return 0;
  } catch (err) {
    if (err instanceof LogsUnavailable) return fail(err.message);
    if (isBatchError(err, 'PermissionDenied'))
      return fail(
        `not allowed to read: ${err.message} (reading task logs needs logging.logEntries.list, e.g. roles/logging.viewer, ` +
          "in the job's project; proving the job needs batch.jobs.get)",
      );
    if (isBatchError(err, 'ResourceExhausted'))
      return fail(`Cloud Logging's read quota is spent for now (${err.message}); try again in a minute`);
    return fail((err as Error).message);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await Promise.allSettled([batch.close(), logs.close()]);
  }
}

/** The array index the n-th element job of a per-element array runs. */
function arrayIndexOf(resource: Drmaa2Job, n: number): number | undefined {
  const array = resource.spec.array;
  return array ? array.begin + n * (array.step ?? 1) : undefined;
}
