// The emulator's identity decisions without a server: subject-token verification, access tokens, Batch
// permissions and actAs, generateAccessToken's delegation chains, and the token exchange's answers.
import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import {
  BatchGate,
  DEFAULT_COMPUTE_SERVICE_ACCOUNT,
  IamPolicy,
  INVALID_CREDENTIALS,
  JwtError,
  MISSING_CREDENTIAL,
  TokenStore,
  bearerToken,
  compileIam,
  loadPublicKeys,
  permissionOf,
  verifyJwt,
} from '../../../src/emulator/iam.js';
import { exchangeToken, generateAccessToken, stsFields } from '../../../src/emulator/identityServer.js';

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherEc = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();
const keys = loadPublicKeys([pem(ec.publicKey), pem(rsa.publicKey)], 'keys');
const NOW = Date.UTC(2026, 0, 1);
const nowSeconds = NOW / 1000;

function jwt(
  claims: Record<string, unknown>,
  key: KeyObject = ec.privateKey,
  alg = 'ES256',
  header: Record<string, unknown> = {},
): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signed = `${part({ alg, typ: 'JWT', ...header })}.${part(claims)}`;
  const signature = sign(
    'sha256',
    Buffer.from(signed),
    alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key,
  );
  return `${signed}.${signature.toString('base64url')}`;
}

const claims = (extra: Record<string, unknown> = {}) => ({
  sub: 'workload',
  aud: 'expected',
  iat: nowSeconds,
  exp: nowSeconds + 300,
  ...extra,
});

function refused(token: string, reason: RegExp, audience = 'expected') {
  assert.throws(
    () => verifyJwt(token, keys, { audience, now: NOW }),
    (err: Error) => err instanceof JwtError && reason.test(err.message),
  );
}

describe('subject token verification', () => {
  it('accepts a good ES256 and a good RS256 token, a string or list aud', () => {
    assert.equal(verifyJwt(jwt(claims()), keys, { audience: 'expected', now: NOW }).sub, 'workload');
    assert.equal(
      verifyJwt(jwt(claims({ aud: ['a', 'expected'] }), rsa.privateKey, 'RS256'), keys, {
        audience: 'expected',
        now: NOW,
      }).sub,
      'workload',
    );
    assert.equal(verifyJwt(jwt(claims({ aud: 'anything' })), keys, { now: NOW }).sub, 'workload');
  });

  it('refuses a token signed by another key, or whose algorithm does not fit the key', () => {
    refused(jwt(claims(), otherEc.privateKey), /signature is invalid/);
    // An RS256 header over an EC signature: no RSA key verifies it, and no EC key is tried.
    refused(jwt(claims(), ec.privateKey, 'RS256'), /signature is invalid/);
    const tampered = jwt(claims()).split('.');
    tampered[1] = Buffer.from(JSON.stringify(claims({ sub: 'someone-else' }))).toString('base64url');
    refused(tampered.join('.'), /signature is invalid/);
  });

  it('refuses the wrong audience', () => {
    refused(jwt(claims({ aud: 'other' })), /does not match the expected audience "expected"/);
    refused(jwt(claims({ aud: undefined })), /does not match/);
  });

  it('refuses an expired token, one without exp, and one not yet valid', () => {
    refused(jwt(claims({ exp: nowSeconds - 1 })), /expired/);
    refused(jwt(claims({ exp: nowSeconds })), /expired/);
    refused(jwt(claims({ exp: undefined })), /no exp/);
    refused(jwt(claims({ nbf: nowSeconds + 60 })), /not valid before/);
  });

  it('refuses malformed tokens', () => {
    refused('not-a-jwt', /not a JWT/);
    refused('a.b', /not a JWT/);
    refused('a.b.c.d', /not a JWT/);
    refused(`${jwt(claims())}=`, /not a JWT/);
    refused('e30.!!!.c2ln', /not a JWT/);
    const [, payload, signature] = jwt(claims()).split('.');
    refused(`${Buffer.from('{').toString('base64url')}.${payload}.${signature}`, /header is not/);
    refused(
      `${Buffer.from('[1]').toString('base64url')}.${payload}.${signature}`,
      /header is not a JSON object/,
    );
    refused(jwt(claims(), ec.privateKey, 'none'), /algorithm "none"/);
    refused(jwt(claims(), ec.privateKey, 'HS256'), /algorithm "HS256"/);
    refused(jwt(claims({ sub: '' })), /no sub/);
  });

  it('loads only keys that can verify ES256 or RS256', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
    assert.throws(() => loadPublicKeys([pem(p384)], 'k'), /k\[0\] must be an EC P-256/);
    assert.throws(() => loadPublicKeys(['not a key'], 'k'), /k\[0\] is not a PEM public key/);
  });
});

