// The controller's configuration: flags, each with an environment variable twin (the README's Configuration
// table). Parsing is pure so that every rule is tested; a missing project or location is a start-up error,
// not a crash later.
import { parseGoDuration } from '../translate/index.js';
import { FLAGS, LOG_LEVELS, flagOf } from './flags.js';

export interface ControllerConfig {
  project: string;
  location: string;
  session: string;
  namespace?: string;
  /** Only Drmaa2Jobs with these labels (a Kubernetes label selector): one shard of several controllers. */
  selector?: string;
  pollIntervalMs: number;
  /** A resync of a job the poll follows (see the reconciler's rung 11); at least pollIntervalMs. */
  resyncIntervalMs: number;
  concurrency: number;
  leaderElect: boolean;
  requireProfile: boolean;
  /** Drmaa2Jobs with Kueue's queue-name label are Kueue workloads. */
  kueue: boolean;
  leaseNamespace: string;
  leaseName: string;
  /** Leader election timings (client-go's names and defaults: 15 s, 10 s, 2 s). */
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** Client-side ceilings on Batch calls per minute, below the region's quota (6,000 mutations, 15,000 reads). */
  batchMutationsPerMinute: number;
  batchReadsPerMinute: number;
  /** Cloud Logging list calls a minute for failed tasks' output (see failedOutput.ts). */
  logReadsPerMinute: number;
  metricsAddr: string;
  healthAddr: string;
  logLevel: string;
  kubeconfig?: string;
  batchEmulatorHost?: string;
  storageEmulatorHost?: string;
  /** LOGGING_EMULATOR_HOST, else BATCH_EMULATOR_HOST: the project's emulator serves Cloud Logging too. */
  loggingEmulatorHost?: string;
  batchEndpoint?: string;
  loggingEndpoint?: string;
  iamCredentialsEndpoint?: string;
}

export interface ControllerFlags {
  project?: string;
  location?: string;
  session?: string;
  namespace?: string;
  selector?: string;
  pollInterval?: string;
  resyncInterval?: string;
  concurrency?: string;
  leaderElect?: boolean;
  requireProfile?: boolean;
  kueue?: boolean;
  leaseNamespace?: string;
  leaseName?: string;
  leaseDuration?: string;
  renewDeadline?: string;
  retryPeriod?: string;
  batchMutationsPerMinute?: string;
  batchReadsPerMinute?: string;
  logReadsPerMinute?: string;
  batchEndpoint?: string;
  loggingEndpoint?: string;
  iamCredentialsEndpoint?: string;
  metricsAddr?: string;
  healthAddr?: string;
  logLevel?: string;
  kubeconfig?: string;
}

/** Flag name -> environment variable twin (from the flags table). */
export const ENV_TWINS: Partial<Record<keyof ControllerFlags, string>> = Object.fromEntries(
  FLAGS.filter((f) => f.env).map((f) => [f.key, f.env]),
);

/** The table's default for a flag; every flag read with a fallback has one. */
function defaultOf(key: keyof ControllerFlags): string {
  const value = flagOf(key).default;
  if (value === undefined) throw new Error(`flag ${key} has no default`);
  return value;
}

