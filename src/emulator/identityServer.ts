// The two Google endpoints a client's credentials talk to before it can call Batch, served as
// google-auth-library calls them: the Security Token Service's token exchange (POST /v1/token, RFC 8693, what an
// `external_account` credential sends its subject token to) and IAM Credentials' generateAccessToken (POST
// /v1/projects/-/serviceAccounts/{email}:generateAccessToken, what `Impersonated` and
// `service_account_impersonation_url` call). Answers and errors take the shapes those endpoints publish
// (docs/batch-fidelity.md, "Caller identity").
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import {
  INVALID_CREDENTIALS,
  MISSING_CREDENTIAL,
  JwtError,
  bearerToken,
  federatedPrincipal,
  isoSeconds,
  poolOf,
  verifyJwt,
  type CompiledIam,
} from './iam.js';

export interface HttpAnswer {
  status: number;
  body: unknown;
}

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const SUBJECT_TOKEN_TYPES = new Set([
  'urn:ietf:params:oauth:token-type:jwt',
  'urn:ietf:params:oauth:token-type:id_token',
]);
/** IAM Credentials' longest lifetime, reached only where an organization policy allows past one hour. */
const MAX_LIFETIME_SECONDS = 43_200;

const oauthError = (error: string, description: string): HttpAnswer => ({
  status: 400,
  body: { error, error_description: description },
});

const googleError = (code: number, status: string, message: string, details?: unknown[]): HttpAnswer => ({
  status: code,
  body: { error: { code, message, status, ...(details ? { details } : {}) } },
});

/** STS's request fields: form fields as RFC 8693 names them, or the camelCase JSON of the REST reference. */
export function stsFields(contentType: string, body: string): Record<string, string> {
  if (/json/i.test(contentType)) {
    const parsed: unknown = JSON.parse(body || '{}');
    if (typeof parsed !== 'object' || parsed === null) throw new Error('the body is not a JSON object');
    const fields: Record<string, string> = {};
    for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
      if (typeof value === 'string') fields[key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = value;
    }
    return fields;
  }
  return Object.fromEntries(new URLSearchParams(body));
}

/** POST /v1/token. */
export function exchangeToken(
  iam: CompiledIam,
  fields: Record<string, string>,
  now = Date.now(),
): HttpAnswer {
  if (fields.grant_type !== TOKEN_EXCHANGE)
    return oauthError(
      'unsupported_grant_type',
      `Unsupported grant_type ${JSON.stringify(fields.grant_type ?? '')}.`,
    );
  const audience = fields.audience ?? '';
  if (!poolOf(audience))
    return oauthError(
      'invalid_request',
      'Invalid value for "audience". This value should be the full resource name of the Identity Provider. See https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token for the list of possible formats.',
    );
  const provider = iam.providers.get(audience);
  if (!provider)
    return oauthError(
      'invalid_target',
      'The target service indicated by the "audience" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn\'t exist.',
    );
  if (fields.requested_token_type !== ACCESS_TOKEN)
    return oauthError(
      'invalid_request',
      `Invalid value for "requested_token_type": must be ${ACCESS_TOKEN}.`,
    );
  if (!SUBJECT_TOKEN_TYPES.has(fields.subject_token_type ?? ''))
    return oauthError(
      'invalid_request',
      `Invalid value for "subject_token_type": this provider takes ${[...SUBJECT_TOKEN_TYPES].join(' or ')}.`,
    );
  if (!fields.subject_token)
    return oauthError('invalid_request', 'Missing required parameter "subject_token".');
  if (!fields.scope) return oauthError('invalid_request', 'Missing required parameter "scope".');
  let subject: string;
  try {
    const claims = verifyJwt(fields.subject_token, provider.keys, {
      now,
      ...(provider.subjectAudience !== undefined ? { audience: provider.subjectAudience } : {}),
    });
    subject = claims.sub;
  } catch (err) {
    if (err instanceof JwtError) return oauthError('invalid_grant', `Invalid subject token: ${err.message}.`);
    throw err;
  }
  const issued = iam.tokens.issue(federatedPrincipal(provider.pool, subject), iam.tokenLifetimeSeconds, now);
  return {
    status: 200,
    body: {
      access_token: issued.token,
      issued_token_type: ACCESS_TOKEN,
      token_type: 'Bearer',
      expires_in: iam.tokenLifetimeSeconds,
    },
  };
}

const GENERATE_ACCESS_TOKEN = /^\/v1\/projects\/([^/]+)\/serviceAccounts\/([^/:]+):generateAccessToken$/;

