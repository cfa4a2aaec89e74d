// `drmaa2-batch controller`: wires the adapters into the controller and runs it until SIGTERM or SIGINT.
import { hostname } from 'node:os';
import { Option, type Command } from 'commander';
import { createRequire } from 'node:module';
import { pino, type Logger, type LoggerOptions } from 'pino';
import { createBatchJobs, type BatchMethod } from '../adapters/batch/index.js';
import { GoogleCallers } from '../adapters/google/callers.js';
import { parentOf } from '../api/batch.js';
import { createKubeAdapters } from '../adapters/kube/index.js';
import { createBuckets } from '../adapters/storage/index.js';
import { CloudLogEntries } from '../adapters/logging/index.js';
import { QuotaBucket, ThrottledBatchJobs } from '../controller/batchThrottle.js';
import { parseConfig, type ControllerConfig, type ControllerFlags } from '../controller/config.js';
import { FLAGS, helpOf, type FlagSpec } from '../controller/flags.js';
import { startHttpServer } from '../controller/health.js';
import { LeaderElector } from '../controller/leaderElector.js';
import { createMetrics } from '../controller/metrics.js';
import { SessionPoller, type PollHealth } from '../controller/poller.js';
import { PollerSet, type Place } from '../controller/pollerSet.js';
import { ProfileChanges } from '../controller/profileChanges.js';
import { profilesFrom, sessionOf } from '../controller/profiles.js';
import { ProfileStatusWriter } from '../controller/profileStatus.js';
import { createReconciler } from '../controller/reconcile.js';
import { Runner } from '../controller/runner.js';
import { systemClock } from '../controller/systemClock.js';
import { callerKey, type ClientsFor } from '../ports/callers.js';

export interface LoggerEnvironment {
  /** Whether a person watches the output (stdout is a terminal). */
  isTTY: boolean;
  /** Resolves a module the way pino's transport will; throws when it is not installed. */
  resolve: (specifier: string) => string;
}

const here = createRequire(import.meta.url);
/** A failed task's output is read on the pass that writes the failure: it must not hold the status back. */
const LOG_READ_TIMEOUT_MS = 5_000;

/** pino's options: JSON lines for machines; readable lines when a person watches a terminal and
 * pino-pretty is installed. It is a development dependency, absent from the image, where a terminal
 * (`docker run -it`) must still get a working controller, with JSON lines. */
export function loggerOptions(
  level: string,
  env: LoggerEnvironment = { isTTY: process.stdout.isTTY === true, resolve: (s) => here.resolve(s) },
): LoggerOptions {
  if (!env.isTTY) return { level };
  try {
    env.resolve('pino-pretty');
  } catch {
    return { level };
  }
  return { level, transport: { target: 'pino-pretty', options: { colorize: true } } };
}

export function createLogger(level: string, env?: LoggerEnvironment): Logger {
  return pino(loggerOptions(level, env));
}

export interface RunningController {
  runner: Runner;
  /** The ports the HTTP servers listen on (useful with port 0). */
  metricsPort: number;
  healthPort: number;
  stop(): Promise<void>;
}

