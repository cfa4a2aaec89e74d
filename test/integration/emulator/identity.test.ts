// Google's caller identity in the emulator, through the unmodified clients over real TLS: google-auth-library's
// Impersonated (IAM Credentials' generateAccessToken), its external_account credentials (STS token exchange,
// then impersonation) and @google-cloud/batch sending the bearer token on every call.
import { afterAll, beforeAll, describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchServiceClient } from '@google-cloud/batch';
import type * as GrpcJs from '@grpc/grpc-js';
import { Impersonated, OAuth2Client, type AuthClient } from 'google-auth-library';
import {
  DEFAULT_COMPUTE_SERVICE_ACCOUNT,
  startEmulator,
  type IamOptions,
  type RunningEmulator,
} from '../../../src/emulator/index.js';
import { generateCerts } from '../../support/certs.js';
import { trackDirectory, untrackDirectory } from '../../support/cleanup.js';
import { writeExternalAccount } from '../../support/federation.js';
import { scriptJob } from './client.js';

const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';
const POOL = 'projects/123456789012/locations/global/workloadIdentityPools/clusters';
const AUDIENCE = `//iam.googleapis.com/${POOL}/providers/test-cluster`;
const SUBJECT_AUDIENCE = 'drmaa2-tests';
const principalOf = (sub: string) => `principal://iam.googleapis.com/${POOL}/subject/${sub}`;
const CONTROLLER_SUB = 'system:serviceaccount:drmaa2-system:controller';
const CONTROLLER = principalOf(CONTROLLER_SUB);
const WIF_SUB = 'system:serviceaccount:tenant-b:runner';
const TENANT_A = 'tenant-a@proj-a.iam.gserviceaccount.com';
const RUNNER_A = 'runner-a@proj-a.iam.gserviceaccount.com';
const TENANT_B = 'tenant-b@proj-b.iam.gserviceaccount.com';
const RELAY = 'relay@infra.iam.gserviceaccount.com';
const TENANT_C = 'tenant-c@proj-c.iam.gserviceaccount.com';

const UNAUTHENTICATED = 16;
const PERMISSION_DENIED = 7;
const INVALID_ARGUMENT = 3;

let dir: string;
let emulator: RunningEmulator;
let ca: Buffer;
let caFile: string;
let agent: Agent;
let ecKey: KeyObject;
let rsaKey: KeyObject;
const clients: BatchServiceClient[] = [];
let counter = 0;

function signJwt(claims: Record<string, unknown>, key: KeyObject, alg: 'ES256' | 'RS256'): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signed = `${part({ alg, typ: 'JWT' })}.${part(claims)}`;
  const signature = sign(
    'sha256',
    Buffer.from(signed),
    alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key,
  );
  return `${signed}.${signature.toString('base64url')}`;
}

function subjectToken(sub: string, key = ecKey, alg: 'ES256' | 'RS256' = 'ES256', extra = {}): string {
  const now = Math.floor(Date.now() / 1000);
  return signJwt(
    {
      iss: 'https://kubernetes.default.svc',
      sub,
      aud: [SUBJECT_AUDIENCE],
      iat: now,
      exp: now + 600,
      ...extra,
    },
    key,
    alg,
  );
}