/** POST /v1/projects/-/serviceAccounts/{email}:generateAccessToken. */
export function generateAccessToken(
  iam: CompiledIam,
  path: string,
  authorization: readonly string[],
  body: string,
  now = Date.now(),
): HttpAnswer {
  const match = GENERATE_ACCESS_TOKEN.exec(path);
  if (!match) return googleError(404, 'NOT_FOUND', 'Requested entity was not found.');
  const token = bearerToken(authorization);
  if (token === undefined) return googleError(401, 'UNAUTHENTICATED', MISSING_CREDENTIAL);
  const caller = token === null ? undefined : iam.tokens.lookup(token, now);
  if (!caller) return googleError(401, 'UNAUTHENTICATED', INVALID_CREDENTIALS);
  const target = decodeURIComponent(match[2]!);
  if (match[1] !== '-')
    return googleError(
      400,
      'INVALID_ARGUMENT',
      `The project in name must be the wildcard "-", got ${JSON.stringify(decodeURIComponent(match[1]!))}.`,
    );
  let request: { scope?: unknown; delegates?: unknown; lifetime?: unknown };
  try {
    request = JSON.parse(body || '{}') as typeof request;
    if (typeof request !== 'object' || request === null) throw new Error('not an object');
  } catch {
    return googleError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
  }
  const scope = request.scope;
  if (!Array.isArray(scope) || scope.length === 0 || !scope.every((s) => typeof s === 'string'))
    return googleError(400, 'INVALID_ARGUMENT', 'Scope required.');
  const delegates = request.delegates ?? [];
  if (!Array.isArray(delegates) || !delegates.every((d) => typeof d === 'string'))
    return googleError(400, 'INVALID_ARGUMENT', "Invalid value at 'delegates'.");
  const names = delegates.map((d: string) => d.replace(/^projects\/-\/serviceAccounts\//, ''));
  let lifetime = iam.tokenLifetimeSeconds;
  if (request.lifetime !== undefined) {
    const m = typeof request.lifetime === 'string' ? /^(\d+(?:\.\d+)?)s$/.exec(request.lifetime) : null;
    const seconds = m ? Number(m[1]) : NaN;
    if (!(seconds > 0 && seconds <= MAX_LIFETIME_SECONDS))
      return googleError(
        400,
        'INVALID_ARGUMENT',
        `Invalid value at 'lifetime' (${String(request.lifetime)}).`,
      );
    lifetime = Math.min(seconds, iam.tokenLifetimeSeconds);
  }
  if (iam.policy.brokenLink(caller.principal, names, target)) {
    const permission = 'iam.serviceAccounts.getAccessToken';
    return googleError(
      403,
      'PERMISSION_DENIED',
      `Permission '${permission}' denied on resource (or it may not exist).`,
      [
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          reason: 'IAM_PERMISSION_DENIED',
          domain: 'iam.googleapis.com',
          metadata: { permission },
        },
      ],
    );
  }
  const issued = iam.tokens.issue(target, lifetime, now);
  return { status: 200, body: { accessToken: issued.token, expireTime: isoSeconds(issued.expiresAt) } };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > 1 << 20) {
        reject(new Error('body too large'));
        req.destroy();
      }
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

function headerValues(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

async function answer(iam: CompiledIam, req: IncomingMessage): Promise<HttpAnswer> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (req.method !== 'POST') return googleError(404, 'NOT_FOUND', 'Requested entity was not found.');
  const body = await readBody(req);
  if (path === '/v1/token') {
    let fields: Record<string, string>;
    try {
      fields = stsFields(req.headers['content-type'] ?? '', body);
    } catch {
      return oauthError('invalid_request', 'The request body could not be parsed.');
    }
    return exchangeToken(iam, fields);
  }
  return generateAccessToken(iam, path, headerValues(req.headers.authorization), body);
}

/** Serves over TLS when `tls` is given, else plain HTTP; on `host`, `port` 0 picking a free one. */
export async function startIdentityServer(
  iam: CompiledIam,
  host: string,
  port: number,
  tls?: { cert: string; key: string },
): Promise<{ server: Server; url: string }> {
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    answer(iam, req).then(
      ({ status, body }) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
        res.end(JSON.stringify(body));
      },
      (err: unknown) => {
        if (res.headersSent) return res.destroy();
        res.writeHead(500, { 'content-type': 'application/json; charset=UTF-8' });
        res.end(JSON.stringify({ error: { code: 500, message: String(err), status: 'INTERNAL' } }));
      },
    );
  };
  const server = tls
    ? createHttpsServer({ cert: tls.cert, key: tls.key }, handler)
    : createHttpServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return { server, url: `${tls ? 'https' : 'http'}://${shownHost}:${actual}` };
}