/** Starts the controller with a parsed configuration; used by the command and by tests. */
export async function runController(config: ControllerConfig, logger: Logger): Promise<RunningController> {
  const identity = `${process.env.POD_NAME ?? hostname()}_${process.pid}`;
  const metrics = createMetrics();
  const kube = createKubeAdapters({
    ...(config.kubeconfig ? { kubeconfig: config.kubeconfig } : {}),
    ...(config.namespace ? { namespace: config.namespace } : {}),
    ...(config.selector ? { labelSelector: config.selector } : {}),
    identity,
    logger,
    observeCall: (verb, code) => metrics.kubeCall(verb, code),
    onEventDropped: () => metrics.eventDropped(),
  });
  const batchOptions = {
    projectId: config.project,
    ...(config.batchEmulatorHost ? { emulatorHost: config.batchEmulatorHost } : {}),
    ...(config.batchEndpoint ? { endpoint: config.batchEndpoint } : {}),
    observer: (method: BatchMethod, code: string, ms: number) => metrics.batchCall(method, code, ms / 1000),
  };
  const storageOptions = config.storageEmulatorHost ? { emulatorHost: config.storageEmulatorHost } : {};
  const client = createBatchJobs(batchOptions);
  const batch = new ThrottledBatchJobs(client, {
    mutationsPerMinute: config.batchMutationsPerMinute,
    readsPerMinute: config.batchReadsPerMinute,
    clock: systemClock,
    onRateChange: (kind, perMinute, coolDownMs) => {
      metrics.batchRate(kind, perMinute);
      logger[coolDownMs > 0 ? 'warn' : 'info']({ kind, perMinute, coolDownMs }, 'Batch call rate changed');
    },
  });
  metrics.batchRate('mutation', config.batchMutationsPerMinute);
  metrics.batchRate('read', config.batchReadsPerMinute);
  const buckets = createBuckets(storageOptions);
  // Cloud Logging, for a failed task's last lines in its status: its own budget, since Logging's quota is
  // apart from Batch's (and far smaller).
  const loggingOptions = {
    ...(config.loggingEmulatorHost ? { emulatorHost: config.loggingEmulatorHost } : {}),
    ...(config.loggingEndpoint ? { endpoint: config.loggingEndpoint } : {}),
    timeoutMs: LOG_READ_TIMEOUT_MS,
  };
  const logs = new CloudLogEntries(loggingOptions);
  const logReads = new QuotaBucket('logRead', config.logReadsPerMinute, systemClock, Math.random);
  // A profile's caller: its own clients, under the same call budget.
  const callers = new GoogleCallers({
    projectId: config.project,
    batch: batchOptions,
    storage: storageOptions,
    logging: loggingOptions,
    ...(config.iamCredentialsEndpoint ? { iamCredentialsEndpoint: config.iamCredentialsEndpoint } : {}),
  });
  // One set per caller, asked for on every pass of that caller's jobs.
  const byCaller = new Map<string, ReturnType<ClientsFor>>();
  const callerClients: ClientsFor = (caller) => {
    const key = callerKey(caller);
    let made = byCaller.get(key);
    if (!made) {
      const clients = callers.clients(caller);
      made = {
        batch: batch.over(clients.batch),
        buckets: clients.buckets,
        ...(clients.logs ? { logs: clients.logs } : {}),
      };
      byCaller.set(key, made);
    }
    return made;
  };
  // One poller per place jobs live in: the controller's own (unless every job needs a profile) and each
  // profile's project, location and session.
  const places = (): Place[] => {
    const all: Place[] = config.requireProfile
      ? []
      : [{ parent: parentOf(config.project, config.location), session: config.session }];
    for (const profile of kube.profiles.profiles()) {
      all.push({
        parent: parentOf(profile.spec.project, profile.spec.location),
        session: sessionOf(profile),
        ...(profile.spec.impersonate ? { caller: profile.spec.impersonate } : {}),
      });
    }
    return all;
  };
  const poller = new PollerSet({
    places,
    make: (place) =>
      new SessionPoller({
        batch: place.caller ? callerClients(place.caller).batch : batch,
        parent: place.parent,
        session: place.session,
        intervalMs: config.pollIntervalMs,
        clock: systemClock,
        logger: logger.child({ poll: `${place.parent} ${place.session}` }),
        onPoll: () => metrics.pollDone(true, 0),
        onPollFailed: (_err, failuresInARow) => metrics.pollDone(false, failuresInARow),
      }),
  });
  const profileChanges = new ProfileChanges(kube.profiles, kube.watch, () => poller.sync());
  // A backlog: the key in hand waited in the queue for longer than a poll interval. A poll's burst of changed
  // jobs drains within the interval and is written at once; a burst of thousands of new resources is not.
  let waited = (_key: string) => 0;
  const reconcile = createReconciler({
    store: kube.store,
    batch,
    buckets,
    events: kube.events,
    clock: systemClock,
    config,
    logger,
    metrics,
    jobCache: poller,
    callers: callerClients,
    backlogged: (key) => waited(key) > config.pollIntervalMs,
    profiles: profilesFrom(kube.profiles, { requireProfile: config.requireProfile }),
    logs,
    logReads,
    ...(config.kueue ? { workloads: kube.workloads } : {}),
  });
  const elector = config.leaderElect
    ? new LeaderElector({
        lock: kube.leaseLock(config.leaseNamespace, config.leaseName),
        identity,
        clock: systemClock,
        logger,
        leaseDurationMs: config.leaseDurationMs,
        renewDeadlineMs: config.renewDeadlineMs,
        retryPeriodMs: config.retryPeriodMs,
      })
    : undefined;
  const runner = new Runner({
    watch: kube.watch,
    reconcile,
    concurrency: config.concurrency,
    logger,
    sources: [
      poller,
      profileChanges,
      new ProfileStatusWriter(kube.profiles, kube.watch, systemClock, logger),
      ...(config.kueue ? [kube.workloads] : []),
    ],
    metrics,
    ...(elector ? { elector } : {}),
  });
  waited = (key) => runner.waited(key);
  const metricsServer = await startHttpServer({ addr: config.metricsAddr, metrics });
  const healthServer = await startHttpServer({
    addr: config.healthAddr,
    healthy: () => runner.healthy(),
    // Only the instance that polls can be failing to: a standby is ready when its watch is.
    ready: () =>
      runner.ready() &&
      kube.profiles.hasSynced() &&
      (!runner.isWorking() || pollsReady(poller.health().map((p) => p.health))),
    readyDetail: () =>
      runner.isWorking()
        ? poller.health().flatMap((p) => pollDetail(true, p.health, p.place))
        : pollDetail(false, { ok: true, failuresInARow: 0 }),
  });
  // Profiles (and Workloads) first: the first passes resolve them.
  await kube.profiles.start();
  if (config.kueue) await kube.workloads.run();
  await runner.start();
  logger.info(
    { project: config.project, location: config.location, session: config.session, identity },
    'Controller started',
  );
  return {
    runner,
    metricsPort: metricsServer.port,
    healthPort: healthServer.port,
    stop: async () => {
      await runner.stop();
      kube.profiles.stop();
      await kube.workloads.close();
      await Promise.all([metricsServer.close(), healthServer.close()]);
      await Promise.all([client.close(), callers.close(), logs.close()]);
    },
  };
}