/** A Go duration (`500ms`, `10s`, `1m30s`, `2h`) in milliseconds; a bare number counts seconds.
 * Undefined when the text is not one. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const seconds = parseGoDuration(trimmed);
  return seconds === undefined ? undefined : seconds * 1000;
}

const LABEL_VALUE = /^[a-z0-9_-]{1,63}$/;

export type ConfigResult = { ok: true; config: ControllerConfig } | { ok: false; errors: string[] };

function pick(flags: ControllerFlags, env: Record<string, string | undefined>, key: keyof ControllerFlags) {
  const flag = flags[key];
  if (flag !== undefined && flag !== '') return String(flag);
  const twin = ENV_TWINS[key];
  const value = twin ? env[twin] : undefined;
  return value === undefined || value === '' ? undefined : value;
}

export function parseConfig(flags: ControllerFlags, env: Record<string, string | undefined>): ConfigResult {
  const errors: string[] = [];
  const batchEmulatorHost = env.BATCH_EMULATOR_HOST || undefined;
  const loggingEmulatorHost = env.LOGGING_EMULATOR_HOST || batchEmulatorHost;
  const project = pick(flags, env, 'project') ?? (batchEmulatorHost ? 'emulator' : undefined);
  const location = pick(flags, env, 'location') ?? (batchEmulatorHost ? 'local' : undefined);
  if (!project)
    errors.push(
      '--project (or DRMAA2_PROJECT) is required: the Google Cloud project that runs the Batch jobs',
    );
  if (!location)
    errors.push('--location (or DRMAA2_LOCATION) is required: the Batch region, e.g. us-central1');
  const session = pick(flags, env, 'session') ?? defaultOf('session');
  if (!LABEL_VALUE.test(session)) {
    errors.push(
      `--session must be a Batch label value (lowercase letters, digits, _ and -, at most 63), got ${JSON.stringify(session)}`,
    );
  }
  const pollText = pick(flags, env, 'pollInterval') ?? defaultOf('pollInterval');
  const pollMs = parseDuration(pollText);
  if (pollMs === undefined || pollMs <= 0)
    errors.push(`--poll-interval must be a positive duration such as 10s, got ${pollText}`);
  const resyncText = pick(flags, env, 'resyncInterval') ?? defaultOf('resyncInterval');
  const resyncMs = parseDuration(resyncText);
  if (resyncMs === undefined || resyncMs <= 0)
    errors.push(`--resync-interval must be a positive duration such as 5m, got ${resyncText}`);
  const concurrencyText = pick(flags, env, 'concurrency') ?? defaultOf('concurrency');
  const concurrency = Number(concurrencyText);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) {
    errors.push(`--concurrency must be an integer from 1 to 256, got ${concurrencyText}`);
  }
  const duration = (key: 'leaseDuration' | 'renewDeadline' | 'retryPeriod') => {
    const fallback = defaultOf(key);
    const flag = flagOf(key).flag;
    const text = pick(flags, env, key) ?? fallback;
    const ms = parseDuration(text);
    if (ms === undefined || ms <= 0)
      errors.push(`--${flag} must be a positive duration such as ${fallback}, got ${text}`);
    return Math.round(ms ?? 0);
  };
  const leaseDurationMs = duration('leaseDuration');
  const renewDeadlineMs = duration('renewDeadline');
  const retryPeriodMs = duration('retryPeriod');
  if (leaseDurationMs > 0 && renewDeadlineMs > 0 && retryPeriodMs > 0) {
    if (renewDeadlineMs >= leaseDurationMs)
      errors.push('--renew-deadline must be shorter than --lease-duration');
    if (retryPeriodMs >= renewDeadlineMs) errors.push('--retry-period must be shorter than --renew-deadline');
  }
  const perMinute = (key: 'batchMutationsPerMinute' | 'batchReadsPerMinute' | 'logReadsPerMinute') => {
    const flag = flagOf(key).flag;
    const text = pick(flags, env, key) ?? defaultOf(key);
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) errors.push(`--${flag} must be a positive integer, got ${text}`);
    return n;
  };
  const batchMutationsPerMinute = perMinute('batchMutationsPerMinute');
  const batchReadsPerMinute = perMinute('batchReadsPerMinute');
  const logReadsPerMinute = perMinute('logReadsPerMinute');
  const switchOn = (key: 'leaderElect' | 'requireProfile' | 'kueue') => {
    const text = flags[key] ?? env[ENV_TWINS[key]!];
    return text === true || text === 'true' || text === '1';
  };
  const leaderElect = switchOn('leaderElect');
  const requireProfile = switchOn('requireProfile');
  const kueue = switchOn('kueue');
  const logLevel = pick(flags, env, 'logLevel') ?? defaultOf('logLevel');
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel))
    errors.push(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got ${logLevel}`);
  const batchEndpoint = pick(flags, env, 'batchEndpoint');
  if (batchEndpoint && batchEmulatorHost)
    errors.push(
      '--batch-endpoint and BATCH_EMULATOR_HOST exclude each other: the endpoint speaks TLS with credentials, the emulator host plain gRPC',
    );
  if (batchEndpoint && !/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(batchEndpoint))
    errors.push(`--batch-endpoint must be host or host:port, got ${JSON.stringify(batchEndpoint)}`);
  const loggingEndpoint = pick(flags, env, 'loggingEndpoint');
  const explicitLoggingEmulator =
    env.LOGGING_EMULATOR_HOST || (batchEndpoint ? undefined : batchEmulatorHost);
  if (loggingEndpoint && explicitLoggingEmulator)
    errors.push(
      '--logging-endpoint and LOGGING_EMULATOR_HOST (or BATCH_EMULATOR_HOST) exclude each other: the endpoint speaks TLS with credentials, the emulator host plain gRPC',
    );
  if (loggingEndpoint && !/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(loggingEndpoint))
    errors.push(`--logging-endpoint must be host or host:port, got ${JSON.stringify(loggingEndpoint)}`);
  const iamCredentialsEndpoint = pick(flags, env, 'iamCredentialsEndpoint');
  if (iamCredentialsEndpoint && !/^https:\/\/[^\s/]+(\/[^\s]*)?$/.test(iamCredentialsEndpoint))
    errors.push(
      `--iam-credentials-endpoint must be an https:// URL, got ${JSON.stringify(iamCredentialsEndpoint)}`,
    );
  if (errors.length > 0) return { ok: false, errors };
  const namespace = pick(flags, env, 'namespace');
  const selector = pick(flags, env, 'selector');
  const kubeconfig = flags.kubeconfig;
  return {
    ok: true,
    config: {
      project: project!,
      location: location!,
      session,
      ...(namespace ? { namespace } : {}),
      ...(selector ? { selector } : {}),
      pollIntervalMs: Math.round(pollMs!),
      resyncIntervalMs: Math.round(Math.max(resyncMs!, pollMs!)),
      concurrency,
      leaderElect,
      requireProfile,
      kueue,
      leaseNamespace: pick(flags, env, 'leaseNamespace') ?? env.POD_NAMESPACE ?? 'drmaa2-system',
      leaseName: pick(flags, env, 'leaseName') ?? defaultOf('leaseName'),
      leaseDurationMs,
      renewDeadlineMs,
      retryPeriodMs,
      batchMutationsPerMinute,
      batchReadsPerMinute,
      logReadsPerMinute,
      metricsAddr: pick(flags, env, 'metricsAddr') ?? defaultOf('metricsAddr'),
      healthAddr: pick(flags, env, 'healthAddr') ?? defaultOf('healthAddr'),
      logLevel,
      ...(kubeconfig ? { kubeconfig } : {}),
      ...(batchEmulatorHost ? { batchEmulatorHost } : {}),
      ...(env.STORAGE_EMULATOR_HOST ? { storageEmulatorHost: env.STORAGE_EMULATOR_HOST } : {}),
      ...(loggingEmulatorHost && !loggingEndpoint ? { loggingEmulatorHost } : {}),
      ...(loggingEndpoint ? { loggingEndpoint } : {}),
      ...(batchEndpoint ? { batchEndpoint } : {}),
      ...(iamCredentialsEndpoint
        ? { iamCredentialsEndpoint: iamCredentialsEndpoint.replace(/\/+$/, '') }
        : {}),
    },
  };
}