function post(
  url: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', ca, headers, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`POST ${url} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

function exchange(fields: Record<string, string>) {
  return post(`${emulator.identityUrl}/v1/token`, new URLSearchParams(fields).toString(), {
    'content-type': 'application/x-www-form-urlencoded',
  });
}

const stsRequest = (token: string, audience = AUDIENCE) => ({
  grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
  audience,
  scope: CLOUD_PLATFORM,
  requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
  subject_token: token,
  subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
});

/** A federated access token of the workload whose service-account token says `sub`. */
async function federatedToken(sub: string): Promise<string> {
  const { status, json } = await exchange(stsRequest(subjectToken(sub)));
  assert.equal(status, 200, JSON.stringify(json));
  return String(json.access_token);
}

function source(accessToken: string): OAuth2Client {
  const client = new OAuth2Client({ transporterOptions: { agent } });
  client.setCredentials({ access_token: accessToken, expiry_date: Date.now() + 600_000 });
  return client;
}

function impersonated(sourceClient: AuthClient, targetPrincipal: string, delegates: string[] = []) {
  return new Impersonated({
    sourceClient,
    targetPrincipal,
    delegates,
    targetScopes: [CLOUD_PLATFORM],
    lifetime: 3600,
    endpoint: emulator.identityUrl,
    transporterOptions: { agent },
  });
}

/** The @grpc/grpc-js google-gax loads: credentials made by another copy are not recognised by its channel. */
function gaxGrpc(): typeof GrpcJs {
  const here = createRequire(import.meta.url);
  const batch = createRequire(here.resolve('@google-cloud/batch'));
  return createRequire(batch.resolve('google-gax'))('@grpc/grpc-js') as typeof GrpcJs;
}

/** google-gax adds the auth client's token only when it builds the channel credentials itself, trusting
 * Node's default CAs alone; with the test CA they are built here the same way. */
function batchClient(project: string, auth?: AuthClient): BatchServiceClient {
  const grpc = gaxGrpc();
  const tls = grpc.credentials.createSsl(ca);
  const sslCreds = auth
    ? grpc.credentials.combineChannelCredentials(
        tls,
        grpc.credentials.createFromGoogleCredential({
          getRequestHeaders: async (url?: string) => Object.fromEntries(await auth.getRequestHeaders(url)),
        }),
      )
    : tls;
  const client = new BatchServiceClient({
    apiEndpoint: '127.0.0.1',
    port: emulator.port,
    projectId: project,
    universeDomain: 'googleapis.com',
    sslCreds: sslCreds as unknown as NonNullable<
      ConstructorParameters<typeof BatchServiceClient>[0]
    >['sslCreds'],
  });
  clients.push(client);
  return client;
}

function create(
  client: BatchServiceClient,
  project: string,
  job: Record<string, unknown>,
  jobId = `job-${++counter}`,
) {
  return client.createJob({ parent: `projects/${project}/locations/l`, jobId, job });
}

const withAccount = (email: string) => ({
  ...scriptJob('true'),
  allocationPolicy: { serviceAccount: { email } },
});

function rejectsWith(promise: Promise<unknown>, code: number, message: RegExp) {
  return assert.rejects(promise, (err: { code?: number; details?: string }) => {
    assert.equal(err.code, code, String(err.details));
    assert.match(String(err.details), message);
    return true;
  });
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drmaa2-identity-'));
  trackDirectory(dir);
  const certs = await generateCerts(dir);
  caFile = certs.ca.cert;
  ca = readFileSync(caFile);
  agent = new Agent({ ca });
  ecKey = createPrivateKey(readFileSync(certs.serviceAccountKey));
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  rsaKey = rsa.privateKey;
  const iam: IamOptions = {
    federation: [
      {
        audience: AUDIENCE,
        subjectAudience: SUBJECT_AUDIENCE,
        publicKeys: [
          readFileSync(certs.serviceAccountPublicKey, 'utf8'),
          rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        ],
      },
    ],
    principals: {
      [CONTROLLER]: { tokenCreatorOn: [TENANT_A, RELAY] },
      [principalOf(WIF_SUB)]: { tokenCreatorOn: [TENANT_B] },
      [TENANT_A]: { projects: ['proj-a'], actAs: [RUNNER_A] },
      [RUNNER_A]: {},
      [TENANT_B]: { projects: ['proj-b'], actAs: [DEFAULT_COMPUTE_SERVICE_ACCOUNT] },
      [RELAY]: { tokenCreatorOn: [TENANT_C] },
      [TENANT_C]: { projects: ['proj-c'], actAs: [DEFAULT_COMPUTE_SERVICE_ACCOUNT] },
    },
  };
  emulator = await startEmulator({
    stepMs: 5,
    containers: 'simulate',
    tls: { cert: readFileSync(certs.serving.cert, 'utf8'), key: readFileSync(certs.serving.key, 'utf8') },
    iam,
  });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  agent?.destroy();
  await emulator?.stop();
  if (dir) {
    rmSync(dir, { recursive: true, force: true });
    untrackDirectory(dir);
  }
});

