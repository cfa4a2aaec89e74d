// The controller's configuration: flags over their environment twins, defaults, and start-up errors that
// name the flag to fix.
import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { ENV_TWINS, parseConfig, parseDuration } from '../../../src/controller/config.js';

const REQUIRED = { project: 'proj', location: 'us-central1' };

function ok(flags: Parameters<typeof parseConfig>[0], env: Record<string, string> = {}) {
  const result = parseConfig(flags, env);
  assert.ok(result.ok, JSON.stringify(result));
  return result.config;
}

function errors(flags: Parameters<typeof parseConfig>[0], env: Record<string, string> = {}): string[] {
  const result = parseConfig(flags, env);
  assert.equal(result.ok, false);
  return result.ok ? [] : result.errors;
}

describe('parseDuration', () => {
  for (const [text, ms] of [
    ['10s', 10_000],
    ['500ms', 500],
    ['1m30s', 90_000],
    ['2h', 7_200_000],
    ['1.5s', 1500],
    ['15', 15_000],
  ] as const) {
    it(`${text} is ${ms} ms`, () => assert.equal(parseDuration(text), ms));
  }
  for (const text of ['', 'ten seconds', '10x', 's']) {
    it(`${JSON.stringify(text)} is not a duration`, () => assert.equal(parseDuration(text), undefined));
  }
});

