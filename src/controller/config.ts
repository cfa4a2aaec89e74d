// The controller's configuration: flags, each with an environment variable twin (the README's Configuration
// table). Parsing is pure so that every rule is tested; a missing project or location is a start-up error,
// not a crash later.
import { parseGoDuration } from '../translate/index.js';

export interface ControllerConfig {
  project: string;
  location: string;
  session: string;
  namespace?: string;
  /** Only Drmaa2Jobs with these labels (a Kubernetes label selector): one shard of several controllers. */
  selector?: string;
  pollIntervalMs: number;
  concurrency: number;
  leaderElect: boolean;
  leaseNamespace: string;
  leaseName: string;
  /** Leader election timings (client-go's names and defaults: 15 s, 10 s, 2 s). */
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** Client-side ceilings on Batch calls per minute, below the region's quota (6,000 mutations, 15,000 reads). */
  batchMutationsPerMinute: number;
  batchReadsPerMinute: number;
  metricsAddr: string;
  healthAddr: string;
  logLevel: string;
  kubeconfig?: string;
  batchEmulatorHost?: string;
  storageEmulatorHost?: string;
}

export interface ControllerFlags {
  project?: string;
  location?: string;
  session?: string;
  namespace?: string;
  selector?: string;
  pollInterval?: string;
  concurrency?: string;
  leaderElect?: boolean;
  leaseNamespace?: string;
  leaseName?: string;
  leaseDuration?: string;
  renewDeadline?: string;
  retryPeriod?: string;
  batchMutationsPerMinute?: string;
  batchReadsPerMinute?: string;
  metricsAddr?: string;
  healthAddr?: string;
  logLevel?: string;
  kubeconfig?: string;
}

/** Flag name -> environment variable twin. */
export const ENV_TWINS: Record<keyof ControllerFlags, string> = {
  project: 'DRMAA2_PROJECT',
  location: 'DRMAA2_LOCATION',
  session: 'DRMAA2_SESSION',
  namespace: 'DRMAA2_NAMESPACE',
  selector: 'DRMAA2_SELECTOR',
  pollInterval: 'DRMAA2_POLL_INTERVAL',
  concurrency: 'DRMAA2_CONCURRENCY',
  leaderElect: 'DRMAA2_LEADER_ELECT',
  leaseNamespace: 'DRMAA2_LEASE_NAMESPACE',
  leaseName: 'DRMAA2_LEASE_NAME',
  leaseDuration: 'DRMAA2_LEASE_DURATION',
  renewDeadline: 'DRMAA2_RENEW_DEADLINE',
  retryPeriod: 'DRMAA2_RETRY_PERIOD',
  batchMutationsPerMinute: 'DRMAA2_BATCH_MUTATIONS_PER_MINUTE',
  batchReadsPerMinute: 'DRMAA2_BATCH_READS_PER_MINUTE',
  metricsAddr: 'DRMAA2_METRICS_ADDR',
  healthAddr: 'DRMAA2_HEALTH_ADDR',
  logLevel: 'DRMAA2_LOG_LEVEL',
  kubeconfig: 'KUBECONFIG',
};