describe('a call without a token this emulator issued', () => {
  it('is refused UNAUTHENTICATED when it carries no credential', async () => {
    assert.match(emulator.identityUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
    const jobId = `job-${++counter}`;
    await rejectsWith(
      create(batchClient('proj-a'), 'proj-a', withAccount(RUNNER_A), jobId),
      UNAUTHENTICATED,
      /^Request is missing required authentication credential\. Expected OAuth 2 access token, login cookie or other valid authentication credential\./,
    );
    const record = emulator.callLog().find((c) => c.jobId === jobId);
    assert.equal(record?.code, 'UNAUTHENTICATED');
    assert.equal(record?.principal, undefined);
    assert.equal(emulator.jobs().length, 0);
  });

  it('is refused UNAUTHENTICATED with a token the emulator never issued', async () => {
    await rejectsWith(
      batchClient('proj-a', source('ya29.forged')).listJobs({ parent: 'projects/proj-a/locations/l' }),
      UNAUTHENTICATED,
      /^Request had invalid authentication credentials\. Expected OAuth 2 access token/,
    );
  });
});

describe('an impersonated tenant account', () => {
  let tenantA: BatchServiceClient;

  beforeAll(async () => {
    tenantA = batchClient('proj-a', impersonated(source(await federatedToken(CONTROLLER_SUB)), TENANT_A));
  });

  it('creates a job in its project, as the service account it may act as, and is logged as the caller', async () => {
    const jobId = `job-${++counter}`;
    const [job] = await create(tenantA, 'proj-a', withAccount(RUNNER_A), jobId);
    assert.equal(job.name, `projects/proj-a/locations/l/jobs/${jobId}`);
    const [again] = await tenantA.getJob({ name: job.name! });
    assert.equal(again.uid, job.uid);
    const calls = emulator.callLog().filter((c) => c.jobId === jobId);
    assert.deepEqual(
      calls.map((c) => [c.method, c.code, c.principal]),
      [
        ['CreateJob', 'OK', TENANT_A],
        ['GetJob', 'OK', TENANT_A],
      ],
    );
  });

  it('is refused PERMISSION_DENIED in a project where it holds no Batch role', async () => {
    await rejectsWith(
      create(tenantA, 'proj-b', withAccount(RUNNER_A)),
      PERMISSION_DENIED,
      /^Permission 'batch\.jobs\.create' denied on 'projects\/proj-b\/locations\/l'$/,
    );
    await rejectsWith(
      tenantA.getJob({ name: 'projects/proj-b/locations/l/jobs/anything' }),
      PERMISSION_DENIED,
      /^Permission 'batch\.jobs\.get' denied on 'projects\/proj-b\/locations\/l\/jobs\/anything'$/,
    );
  });

  it('is refused on the project before its request is read or its VM account checked', async () => {
    await rejectsWith(
      create(tenantA, 'proj-b', withAccount('runner-b@proj-b.iam.gserviceaccount.com'), 'Not-A-Valid-Id'),
      PERMISSION_DENIED,
      /batch\.jobs\.create/,
    );
    await rejectsWith(
      create(tenantA, 'proj-a', withAccount('runner-b@proj-b.iam.gserviceaccount.com'), 'Not-A-Valid-Id'),
      INVALID_ARGUMENT,
      /job_id/,
    );
  });

  it('is refused PERMISSION_DENIED for a VM service account it may not act as', async () => {
    const other = 'runner-b@proj-b.iam.gserviceaccount.com';
    await rejectsWith(
      create(tenantA, 'proj-a', withAccount(other)),
      PERMISSION_DENIED,
      new RegExp(`^caller does not have access to act as the specified service account: "${escape(other)}"$`),
    );
    await rejectsWith(
      create(tenantA, 'proj-a', scriptJob('true')),
      PERMISSION_DENIED,
      new RegExp(`specified service account: "${escape(DEFAULT_COMPUTE_SERVICE_ACCOUNT)}"$`),
    );
  });
});

describe('generateAccessToken', () => {
  it('refuses a target the caller holds no Token Creator role on, and one that does not exist', async () => {
    const controller = source(await federatedToken(CONTROLLER_SUB));
    for (const target of [TENANT_B, 'nobody@proj-a.iam.gserviceaccount.com']) {
      await assert.rejects(
        impersonated(controller, target).getAccessToken(),
        (err: Error & { status?: number }) => {
          assert.equal(err.status, 403);
          assert.match(
            err.message,
            /^PERMISSION_DENIED: unable to impersonate: Permission 'iam\.serviceAccounts\.getAccessToken' denied on resource \(or it may not exist\)\.$/,
          );
          return true;
        },
      );
    }
  });

  it('a refused impersonation fails the Batch call in the client, before it reaches Batch', async () => {
    const controller = source(await federatedToken(CONTROLLER_SUB));
    const jobId = `job-${++counter}`;
    await assert.rejects(
      create(batchClient('proj-b', impersonated(controller, TENANT_B)), 'proj-b', scriptJob('true'), jobId),
      (err: Error & { code?: number }) => {
        // grpc-js passes the HTTP status of IAM Credentials' answer through as the call's code.
        assert.equal(err.code, 403);
        assert.match(
          err.message,
          /Getting metadata from plugin failed .*unable to impersonate: Permission 'iam\.serviceAccounts\.getAccessToken' denied/,
        );
        return true;
      },
    );
    assert.equal(emulator.callLog().filter((c) => c.jobId === jobId).length, 0);
  });

  it('follows a delegation chain, each hop holding Token Creator on the next', async () => {
    const controller = source(await federatedToken(CONTROLLER_SUB));
    const tenantC = batchClient('proj-c', impersonated(controller, TENANT_C, [RELAY]));
    const jobId = `job-${++counter}`;
    await create(tenantC, 'proj-c', scriptJob('true'), jobId);
    assert.equal(emulator.callLog().find((c) => c.jobId === jobId)?.principal, TENANT_C);
    // The relay holds Token Creator on tenant C only; the controller's own right on tenant A does not help.
    await assert.rejects(impersonated(controller, TENANT_A, [RELAY]).getAccessToken(), { status: 403 });
    // Without the relay the controller holds nothing on tenant C.
    await assert.rejects(impersonated(controller, TENANT_C).getAccessToken(), { status: 403 });
  });

  it('answers 401 UNAUTHENTICATED without a token and the access token and expiry with one', async () => {
    const url = `${emulator.identityUrl}/v1/projects/-/serviceAccounts/${TENANT_A}:generateAccessToken`;
    const body = JSON.stringify({ scope: [CLOUD_PLATFORM], lifetime: '600s' });
    const refused = await post(url, body, { 'content-type': 'application/json' });
    assert.equal(refused.status, 401);
    assert.deepEqual(Object.keys(refused.json.error as object).sort(), ['code', 'message', 'status']);
    assert.equal((refused.json.error as { status: string }).status, 'UNAUTHENTICATED');
    const token = await federatedToken(CONTROLLER_SUB);
    const before = Date.now();
    const granted = await post(url, body, {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
    });
    assert.equal(granted.status, 200, JSON.stringify(granted.json));
    assert.match(String(granted.json.accessToken), /\S{20,}/);
    const expires = Date.parse(String(granted.json.expireTime));
    assert.match(String(granted.json.expireTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(Math.abs(expires - (before + 600_000)) < 5_000, String(granted.json.expireTime));
  });
});

describe('the token exchange', () => {
  it('exchanges an RS256 subject token for a federated access token', async () => {
    const { status, json } = await exchange(stsRequest(subjectToken(CONTROLLER_SUB, rsaKey, 'RS256')));
    assert.equal(status, 200, JSON.stringify(json));
    assert.deepEqual(
      { ...json, access_token: typeof json.access_token },
      {
        access_token: 'string',
        issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        token_type: 'Bearer',
        expires_in: 3600,
      },
    );
  });

  it('refuses a bad subject token, an unknown provider and a malformed audience as OAuth errors', async () => {
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const cases: [Record<string, string>, string][] = [
      [stsRequest(subjectToken(CONTROLLER_SUB, stranger)), 'invalid_grant'],
      [stsRequest(subjectToken(CONTROLLER_SUB, ecKey, 'ES256', { aud: 'someone-else' })), 'invalid_grant'],
      [stsRequest(subjectToken(CONTROLLER_SUB, ecKey, 'ES256', { exp: 1 })), 'invalid_grant'],
      [stsRequest(subjectToken(CONTROLLER_SUB), AUDIENCE.replace('test-cluster', 'other')), 'invalid_target'],
      [stsRequest(subjectToken(CONTROLLER_SUB), POOL), 'invalid_request'],
    ];
    for (const [fields, error] of cases) {
      const { status, json } = await exchange(fields);
      assert.equal(status, 400);
      assert.equal(json.error, error, JSON.stringify(json));
      assert.equal(typeof json.error_description, 'string');
    }
  });
});

describe('workload identity federation from a credentials file', () => {
  it('reaches Batch as the impersonated account, as google-auth-library does it from ADC', async () => {
    const credentials = writeExternalAccount({
      dir,
      identityUrl: emulator.identityUrl,
      audience: AUDIENCE,
      subjectToken: subjectToken(WIF_SUB),
      serviceAccount: TENANT_B,
    });
    const jobId = `wif-${++counter}`;
    // Application Default Credentials, as a pod would have them; the STS client inside the library builds its
    // own transport, so the test CA reaches it only through NODE_EXTRA_CA_CERTS.
    const script = `
      import { BatchServiceClient } from '@google-cloud/batch';
      const client = new BatchServiceClient({ apiEndpoint: '127.0.0.1', port: Number(process.env.EMULATOR_PORT), projectId: 'proj-b' });
      const [job] = await client.createJob({
        parent: 'projects/proj-b/locations/l',
        jobId: process.env.JOB_ID,
        job: { taskGroups: [{ taskCount: 1, taskSpec: { runnables: [{ script: { text: 'true' } }] } }] },
      });
      console.log(JSON.stringify({ name: job.name }));
      await client.close();
    `;
    const env: Record<string, string> = {};
    for (const key of ['PATH', 'HOME', 'TMPDIR']) if (process.env[key]) env[key] = process.env[key]!;
    const { stdout, stderr, code } = await new Promise<{
      stdout: string;
      stderr: string;
      code: number | null;
    }>((resolve) => {
      execFile(
        process.execPath,
        ['--input-type=module', '-e', script],
        {
          cwd: process.cwd(),
          timeout: 60_000,
          env: {
            ...env,
            NODE_EXTRA_CA_CERTS: caFile,
            GOOGLE_APPLICATION_CREDENTIALS: credentials,
            EMULATOR_PORT: String(emulator.port),
            JOB_ID: jobId,
          },
        },
        (err, out, errOut) =>
          resolve({ stdout: out, stderr: errOut, code: err ? ((err as { code?: number }).code ?? -1) : 0 }),
      );
    });
    assert.equal(code, 0, stderr);
    assert.equal(
      JSON.parse(stdout.trim().split('\n').pop()!).name,
      `projects/proj-b/locations/l/jobs/${jobId}`,
    );
    const record = emulator.callLog().find((c) => c.method === 'CreateJob' && c.jobId === jobId);
    assert.deepEqual([record?.code, record?.principal], ['OK', TENANT_B]);
  });
});
