// A local Google Batch: the real BatchService protos over gRPC on loopback, real validation, Batch's state
// machine, and script runnables executed as local processes. Point the real client at it with
// BATCH_EMULATOR_HOST=<host>. The same port serves Cloud Logging's LoggingServiceV2 with the task output of
// jobs that send theirs there (LOGGING_EMULATOR_HOST=<host>). With `tls` and `iam` it also plays Google's caller identity: every call needs a
// bearer token it issued (from its token exchange or generateAccessToken endpoints) and the caller's rights.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { Job } from '../api/batch.js';
import { startAdmin } from './admin.js';
import { Engine } from './engine.js';
import { FaultInjector, type FaultConfig, type Quota } from './faults.js';
import { BatchGate, compileIam, type IamOptions } from './iam.js';
import { startIdentityServer } from './identityServer.js';
import { loggingService } from './logging.js';
import { LoggingQuotas, type LoggingQuota } from './loggingQuota.js';
import { LOG_STORE_LIMITS, LogStore, type LogEntry, type LogStoreLimits } from './logStore.js';
import { loadLoggingService, loadServices } from './protos.js';
import type { TaskIdLabel } from './taskLogs.js';
import { BATCH_PAGING, CallStats, createServer, type CallRecord } from './server.js';
import type { LimitOptions } from './validate.js';

export type {
  FaultConfig,
  Quota,
  CallRecord,
  LimitOptions,
  IamOptions,
  LogEntry,
  LoggingQuota,
  LogStoreLimits,
};
export type { LogSeverity } from './logStore.js';
export type { TaskIdLabel } from './taskLogs.js';
export { LOGGING_QUOTA } from './loggingQuota.js';
export { LOG_STORE_LIMITS } from './logStore.js';
export { LOGGING_PAGING } from './logging.js';
export type { FederationProvider, PrincipalRights } from './iam.js';
export { DEFAULT_COMPUTE_SERVICE_ACCOUNT, EMULATOR_PROJECT_NUMBER } from './iam.js';
export type { JobSelector, PreemptionFault, SchedulingFault } from './faults.js';
export { BATCH_QUOTA } from './faults.js';

export interface EmulatorOptions {
  /** gRPC port; 0 (default) picks a free one. */
  port?: number;
  /** Listen address; loopback by default. */
  host?: string;
  /** Delay between lifecycle steps (QUEUED -> SCHEDULED -> RUNNING, task assignment), default 20 ms. */
  stepMs?: number;
  /** `run` (default): a container's entrypoint and commands run as a local process; `simulate`: they succeed. */
  containers?: 'run' | 'simulate';
  /** How long a simulated container runs, default stepMs. */
  simulatedRunMs?: number;
  faults?: FaultConfig;
  quota?: Quota;
  /** Where tasks get their working folders; a temp dir (removed on stop) by default. */
  workDir?: string;
  /** Port of the admin HTTP endpoint; 0 picks a free one; undefined starts none... except when 0 is given. */
  adminPort?: number;
  /** What moves a job's updateTime: its job-level status events only (`jobEvents`, default, as published
   * job descriptions show) or every task change as well (`everyChange`). */
  updateTime?: 'jobEvents' | 'everyChange';
  /** For this long after CreateJob, ListTasks lists no tasks and GetTask answers NOT_FOUND; 0 by default. */
  taskDelayMs?: number;
  /** status.taskGroups of a job whose tasks are not listed yet: `absent` (default) or the actual counts. */
  taskCountsWhileHidden?: 'absent' | 'actual';
  /** With a RETRY_TASK lifecycle policy, an exit code it does not list: `fail` (default) fails the task,
   * `retry` retries it up to maxRetryCount. */
  retryUnmatched?: 'fail' | 'retry';
  /** Listing pages: default 500 per page, at most 1000, a later page's page_size compared as sent. */
  pageSizeDefault?: number;
  pageSizeMax?: number;
  pageSizeCheck?: 'asSent' | 'resolved';
  /** How CreateJob treats a job over the parallelism, hosts-file or job-definition-size limit. */
  limits?: LimitOptions;
  /** PEM certificate (chain) and key: gRPC, and the identity endpoint, are served over TLS with them. Google's
   * clients send their bearer tokens only over TLS. */
  tls?: { cert: string; key: string };
  /** Google's caller identity: tokens, who may call Batch where, act as and impersonate whom. Without it any
   * call is accepted, as before. */
  iam?: IamOptions;
  /** Port of the identity endpoint (when `iam` is given); 0 (default) picks a free one. */
  identityPort?: number;
  /** Cloud Logging: an entry becomes visible to ListLogEntries and TailLogEntries this long after it was
   * written; 0 by default. */
  ingestionDelayMs?: number;
  /** Cloud Logging's read quotas per project (default LOGGING_QUOTA: 60 ListLogEntries a minute, 10 open
   * TailLogEntries sessions). */
  loggingQuota?: LoggingQuota;
  /** How many log entries are kept (the oldest go first); LOG_STORE_LIMITS by default. */
  logStoreLimits?: Partial<LogStoreLimits>;
  /** The form of the entries' `task_id` label: `plain` (default), `<job uid>-group0-<i>`, or `taskPath`,
   * `task/<job uid>-group0-<i>/0/0` (docs/batch-fidelity.md, "Open questions on Cloud Logging"). */
  taskIdLabel?: TaskIdLabel;
}

export interface EmulatorStats {
  calls: Record<string, Record<string, number>>;
  jobs: number;
}

