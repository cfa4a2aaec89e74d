// Every flag of `drmaa2-batch controller`, described once: this table makes commander's options (with their
// environment-variable twins), the help text, the defaults parseConfig falls back to, and the README's
// Configuration table (a test keeps the two equal).
import type { ControllerFlags } from './config.js';

export interface FlagSpec {
  /** The flag without its dashes, e.g. `poll-interval`. */
  flag: string;
  /** Its key in the parsed flags. */
  key: keyof ControllerFlags;
  /** The environment-variable twin (absent: none). */
  env?: string;
  /** The value's placeholder in the help text; absent for a switch. */
  value?: string;
  /** What the README's table shows as the default (absent: none). */
  shownDefault: string;
  /** The default parseConfig uses when neither the flag nor its twin is set. */
  default?: string;
  /** The only values allowed, when there is such a list. */
  choices?: readonly string[];
  meaning: string;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const FLAGS: readonly FlagSpec[] = [
  {
    flag: 'project',
    key: 'project',
    env: 'DRMAA2_PROJECT',
    value: '<id>',
    shownDefault: 'required (unless an emulator is used)',
    meaning: 'Google Cloud project of the Batch jobs',
  },
  {
    flag: 'location',
    key: 'location',
    env: 'DRMAA2_LOCATION',
    value: '<region>',
    shownDefault: 'required (unless an emulator is used)',
    meaning: 'Batch region',
  },
  {
    flag: 'session',
    key: 'session',
    env: 'DRMAA2_SESSION',
    value: '<name>',
    shownDefault: '`default`',
    default: 'default',
    meaning: 'DRMAA2 session: the `drmaa2session` label of every Batch job it creates',
  },
  {
    flag: 'namespace',
    key: 'namespace',
    env: 'DRMAA2_NAMESPACE',
    value: '<ns>',
    shownDefault: 'all namespaces',
    meaning: 'watch one namespace',
  },
  {
    flag: 'selector',
    key: 'selector',
    env: 'DRMAA2_SELECTOR',
    value: '<labels>',
    shownDefault: 'all Drmaa2Jobs',
    meaning:
      'only Drmaa2Jobs with these labels (one shard of several controllers; give each shard its own `--session`)',
  },
  {
    flag: 'poll-interval',
    key: 'pollInterval',
    env: 'DRMAA2_POLL_INTERVAL',
    value: '<duration>',
    shownDefault: '`10s`',
    default: '10s',
    meaning: "how often the session poller lists the session's Batch jobs",
  },
  {
    flag: 'resync-interval',
    key: 'resyncInterval',
    env: 'DRMAA2_RESYNC_INTERVAL',
    value: '<duration>',
    shownDefault: '`5m`',
    default: '5m',
    meaning:
      'how often a job the session poll follows is reconciled anyway (the poll enqueues it on every change it sees); never less than `--poll-interval`',
  },
  {
    flag: 'concurrency',
    key: 'concurrency',
    env: 'DRMAA2_CONCURRENCY',
    value: '<n>',
    shownDefault: '`4`',
    default: '4',
    meaning: 'parallel reconciles',
  },
  {
    flag: 'leader-elect',
    key: 'leaderElect',
    env: 'DRMAA2_LEADER_ELECT',
    shownDefault: 'off',
    meaning: 'leader election on a `coordination.k8s.io` Lease',
  },
  {
    flag: 'require-profile',
    key: 'requireProfile',
    env: 'DRMAA2_REQUIRE_PROFILE',
    shownDefault: 'off',
    meaning: 'submit only under a BatchProfile: a job no profile applies to fails with `NoProfile`',
  },
  {
    flag: 'kueue',
    key: 'kueue',
    env: 'DRMAA2_KUEUE',
    shownDefault: 'off',
    meaning:
      'a Drmaa2Job labelled `kueue.x-k8s.io/queue-name` waits for Kueue to admit its Workload (needs `deploy/kueue/`)',
  },
  {
    flag: 'lease-namespace',
    key: 'leaseNamespace',
    env: 'DRMAA2_LEASE_NAMESPACE',
    value: '<ns>',
    shownDefault: '`$POD_NAMESPACE`, else `drmaa2-system`',
    meaning: 'where the Lease lives',
  },
  {
    flag: 'lease-name',
    key: 'leaseName',
    env: 'DRMAA2_LEASE_NAME',
    value: '<name>',
    shownDefault: '`drmaa2-batch-controller`',
    default: 'drmaa2-batch-controller',
    meaning: "the Lease's name (one per shard)",
  },
  {
    flag: 'lease-duration',
    key: 'leaseDuration',
    env: 'DRMAA2_LEASE_DURATION',
    value: '<duration>',
    shownDefault: '`15s`',
    default: '15s',
    meaning: 'how long a Lease lasts unrenewed (a standby takes over after this)',
  },
  {
    flag: 'renew-deadline',
    key: 'renewDeadline',
    env: 'DRMAA2_RENEW_DEADLINE',
    value: '<duration>',
    shownDefault: '`10s`',
    default: '10s',
    meaning: 'a leader that cannot renew within this stops reconciling',
  },
  {
    flag: 'retry-period',
    key: 'retryPeriod',
    env: 'DRMAA2_RETRY_PERIOD',
    value: '<duration>',
    shownDefault: '`2s`',
    default: '2s',
    meaning: 'how often leader election tries',
  },
  {
    flag: 'batch-mutations-per-minute',
    key: 'batchMutationsPerMinute',
    env: 'DRMAA2_BATCH_MUTATIONS_PER_MINUTE',
    value: '<n>',
    shownDefault: '`6000`',
    default: '6000',
    meaning: 'ceiling on Batch creates, cancels and deletes',
  },
  {
    flag: 'batch-reads-per-minute',
    key: 'batchReadsPerMinute',
    env: 'DRMAA2_BATCH_READS_PER_MINUTE',
    value: '<n>',
    shownDefault: '`15000`',
    default: '15000',
    meaning: 'ceiling on Batch gets and lists',
  },
  {
    flag: 'log-reads-per-minute',
    key: 'logReadsPerMinute',
    env: 'DRMAA2_LOG_READS_PER_MINUTE',
    value: '<n>',
    shownDefault: '`20`',
    default: '20',
    meaning:
      "ceiling on Cloud Logging reads for failed tasks' output in their status (a third of the project's 60 a minute; a job that finds none left says so)",
  },
  {
    flag: 'batch-endpoint',
    key: 'batchEndpoint',
    env: 'DRMAA2_BATCH_ENDPOINT',
    value: '<host[:port]>',
    shownDefault: '`batch.googleapis.com:443`',
    meaning:
      'the Batch API, over TLS with Google credentials (a private endpoint; not with `BATCH_EMULATOR_HOST`)',
  },
  {
    flag: 'logging-endpoint',
    key: 'loggingEndpoint',
    env: 'DRMAA2_LOGGING_ENDPOINT',
    value: '<host[:port]>',
    shownDefault: '`logging.googleapis.com:443`',
    meaning:
      "Cloud Logging (failed tasks' output), over TLS with Google credentials (a private endpoint; not with `LOGGING_EMULATOR_HOST` or `BATCH_EMULATOR_HOST`)",
  },
  {
    flag: 'iam-credentials-endpoint',
    key: 'iamCredentialsEndpoint',
    env: 'DRMAA2_IAM_CREDENTIALS_ENDPOINT',
    value: '<url>',
    shownDefault: '`https://iamcredentials.googleapis.com`',
    meaning: 'where tokens of the service accounts profiles impersonate are minted (`spec.impersonate`)',
  },
  {
    flag: 'metrics-addr',
    key: 'metricsAddr',
    env: 'DRMAA2_METRICS_ADDR',
    value: '<addr>',
    shownDefault: '`:8080`',
    default: ':8080',
    meaning: 'Prometheus `/metrics`',
  },
  {
    flag: 'health-addr',
    key: 'healthAddr',
    env: 'DRMAA2_HEALTH_ADDR',
    value: '<addr>',
    shownDefault: '`:8081`',
    default: ':8081',
    meaning: '`/healthz`, `/readyz`',
  },
  {
    flag: 'log-level',
    key: 'logLevel',
    env: 'DRMAA2_LOG_LEVEL',
    value: '<level>',
    shownDefault: '`info`',
    default: 'info',
    choices: LOG_LEVELS,
    meaning: 'pino JSON logs (pretty on a terminal where pino-pretty is installed)',
  },
  {
    flag: 'kubeconfig',
    key: 'kubeconfig',
    value: '<path>',
    shownDefault: 'in-cluster, else `$KUBECONFIG` or `~/.kube/config`',
    meaning: 'the kubeconfig file to use',
  },
];

/** The spec of the flag under `key`. */
export function flagOf(key: keyof ControllerFlags): FlagSpec {
  const spec = FLAGS.find((f) => f.key === key);
  if (!spec) throw new Error(`no flag ${key}`);
  return spec;
}

/** The help line of a flag: its meaning without Markdown (commander adds the twin, default and choices). */
export function helpOf(spec: FlagSpec): string {
  return spec.meaning.replaceAll('`', '');
}
