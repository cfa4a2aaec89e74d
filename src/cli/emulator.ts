import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { load } from 'js-yaml';
import { startEmulator, type IamOptions } from '../emulator/index.js';

function choice<T extends string>(flag: string, allowed: readonly T[]) {
  return (value: string): T => {
    if (!(allowed as readonly string[]).includes(value))
      throw new Error(`${flag} must be ${allowed.join(' or ')}, got ${value}`);
    return value as T;
  };
}

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`expected a non-negative integer, got ${value}`);
  return n;
}

/** Identity options from a YAML or JSON file (JSON is YAML); the emulator checks their content. */
function readIam(file: string): IamOptions {
  try {
    return load(readFileSync(file, 'utf8')) as IamOptions;
  } catch (err) {
    throw new Error(`--iam ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

function readTls(cert?: string, key?: string): { cert: string; key: string } | undefined {
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) throw new Error('--tls-cert and --tls-key go together');
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
}

export function registerEmulator(program: Command): void {
  program
    .command('emulator')
    .description(
      'Run a local Google Batch emulator (gRPC on the real protos; scripts run as local processes)',
    )
    .option('--host <address>', 'listen address', '127.0.0.1')
    .option('--port <port>', 'gRPC port (0 = any free port)', integer, 0)
    .option(
      '--admin-port <port>',
      'port of the admin HTTP endpoint (/admin/stats, /admin/jobs, /admin/faults)',
      integer,
    )
    .option(
      '--containers <mode>',
      'run: run a container entrypoint locally; simulate: succeed without running',
      'run',
    )
    .option('--step-ms <ms>', 'delay between lifecycle steps', integer, 500)
    .option(
      '--update-time <mode>',
      "jobEvents: a job's updateTime moves with its own status events; everyChange: with every task change too",
      choice('--update-time', ['jobEvents', 'everyChange'] as const),
      'jobEvents',
    )
    .option(
      '--task-delay-ms <ms>',
      'for this long after CreateJob, ListTasks lists no tasks and GetTask answers NOT_FOUND',
      integer,
      0,
    )
    .option(
      '--retry-unmatched <mode>',
      'with a RETRY_TASK lifecycle policy, an exit code it does not list: fail, or retry up to maxRetryCount',
      choice('--retry-unmatched', ['fail', 'retry'] as const),
      'fail',
    )
    .option(
      '--page-size-check <mode>',
      "a later page's page_size must equal its token's as sent (asSent) or after the default of 500 (resolved)",
      choice('--page-size-check', ['asSent', 'resolved'] as const),
      'asSent',
    )
    .option('--tls-cert <file>', 'PEM certificate chain: serve gRPC (and the identity endpoint) over TLS')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option(
      '--iam <file>',
      "YAML or JSON identity options (federation, principals, tokenLifetimeSeconds): calls need a token this emulator issued and the caller's rights",
    )
    .option(
      '--identity-port <port>',
      'port of the identity endpoint with --iam (0 = any free port)',
      integer,
      0,
    )
    .option(
      '--ingestion-delay-ms <ms>',
      'Cloud Logging: an entry becomes visible to readers this long after it was written',
      integer,
      0,
    )
    .option(
      '--task-id-label <form>',
      'Cloud Logging: the task_id label as plain (<job uid>-group0-<i>) or taskPath (task/<job uid>-group0-<i>/0/0)',
      choice('--task-id-label', ['plain', 'taskPath'] as const),
      'plain',
    )
    .option(
      '--logging-list-per-minute <n>',
      'Cloud Logging: ListLogEntries calls allowed per project per minute (Logging: 60)',
      integer,
    )
    .option(
      '--logging-tail-sessions <n>',
      'Cloud Logging: TailLogEntries sessions open at once per project (Logging: 10)',
      integer,
    )
    .action(
      async (opts: {
        host: string;
        port: number;
        adminPort?: number;
        containers: string;
        stepMs: number;
        updateTime: 'jobEvents' | 'everyChange';
        taskDelayMs: number;
        retryUnmatched: 'fail' | 'retry';
        pageSizeCheck: 'asSent' | 'resolved';
        tlsCert?: string;
        tlsKey?: string;
        iam?: string;
        identityPort: number;
        ingestionDelayMs: number;
        taskIdLabel: 'plain' | 'taskPath';
        loggingListPerMinute?: number;
        loggingTailSessions?: number;
      }) => {
        if (opts.containers !== 'run' && opts.containers !== 'simulate') {
          throw new Error(`--containers must be run or simulate, got ${opts.containers}`);
        }
        const tls = readTls(opts.tlsCert, opts.tlsKey);
        const iam = opts.iam !== undefined ? readIam(opts.iam) : undefined;
        const emulator = await startEmulator({
          host: opts.host,
          port: opts.port,
          stepMs: opts.stepMs,
          containers: opts.containers,
          updateTime: opts.updateTime,
          taskDelayMs: opts.taskDelayMs,
          retryUnmatched: opts.retryUnmatched,
          pageSizeCheck: opts.pageSizeCheck,
          ...(opts.adminPort !== undefined ? { adminPort: opts.adminPort } : {}),
          ...(tls ? { tls } : {}),
          ...(iam ? { iam, identityPort: opts.identityPort } : {}),
          ingestionDelayMs: opts.ingestionDelayMs,
          taskIdLabel: opts.taskIdLabel,
          loggingQuota: {
            ...(opts.loggingListPerMinute !== undefined ? { listPerMinute: opts.loggingListPerMinute } : {}),
            ...(opts.loggingTailSessions !== undefined ? { tailSessions: opts.loggingTailSessions } : {}),
          },
        });
        console.log(`BATCH_EMULATOR_HOST=${emulator.host}`);
        console.log(`LOGGING_EMULATOR_HOST=${emulator.loggingHost}`);
        if (emulator.adminUrl) console.log(`admin endpoint: ${emulator.adminUrl}/admin/stats`);
        if (emulator.identityUrl) console.log(`identity endpoint: ${emulator.identityUrl}`);
        if (iam && !tls)
          console.error('--iam without --tls-cert: Google clients send no bearer token over plain gRPC');
        const stop = () => {
          void emulator.stop().then(() => process.exit(0));
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      },
    );
}