/** Whether the polls leave the controller ready: unless every place's poll is failing. One place failing
 * alone (a profile whose caller may not list its project, say) is that place's trouble, shown on its jobs
 * (Synced=False, BatchPollFailing) and in the readiness answer's lines; it must not take the controller of
 * every other tenant out of service. None failing, or no place at all, is ready. */
export function pollsReady(health: PollHealth[]): boolean {
  return health.length === 0 || health.some((h) => h.ok);
}

/** The readiness answer's word on the session poll. */
export function pollDetail(polling: boolean, health: PollHealth, place?: Place): string[] {
  if (!polling) return ['batch poll: standing by (not the leader)'];
  const where = place ? ` ${place.parent} session ${place.session}` : '';
  const last = health.lastSuccess ? `last success ${health.lastSuccess.toISOString()}` : 'no success yet';
  if (health.failuresInARow === 0) return [`batch poll${where}: ok (${last})`];
  return [
    `batch poll${where}: ${health.ok ? 'retrying' : 'failing'}: ${health.failuresInARow} failures in a row since ${health.failingSince?.toISOString() ?? '?'} (${last}): ${health.lastError ?? ''}`,
  ];
}

async function runCommand(flags: ControllerFlags): Promise<void> {
  const parsed = parseConfig(flags, process.env);
  if (!parsed.ok) {
    for (const error of parsed.errors) console.error(`error: ${error}`);
    process.exit(2);
  }
  const logger = createLogger(parsed.config.logLevel);
  let controller: RunningController;
  try {
    controller = await runController(parsed.config, logger);
  } catch (err) {
    logger.fatal({ err: (err as Error).message }, 'Controller could not start');
    process.exit(1);
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'Shutting down');
    controller.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err: (err as Error).message }, 'Shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

/** A commander option from the flags table: its twin read by commander itself (.env), its choices. */
function optionOf(spec: FlagSpec): Option {
  const option = new Option(`--${spec.flag}${spec.value ? ` ${spec.value}` : ''}`, helpOf(spec));
  // commander turns any value of a switch's twin into true, even "false": parseConfig reads those itself.
  if (spec.env && spec.value) option.env(spec.env);
  if (spec.default !== undefined) option.default(spec.default);
  if (spec.choices) option.choices(spec.choices);
  return option;
}

export function registerController(program: Command): void {
  const command = program
    .command('controller')
    .description('Reconcile Drmaa2Job resources into Google Batch jobs');
  for (const spec of FLAGS) command.addOption(optionOf(spec));
  command
    // A value commander refuses (a choice) is a start-up error like any other: exit code 2.
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
    .addHelpText(
      'after',
      '\nBATCH_EMULATOR_HOST points the Batch client at an emulator, STORAGE_EMULATOR_HOST the storage client.',
    )
    .action(runCommand);
}