describe('access tokens', () => {
  it('are opaque, live until their expiry and unknown after it', () => {
    const tokens = new TokenStore();
    const issued = tokens.issue('sa@p.iam.gserviceaccount.com', 60, NOW);
    assert.equal(issued.expiresAt, NOW + 60_000);
    assert.ok(!issued.token.includes('sa@p'));
    assert.equal(tokens.lookup(issued.token, NOW + 59_999)?.principal, 'sa@p.iam.gserviceaccount.com');
    assert.equal(tokens.lookup(issued.token, NOW + 60_000), undefined);
    assert.equal(tokens.lookup(issued.token, NOW), undefined, 'an expired token is forgotten');
    assert.notEqual(tokens.issue('x', 60, NOW).token, tokens.issue('x', 60, NOW).token);
  });

  it('are read from a Bearer authorization only', () => {
    assert.equal(bearerToken([]), undefined);
    assert.equal(bearerToken(['']), undefined);
    assert.equal(bearerToken(['Bearer abc']), 'abc');
    assert.equal(bearerToken(['bearer abc']), 'abc');
    assert.equal(bearerToken(['Basic abc']), null);
    assert.equal(bearerToken(['Bearer a b']), null);
  });
});

const A = 'tenant-a@proj-a.iam.gserviceaccount.com';
const RUNNER = 'runner@proj-a.iam.gserviceaccount.com';
const R1 = 'relay-1@infra.iam.gserviceaccount.com';
const R2 = 'relay-2@infra.iam.gserviceaccount.com';
const T = 'target@proj-t.iam.gserviceaccount.com';
const CALLER = 'principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/subject/c';

const policy = new IamPolicy({
  [CALLER]: { tokenCreatorOn: [A, R1] },
  [A]: { projects: ['proj-a'], actAs: [RUNNER] },
  [RUNNER]: {},
  [R1]: { tokenCreatorOn: [R2] },
  [R2]: { tokenCreatorOn: [T] },
  [T]: { projects: ['proj-t'], actAs: [DEFAULT_COMPUTE_SERVICE_ACCOUNT] },
  'creator@x.iam.gserviceaccount.com': { tokenCreatorOn: ['ghost@x.iam.gserviceaccount.com'] },
});

describe('permission decisions', () => {
  it('lets a principal use Batch only in its projects, and act only as the accounts it lists', () => {
    assert.equal(policy.mayUseBatch(A, 'proj-a'), true);
    assert.equal(policy.mayUseBatch(A, 'proj-t'), false);
    assert.equal(policy.mayUseBatch('stranger@x.iam.gserviceaccount.com', 'proj-a'), false);
    assert.equal(policy.mayActAs(A, RUNNER), true);
    assert.equal(policy.mayActAs(A, A), false, 'not even as itself');
    assert.equal(policy.mayUseBatch('constructor', 'proj-a'), false, 'no inherited property is a principal');
  });

  it('names the permission and resource of each method', () => {
    assert.deepEqual(permissionOf('CreateJob', { parent: 'projects/p/locations/l', jobId: 'j' }), {
      permission: 'batch.jobs.create',
      resource: 'projects/p/locations/l',
    });
    assert.deepEqual(permissionOf('DeleteJob', { name: 'projects/p/locations/l/jobs/j' }), {
      permission: 'batch.jobs.delete',
      resource: 'projects/p/locations/l/jobs/j',
    });
    assert.equal(permissionOf('ListTasks', { parent: 'x' }).permission, 'batch.tasks.list');
    assert.equal(permissionOf('GetOperation', { name: 'x' }).permission, 'batch.operations.get');
  });

  it('checks authentication, then the project, then (CreateJob) actAs', () => {
    const tokens = new TokenStore();
    const gate = new BatchGate(policy, tokens);
    const deny = (fn: () => unknown, code: number, message: string | RegExp) =>
      assert.throws(fn, (err: { code: number; message: string }) => {
        assert.equal(err.code, code);
        if (typeof message === 'string') assert.equal(err.message, message);
        else assert.match(err.message, message);
        return true;
      });
    deny(() => gate.authenticate([], NOW), 16, MISSING_CREDENTIAL);
    deny(() => gate.authenticate(['Bearer nope'], NOW), 16, INVALID_CREDENTIALS);
    deny(() => gate.authenticate(['Basic Zm9vOmJhcg=='], NOW), 16, INVALID_CREDENTIALS);
    const { token } = tokens.issue(A, 60, NOW);
    deny(() => gate.authenticate([`Bearer ${token}`], NOW + 60_000), 16, INVALID_CREDENTIALS);
    const { token: live } = tokens.issue(A, 60, NOW);
    assert.equal(gate.authenticate([`Bearer ${live}`], NOW), A);

    gate.authorize(A, 'ListJobs', { parent: 'projects/proj-a/locations/l' });
    deny(
      () => gate.authorize(A, 'ListJobs', { parent: 'projects/proj-t/locations/l' }),
      7,
      "Permission 'batch.jobs.list' denied on 'projects/proj-t/locations/l'",
    );
    deny(
      () =>
        gate.authorize(A, 'GetTask', {
          name: 'projects/proj-t/locations/l/jobs/j/taskGroups/group0/tasks/0',
        }),
      7,
      "Permission 'batch.tasks.get' denied on 'projects/proj-t/locations/l/jobs/j/taskGroups/group0/tasks/0'",
    );
    // No project to check: the request's own validation refuses it.
    gate.authorize(A, 'CreateJob', { parent: 'nonsense' });

    gate.authorizeJob(A, { allocationPolicy: { serviceAccount: { email: RUNNER } } });
    deny(
      () => gate.authorizeJob(A, { allocationPolicy: { serviceAccount: { email: T } } }),
      7,
      `caller does not have access to act as the specified service account: "${T}"`,
    );
    deny(() => gate.authorizeJob(A, {}), 7, new RegExp(`"${DEFAULT_COMPUTE_SERVICE_ACCOUNT}"$`));
    gate.authorizeJob(T, { allocationPolicy: {} });
  });
});