export interface RunningEmulator {
  /** `127.0.0.1:PORT`, the value for BATCH_EMULATOR_HOST */
  host: string;
  /** The same address: Cloud Logging is served on Batch's port (the value for LOGGING_EMULATOR_HOST). */
  loggingHost: string;
  port: number;
  /** `http://127.0.0.1:PORT` of the admin endpoint, or '' when none was started. */
  adminUrl: string;
  /** `https://127.0.0.1:PORT` (`http://` without `tls`) serving POST /v1/token (STS) and POST
   * /v1/projects/-/serviceAccounts/{email}:generateAccessToken (IAM Credentials); '' without `iam`. */
  identityUrl: string;
  stats(): EmulatorStats;
  callLog(): CallRecord[];
  /** Calls `listener` for each call as it is answered, before the answer leaves; returns the unsubscribe. */
  onCall(listener: (call: CallRecord) => void): () => void;
  /** Replaces the faults in force (throws on a malformed configuration); job faults apply from their next
   * decision point on (a job reaching SCHEDULED, a task attempt starting). */
  setFaults(faults: FaultConfig): void;
  setQuota(quota: Quota | undefined): void;
  jobs(): Job[];
  taskLog(jobName: string, index: number): string;
  /** Every Cloud Logging entry kept, visible to readers yet or not, in the order written. */
  logEntries(): LogEntry[];
  stop(): Promise<void>;
}

export async function startEmulator(opts: EmulatorOptions = {}): Promise<RunningEmulator> {
  const host = opts.host ?? '127.0.0.1';
  const ownWorkDir = opts.workDir === undefined;
  const workDir = opts.workDir ?? mkdtempSync(join(tmpdir(), 'drmaa2-batch-emulator-'));
  const faults = new FaultInjector(opts.faults ?? {}, opts.quota);
  const ingestionDelayMs = opts.ingestionDelayMs ?? 0;
  if (!Number.isFinite(ingestionDelayMs) || ingestionDelayMs < 0)
    throw new Error('ingestionDelayMs must be a non-negative number');
  const loggingQuotas = new LoggingQuotas(opts.loggingQuota ?? {});
  const logs = new LogStore(ingestionDelayMs, { ...LOG_STORE_LIMITS, ...opts.logStoreLimits });
  const engine = new Engine({
    stepMs: opts.stepMs ?? 20,
    containers: opts.containers ?? 'run',
    ...(opts.simulatedRunMs !== undefined ? { simulatedRunMs: opts.simulatedRunMs } : {}),
    workDir,
    updateTime: opts.updateTime ?? 'jobEvents',
    taskDelayMs: opts.taskDelayMs ?? 0,
    taskCountsWhileHidden: opts.taskCountsWhileHidden ?? 'absent',
    retryUnmatched: opts.retryUnmatched ?? 'fail',
    limits: opts.limits ?? {},
    faults: () => faults.current().faults,
    logs,
    taskIdLabel: opts.taskIdLabel ?? 'plain',
  });
  // Malformed identity options fail the start, before any port is taken.
  const iam = opts.iam ? compileIam(opts.iam) : undefined;
  const stats = new CallStats();
  const gate = iam ? new BatchGate(iam.policy, iam.tokens) : undefined;
  const server = createServer(loadServices(), engine, faults, stats, {
    ...(gate ? { gate } : {}),
    paging: {
      pageSizeDefault: opts.pageSizeDefault ?? BATCH_PAGING.pageSizeDefault,
      pageSizeMax: opts.pageSizeMax ?? BATCH_PAGING.pageSizeMax,
      pageSizeCheck: opts.pageSizeCheck ?? BATCH_PAGING.pageSizeCheck,
    },
    limits: opts.limits ?? {},
  });
  const logging = loggingService({
    store: logs,
    faults,
    stats,
    quotas: loggingQuotas,
    ...(gate ? { gate } : {}),
  });
  server.addService(loadLoggingService(), logging.implementation);
  const credentials = opts.tls
    ? grpc.ServerCredentials.createSsl(
        null,
        [{ cert_chain: Buffer.from(opts.tls.cert), private_key: Buffer.from(opts.tls.key) }],
        false,
      )
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${opts.port ?? 0}`, credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  const admin =
    opts.adminPort !== undefined ? await startAdmin(host, opts.adminPort, engine, faults, stats) : undefined;
  let identity: Awaited<ReturnType<typeof startIdentityServer>> | undefined;
  try {
    identity = iam ? await startIdentityServer(iam, host, opts.identityPort ?? 0, opts.tls) : undefined;
  } catch (err) {
    // A taken identity port must not leave the rest of the emulator running with nobody to stop it.
    engine.stop();
    logging.stop();
    admin?.server.close();
    server.forceShutdown();
    if (ownWorkDir) rmSync(workDir, { recursive: true, force: true });
    throw err;
  }
  let stopped = false;
  return {
    host: `${host}:${port}`,
    loggingHost: `${host}:${port}`,
    port,
    adminUrl: admin?.url ?? '',
    identityUrl: identity?.url ?? '',
    stats: () => ({ calls: structuredClone(stats.calls), jobs: engine.all().length }),
    callLog: () => [...stats.log],
    onCall: (listener) => {
      stats.listeners.add(listener);
      return () => stats.listeners.delete(listener);
    },
    setFaults: (f) => faults.set(f),
    setQuota: (q) => faults.setQuota(q),
    jobs: () => engine.all(),
    taskLog: (jobName, index) => engine.taskLog(jobName, index),
    logEntries: () => logs.entries(),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      engine.stop();
      // Open tail sessions would hold the server's graceful shutdown until its timeout.
      logging.stop();
      admin?.server.close();
      identity?.server.close();
      identity?.server.closeAllConnections();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (ownWorkDir) rmSync(workDir, { recursive: true, force: true });
    },
  };
}