describe('parseConfig', () => {
  it('defaults', () => {
    const config = ok(REQUIRED);
    assert.equal(config.project, 'proj');
    assert.equal(config.location, 'us-central1');
    assert.equal(config.session, 'default');
    assert.equal(config.namespace, undefined);
    assert.equal(config.pollIntervalMs, 10_000);
    assert.equal(config.concurrency, 4);
    assert.equal(config.leaderElect, false);
    assert.equal(config.metricsAddr, ':8080');
    assert.equal(config.healthAddr, ':8081');
    assert.equal(config.logLevel, 'info');
  });

  it('every flag has an environment twin', () => {
    const env = {
      DRMAA2_PROJECT: 'p2',
      DRMAA2_LOCATION: 'europe-west4',
      DRMAA2_SESSION: 'prod',
      DRMAA2_NAMESPACE: 'genomics',
      DRMAA2_POLL_INTERVAL: '30s',
      DRMAA2_CONCURRENCY: '8',
      DRMAA2_LEADER_ELECT: 'true',
      DRMAA2_LEASE_NAMESPACE: 'ops',
      DRMAA2_METRICS_ADDR: '127.0.0.1:9090',
      DRMAA2_HEALTH_ADDR: '127.0.0.1:9091',
      DRMAA2_LOG_LEVEL: 'debug',
    };
    const config = ok({}, env);
    assert.deepEqual(
      {
        project: config.project,
        location: config.location,
        session: config.session,
        namespace: config.namespace,
        pollIntervalMs: config.pollIntervalMs,
        concurrency: config.concurrency,
        leaderElect: config.leaderElect,
        leaseNamespace: config.leaseNamespace,
        metricsAddr: config.metricsAddr,
        healthAddr: config.healthAddr,
        logLevel: config.logLevel,
      },
      {
        project: 'p2',
        location: 'europe-west4',
        session: 'prod',
        namespace: 'genomics',
        pollIntervalMs: 30_000,
        concurrency: 8,
        leaderElect: true,
        leaseNamespace: 'ops',
        metricsAddr: '127.0.0.1:9090',
        healthAddr: '127.0.0.1:9091',
        logLevel: 'debug',
      },
    );
    for (const name of Object.keys(env)) assert.ok(Object.values(ENV_TWINS).includes(name), name);
  });

  it('a flag wins over its environment twin', () => {
    const config = ok(
      { ...REQUIRED, session: 'flag', pollInterval: '5s' },
      { DRMAA2_SESSION: 'env', DRMAA2_POLL_INTERVAL: '1m' },
    );
    assert.equal(config.session, 'flag');
    assert.equal(config.pollIntervalMs, 5000);
  });

  it('missing project and location without an emulator: errors naming the flags and variables', () => {
    const found = errors({});
    assert.equal(found.length, 2);
    assert.match(found[0]!, /--project.*DRMAA2_PROJECT/);
    assert.match(found[1]!, /--location.*DRMAA2_LOCATION/);
  });

  it('with BATCH_EMULATOR_HOST project and location may be left out', () => {
    const config = ok(
      {},
      { BATCH_EMULATOR_HOST: '127.0.0.1:7777', STORAGE_EMULATOR_HOST: 'http://127.0.0.1:4443' },
    );
    assert.ok(config.project);
    assert.ok(config.location);
    assert.equal(config.batchEmulatorHost, '127.0.0.1:7777');
    assert.equal(config.storageEmulatorHost, 'http://127.0.0.1:4443');
  });

  it('rejects values that cannot work, each with its own message', () => {
    assert.match(errors({ ...REQUIRED, pollInterval: 'often' })[0]!, /--poll-interval/);
    assert.match(errors({ ...REQUIRED, pollInterval: '0s' })[0]!, /--poll-interval/);
    assert.match(errors({ ...REQUIRED, pollInterval: '-5s' })[0]!, /--poll-interval/);
    assert.match(errors({ ...REQUIRED, concurrency: '0' })[0]!, /--concurrency/);
    assert.match(errors({ ...REQUIRED, concurrency: '2.5' })[0]!, /--concurrency/);
    assert.match(errors({ ...REQUIRED, session: 'Not A Label' })[0]!, /--session/);
    assert.match(errors({ ...REQUIRED, logLevel: 'loud' })[0]!, /--log-level/);
  });

  it('Cloud Logging: the emulator host (LOGGING_EMULATOR_HOST, else the Batch one) or a TLS endpoint, not both', () => {
    const viaBatch = parseConfig(REQUIRED, { BATCH_EMULATOR_HOST: '127.0.0.1:9' });
    assert.ok(viaBatch.ok);
    assert.equal(viaBatch.config.loggingEmulatorHost, '127.0.0.1:9');
    const own = parseConfig(REQUIRED, {
      BATCH_EMULATOR_HOST: '127.0.0.1:9',
      LOGGING_EMULATOR_HOST: '127.0.0.1:8',
    });
    assert.ok(own.ok);
    assert.equal(own.config.loggingEmulatorHost, '127.0.0.1:8');
    const tls = parseConfig(
      { ...REQUIRED, batchEndpoint: '127.0.0.1:8443', loggingEndpoint: '127.0.0.1:8443' },
      {},
    );
    assert.ok(tls.ok);
    assert.equal(tls.config.loggingEndpoint, '127.0.0.1:8443');
    assert.equal(tls.config.loggingEmulatorHost, undefined);
    assert.match(
      errors({ ...REQUIRED, loggingEndpoint: 'x:1' }, { LOGGING_EMULATOR_HOST: '127.0.0.1:8' })[0]!,
      /--logging-endpoint and LOGGING_EMULATOR_HOST/,
    );
    assert.match(errors({ ...REQUIRED, loggingEndpoint: 'a b' })[0]!, /--logging-endpoint must be host/);
    const defaults = parseConfig(REQUIRED, {});
    assert.ok(defaults.ok);
    assert.equal(defaults.config.logReadsPerMinute, 20);
    assert.match(
      errors({ ...REQUIRED, logReadsPerMinute: '0' })[0]!,
      /--log-reads-per-minute must be a positive/,
    );
  });

  it('a Batch endpoint over TLS, or an emulator host, not both; an https IAM Credentials endpoint', () => {
    const ok = parseConfig({ ...REQUIRED, batchEndpoint: '127.0.0.1:8443' }, {});
    assert.ok(ok.ok);
    assert.equal(ok.config.batchEndpoint, '127.0.0.1:8443');
    const fromEnv = parseConfig(REQUIRED, {
      DRMAA2_BATCH_ENDPOINT: 'batch-private.p.googleapis.com',
      DRMAA2_IAM_CREDENTIALS_ENDPOINT: 'https://iamcredentials-private.p.googleapis.com/',
    });
    assert.ok(fromEnv.ok);
    assert.equal(fromEnv.config.batchEndpoint, 'batch-private.p.googleapis.com');
    assert.equal(fromEnv.config.iamCredentialsEndpoint, 'https://iamcredentials-private.p.googleapis.com');
    const both = parseConfig({ batchEndpoint: '127.0.0.1:8443' }, { BATCH_EMULATOR_HOST: '127.0.0.1:9' });
    assert.ok(!both.ok);
    assert.match(both.errors[0]!, /--batch-endpoint and BATCH_EMULATOR_HOST/);
    assert.match(errors({ ...REQUIRED, batchEndpoint: 'https://x/y' })[0]!, /--batch-endpoint must be/);
    assert.match(
      errors({ ...REQUIRED, iamCredentialsEndpoint: 'http://127.0.0.1:1' })[0]!,
      /--iam-credentials-endpoint must be an https/,
    );
  });

  it('leader election from the flag, or from the variable as true/1', () => {
    assert.equal(ok({ ...REQUIRED, leaderElect: true }).leaderElect, true);
    assert.equal(ok(REQUIRED, { DRMAA2_LEADER_ELECT: '1' }).leaderElect, true);
    assert.equal(ok(REQUIRED, { DRMAA2_LEADER_ELECT: 'false' }).leaderElect, false);
  });

  it('the lease namespace defaults to the pod namespace', () => {
    assert.equal(ok(REQUIRED, { POD_NAMESPACE: 'drmaa2' }).leaseNamespace, 'drmaa2');
  });
});