describe('delegation chains', () => {
  it('needs Token Creator on the target when there are no delegates', () => {
    assert.equal(policy.brokenLink(CALLER, [], A), undefined);
    assert.deepEqual(policy.brokenLink(CALLER, [], T), { from: CALLER, to: T });
  });

  it('needs the caller on the first delegate, each delegate on the next, the last on the target', () => {
    assert.equal(policy.brokenLink(CALLER, [R1, R2], T), undefined);
    assert.deepEqual(policy.brokenLink(CALLER, [R2], T), { from: CALLER, to: R2 });
    assert.deepEqual(policy.brokenLink(CALLER, [R1], T), { from: R1, to: T });
    assert.deepEqual(policy.brokenLink(CALLER, [A, R1, R2], T), { from: A, to: R1 });
    assert.deepEqual(policy.brokenLink(CALLER, [R1, R2], A), { from: R2, to: A });
  });

  it('refuses a target that is not a principal, whatever the caller holds on it', () => {
    const ghost = 'ghost@x.iam.gserviceaccount.com';
    assert.deepEqual(policy.brokenLink('creator@x.iam.gserviceaccount.com', [], ghost), {
      from: 'creator@x.iam.gserviceaccount.com',
      to: ghost,
    });
  });
});

const AUDIENCE = '//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/k8s';

function iam() {
  return compileIam({
    federation: [{ audience: AUDIENCE, subjectAudience: 'expected', publicKeys: [pem(ec.publicKey)] }],
    principals: { [CALLER]: { tokenCreatorOn: [A] }, [A]: { projects: ['proj-a'] } },
    tokenLifetimeSeconds: 1200,
  });
}

const sts = (extra: Record<string, string> = {}) => ({
  grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
  audience: AUDIENCE,
  scope: 'https://www.googleapis.com/auth/cloud-platform',
  requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
  subject_token: jwt(claims({ sub: 'c' })),
  subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
  ...extra,
});

describe('the token exchange', () => {
  it("issues a federated token for the subject's principal", () => {
    const compiled = iam();
    const answer = exchangeToken(compiled, sts(), NOW);
    assert.equal(answer.status, 200);
    const body = answer.body as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), [
      'access_token',
      'expires_in',
      'issued_token_type',
      'token_type',
    ]);
    assert.equal(body.expires_in, 1200);
    assert.equal(compiled.tokens.lookup(String(body.access_token), NOW)?.principal, CALLER);
  });

  it('answers OAuth errors', () => {
    const error = (fields: Record<string, string>) => {
      const answer = exchangeToken(iam(), fields, NOW);
      assert.equal(answer.status, 400);
      return (answer.body as { error: string }).error;
    };
    assert.equal(error(sts({ grant_type: 'client_credentials' })), 'unsupported_grant_type');
    assert.equal(
      error(sts({ audience: 'projects/1/locations/global/workloadIdentityPools/p' })),
      'invalid_request',
    );
    assert.equal(error(sts({ audience: AUDIENCE.replace('k8s', 'gone') })), 'invalid_target');
    assert.equal(
      error(sts({ requested_token_type: 'urn:ietf:params:oauth:token-type:jwt' })),
      'invalid_request',
    );
    assert.equal(
      error(sts({ subject_token_type: 'urn:ietf:params:aws:token-type:aws4_request' })),
      'invalid_request',
    );
    assert.equal(error(sts({ scope: '' })), 'invalid_request');
    assert.equal(error(sts({ subject_token: jwt(claims({ sub: 'c', aud: 'x' })) })), 'invalid_grant');
  });

  it('reads form fields and the camelCase JSON of the REST reference alike', () => {
    assert.deepEqual(stsFields('application/x-www-form-urlencoded', 'grant_type=g&subject_token=t'), {
      grant_type: 'g',
      subject_token: 't',
    });
    assert.deepEqual(stsFields('application/json', '{"grantType":"g","subjectTokenType":"s"}'), {
      grant_type: 'g',
      subject_token_type: 's',
    });
  });
});