/** A Go duration (`500ms`, `10s`, `1m30s`, `2h`) in milliseconds; a bare number counts seconds.
 * Undefined when the text is not one. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const seconds = parseGoDuration(trimmed);
  return seconds === undefined ? undefined : seconds * 1000;
}

const LABEL_VALUE = /^[a-z0-9_-]{1,63}$/;
const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export type ConfigResult = { ok: true; config: ControllerConfig } | { ok: false; errors: string[] };

function pick(flags: ControllerFlags, env: Record<string, string | undefined>, key: keyof ControllerFlags) {
  const flag = flags[key];
  if (flag !== undefined && flag !== '') return String(flag);
  const value = env[ENV_TWINS[key]];
  return value === undefined || value === '' ? undefined : value;
}

export function parseConfig(flags: ControllerFlags, env: Record<string, string | undefined>): ConfigResult {
  const errors: string[] = [];
  const batchEmulatorHost = env.BATCH_EMULATOR_HOST || undefined;
  const project = pick(flags, env, 'project') ?? (batchEmulatorHost ? 'emulator' : undefined);
  const location = pick(flags, env, 'location') ?? (batchEmulatorHost ? 'local' : undefined);
  if (!project)
    errors.push(
      '--project (or DRMAA2_PROJECT) is required: the Google Cloud project that runs the Batch jobs',
    );
  if (!location)
    errors.push('--location (or DRMAA2_LOCATION) is required: the Batch region, e.g. us-central1');
  const session = pick(flags, env, 'session') ?? 'default';
  if (!LABEL_VALUE.test(session)) {
    errors.push(
      `--session must be a Batch label value (lowercase letters, digits, _ and -, at most 63), got ${JSON.stringify(session)}`,
    );
  }
  const pollText = pick(flags, env, 'pollInterval') ?? '10s';
  const pollMs = parseDuration(pollText);
  if (pollMs === undefined || pollMs <= 0)
    errors.push(`--poll-interval must be a positive duration such as 10s, got ${pollText}`);
  const concurrencyText = pick(flags, env, 'concurrency') ?? '4';
  const concurrency = Number(concurrencyText);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) {
    errors.push(`--concurrency must be an integer from 1 to 256, got ${concurrencyText}`);
  }
  const duration = (
    key: 'leaseDuration' | 'renewDeadline' | 'retryPeriod',
    fallback: string,
    flag: string,
  ) => {
    const text = pick(flags, env, key) ?? fallback;
    const ms = parseDuration(text);
    if (ms === undefined || ms <= 0)
      errors.push(`--${flag} must be a positive duration such as ${fallback}, got ${text}`);
    return Math.round(ms ?? 0);
  };
  const leaseDurationMs = duration('leaseDuration', '15s', 'lease-duration');
  const renewDeadlineMs = duration('renewDeadline', '10s', 'renew-deadline');
  const retryPeriodMs = duration('retryPeriod', '2s', 'retry-period');
  if (leaseDurationMs > 0 && renewDeadlineMs > 0 && retryPeriodMs > 0) {
    if (renewDeadlineMs >= leaseDurationMs)
      errors.push('--renew-deadline must be shorter than --lease-duration');
    if (retryPeriodMs >= renewDeadlineMs) errors.push('--retry-period must be shorter than --renew-deadline');
  }
  const perMinute = (
    key: 'batchMutationsPerMinute' | 'batchReadsPerMinute',
    fallback: number,
    flag: string,
  ) => {
    const text = pick(flags, env, key) ?? String(fallback);
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) errors.push(`--${flag} must be a positive integer, got ${text}`);
    return n;
  };
  const batchMutationsPerMinute = perMinute('batchMutationsPerMinute', 6000, 'batch-mutations-per-minute');
  const batchReadsPerMinute = perMinute('batchReadsPerMinute', 15000, 'batch-reads-per-minute');
  const leaderText = flags.leaderElect ?? env[ENV_TWINS.leaderElect];
  const leaderElect = leaderText === true || leaderText === 'true' || leaderText === '1';
  const logLevel = pick(flags, env, 'logLevel') ?? 'info';
  if (!LOG_LEVELS.has(logLevel))
    errors.push(`--log-level must be one of ${[...LOG_LEVELS].join(', ')}, got ${logLevel}`);
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
      concurrency,
      leaderElect,
      leaseNamespace: pick(flags, env, 'leaseNamespace') ?? env.POD_NAMESPACE ?? 'drmaa2-system',
      leaseName: pick(flags, env, 'leaseName') ?? 'drmaa2-batch-controller',
      leaseDurationMs,
      renewDeadlineMs,
      retryPeriodMs,
      batchMutationsPerMinute,
      batchReadsPerMinute,
      metricsAddr: pick(flags, env, 'metricsAddr') ?? ':8080',
      healthAddr: pick(flags, env, 'healthAddr') ?? ':8081',
      logLevel,
      ...(kubeconfig ? { kubeconfig } : {}),
      ...(batchEmulatorHost ? { batchEmulatorHost } : {}),
      ...(env.STORAGE_EMULATOR_HOST ? { storageEmulatorHost: env.STORAGE_EMULATOR_HOST } : {}),
    },
  };
}