describe('leader election timings and Batch call ceilings', () => {
  it('default to client-go timings and the Batch region quota', () => {
    const config = ok(REQUIRED);
    assert.deepEqual(
      [config.leaseDurationMs, config.renewDeadlineMs, config.retryPeriodMs],
      [15_000, 10_000, 2_000],
    );
    assert.equal(config.batchMutationsPerMinute, 6000);
    assert.equal(config.batchReadsPerMinute, 15000);
  });

  it('take flags and environment twins', () => {
    const config = ok(
      { ...REQUIRED, leaseDuration: '4s', renewDeadline: '3s', batchReadsPerMinute: '900' },
      { DRMAA2_RETRY_PERIOD: '500ms', DRMAA2_BATCH_MUTATIONS_PER_MINUTE: '120' },
    );
    assert.deepEqual(
      [config.leaseDurationMs, config.renewDeadlineMs, config.retryPeriodMs],
      [4000, 3000, 500],
    );
    assert.equal(config.batchMutationsPerMinute, 120);
    assert.equal(config.batchReadsPerMinute, 900);
  });

  it('name the flag when the timings do not nest or a ceiling is not a positive integer', () => {
    assert.match(errors({ ...REQUIRED, leaseDuration: '5s' }).join('\n'), /--renew-deadline must be shorter/);
    assert.match(errors({ ...REQUIRED, retryPeriod: '12s' }).join('\n'), /--retry-period must be shorter/);
    assert.match(
      errors({ ...REQUIRED, leaseDuration: 'soon' }).join('\n'),
      /--lease-duration must be a positive/,
    );
    assert.match(
      errors({ ...REQUIRED, batchMutationsPerMinute: '0' }).join('\n'),
      /--batch-mutations-per-minute must be a positive integer, got 0/,
    );
    assert.match(
      errors({ ...REQUIRED, batchReadsPerMinute: '1.5' }).join('\n'),
      /--batch-reads-per-minute must be a positive integer/,
    );
  });
});

describe('--selector', () => {
  it('takes a label selector from the flag or DRMAA2_SELECTOR, none by default', () => {
    assert.equal(ok(REQUIRED).selector, undefined);
    assert.equal(ok({ ...REQUIRED, selector: 'drmaa2-shard=0' }).selector, 'drmaa2-shard=0');
    assert.equal(ok(REQUIRED, { DRMAA2_SELECTOR: 'team in (a,b)' }).selector, 'team in (a,b)');
  });
});

describe('--lease-name', () => {
  it('names the Lease, one per shard', () => {
    assert.equal(ok(REQUIRED).leaseName, 'drmaa2-batch-controller');
    assert.equal(ok({ ...REQUIRED, leaseName: 'shard-a' }).leaseName, 'shard-a');
    assert.equal(ok(REQUIRED, { DRMAA2_LEASE_NAME: 'shard-b' }).leaseName, 'shard-b');
  });
});