describe('generateAccessToken', () => {
  const path = (email: string) =>
    `/v1/projects/-/serviceAccounts/${encodeURIComponent(email)}:generateAccessToken`;
  const body = JSON.stringify({
    scope: ['https://www.googleapis.com/auth/cloud-platform'],
    lifetime: '3600s',
  });

  it('mints a token for the target, no longer-lived than the configured lifetime', () => {
    const compiled = iam();
    const caller = compiled.tokens.issue(CALLER, 60, NOW);
    const answer = generateAccessToken(compiled, path(A), [`Bearer ${caller.token}`], body, NOW);
    assert.equal(answer.status, 200);
    const { accessToken, expireTime } = answer.body as { accessToken: string; expireTime: string };
    assert.equal(expireTime, new Date(NOW + 1200_000).toISOString().replace('.000Z', 'Z'));
    assert.equal(compiled.tokens.lookup(accessToken, NOW)?.principal, A);
  });

  it("answers Google's errors", () => {
    const compiled = iam();
    const caller = compiled.tokens.issue(CALLER, 60, NOW);
    const auth = [`Bearer ${caller.token}`];
    const status = (answer: { status: number; body: unknown }) => [
      answer.status,
      (answer.body as { error: { status: string } }).error.status,
    ];
    assert.deepEqual(status(generateAccessToken(compiled, path(A), [], body, NOW)), [401, 'UNAUTHENTICATED']);
    assert.deepEqual(status(generateAccessToken(compiled, path(A), ['Bearer x'], body, NOW)), [
      401,
      'UNAUTHENTICATED',
    ]);
    const expired = [`Bearer ${compiled.tokens.issue(CALLER, 60, NOW).token}`];
    assert.deepEqual(status(generateAccessToken(compiled, path(A), expired, body, NOW + 60_000)), [
      401,
      'UNAUTHENTICATED',
    ]);
    const denied = generateAccessToken(compiled, path('nobody@x.iam.gserviceaccount.com'), auth, body, NOW);
    assert.deepEqual(status(denied), [403, 'PERMISSION_DENIED']);
    assert.equal(
      (denied.body as { error: { message: string } }).error.message,
      "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
    );
    assert.deepEqual(status(generateAccessToken(compiled, path(A), auth, '{"lifetime":"60s"}', NOW)), [
      400,
      'INVALID_ARGUMENT',
    ]);
    assert.deepEqual(
      status(generateAccessToken(compiled, path(A), auth, '{"scope":["s"],"lifetime":"1h"}', NOW)),
      [400, 'INVALID_ARGUMENT'],
    );
    assert.deepEqual(
      status(generateAccessToken(compiled, path(A).replace('/-/', '/proj-a/'), auth, body, NOW)),
      [400, 'INVALID_ARGUMENT'],
    );
    assert.deepEqual(status(generateAccessToken(compiled, '/v1/elsewhere', auth, body, NOW)), [
      404,
      'NOT_FOUND',
    ]);
  });
});

describe('identity options', () => {
  it('refuses malformed options with the path of the fault', () => {
    assert.throws(() => compileIam({}), /iam.principals must be an object/);
    assert.throws(() => compileIam({ principals: {}, extra: 1 }), /iam.extra is not an option/);
    assert.throws(() => compileIam({ principals: { a: { projects: 'p' } } }), /projects must be a list/);
    assert.throws(() => compileIam({ principals: { a: { owner: true } } }), /owner is not a right/);
    assert.throws(() => compileIam({ principals: {}, tokenLifetimeSeconds: 0 }), /positive integer/);
    assert.throws(
      () => compileIam({ principals: {}, federation: [{ audience: 'x', publicKeys: [pem(ec.publicKey)] }] }),
      /federation\[0\]\.audience must be/,
    );
    assert.throws(
      () => compileIam({ principals: {}, federation: [{ audience: AUDIENCE, publicKeys: [] }] }),
      /at least one PEM key/,
    );
  });
});
