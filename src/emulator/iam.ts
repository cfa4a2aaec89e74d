// Google's caller identity, as far as Batch and the credentials a client gets for it need it: subject tokens
// of workload identity federation (JWTs checked against configured public keys), opaque access tokens held in
// memory, and the few IAM rights a Batch caller needs (roles/batch.jobsEditor on a project,
// iam.serviceAccounts.actAs on the job's VM service account, Token Creator on the accounts it mints tokens for),
// and reading the jobs' task logs (logging.logEntries.list on a project).
// docs/batch-fidelity.md, "Caller identity", gives the public source of each answer and wording.
import { createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import type { Job } from '../api/batch.js';
import { ApiError } from './apiError.js';

export interface FederationProvider {
  /** `//iam.googleapis.com/${pool}/providers/${provider}`, as the client sends it to the token endpoint. */
  audience: string;
  /** When set, the subject token's `aud` claim must contain it. */
  subjectAudience?: string;
  /** PEM public keys (EC P-256 for ES256, RSA for RS256); any one of them may have signed the token. */
  publicKeys: string[];
}

export interface IamOptions {
  /** Workload identity federation: a subject token (a JWT, ES256 or RS256) whose signature one of
   * `publicKeys` (PEM) verifies, whose `aud` claim contains `subjectAudience` (if set) and which has not
   * expired, is exchanged at POST /v1/token for a federated access token of principal
   * `principal://iam.googleapis.com/${pool}/subject/${sub}`, where `audience` (as sent by the client) is
   * `//iam.googleapis.com/${pool}/providers/${provider}`. */
  federation?: FederationProvider[];
  /** What each principal may do. A principal is a service account email or a federated principal string. */
  principals: Record<string, PrincipalRights>;
  /** Access token lifetime in seconds (default 3600). */
  tokenLifetimeSeconds?: number;
}

export interface PrincipalRights {
  /** Projects in which it may call the Batch API (create, get, list, cancel, delete jobs, list/get tasks,
   * operations): roles/batch.jobsEditor there. */
  projects?: string[];
  /** Service accounts that jobs it creates may run as (iam.serviceAccounts.actAs, i.e.
   * roles/iam.serviceAccountUser on them). */
  actAs?: string[];
  /** Service accounts it may mint access tokens for (roles/iam.serviceAccountTokenCreator on them). */
  tokenCreatorOn?: string[];
  /** Projects whose Cloud Logging entries it may read (`logging.logEntries.list`, as roles/logging.viewer
   * holds): ListLogEntries and TailLogEntries there. Batch rights do not include it. */
  logProjects?: string[];
}

/** The emulator has no project numbers of its own; every project's default Compute Engine service account
 * (`PROJECT_NUMBER-compute@developer.gserviceaccount.com`) is named with this one. */
export const EMULATOR_PROJECT_NUMBER = '123456789012';
export const DEFAULT_COMPUTE_SERVICE_ACCOUNT = `${EMULATOR_PROJECT_NUMBER}-compute@developer.gserviceaccount.com`;

export const DEFAULT_TOKEN_LIFETIME_SECONDS = 3600;

const HELP = 'See https://developers.google.com/identity/sign-in/web/devconsole-project.';
const EXPECTED = 'Expected OAuth 2 access token, login cookie or other valid authentication credential.';
/** No credential at all. */
export const MISSING_CREDENTIAL = `Request is missing required authentication credential. ${EXPECTED} ${HELP}`;
/** A credential that is not a live token this emulator issued. */
export const INVALID_CREDENTIALS = `Request had invalid authentication credentials. ${EXPECTED} ${HELP}`;

const PROVIDER_AUDIENCE =
  /^\/\/iam\.googleapis\.com\/((?:projects\/[^/]+\/)?locations\/[^/]+\/(?:workloadIdentityPools|workforcePools)\/[^/]+)\/providers\/[^/]+$/;

/** The pool of a provider's full resource name, or undefined when `audience` is not one. */
export function poolOf(audience: string): string | undefined {
  return PROVIDER_AUDIENCE.exec(audience)?.[1];
}

export function federatedPrincipal(pool: string, subject: string): string {
  return `principal://iam.googleapis.com/${pool}/subject/${subject}`;
}

// ---------------------------------------------------------------------------------------------------------
// Subject tokens

export class JwtError extends Error {}

export interface JwtClaims {
  sub: string;
  exp: number;
  aud?: string | string[];
  [claim: string]: unknown;
}

const ALGORITHMS: Record<string, (key: KeyObject) => boolean> = {
  ES256: (key) => key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1',
  RS256: (key) => key.asymmetricKeyType === 'rsa',
};

const BASE64URL = /^[A-Za-z0-9_-]+$/;

function decodePart(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new JwtError(`the token's ${what} is not base64url-encoded JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new JwtError(`the token's ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

/** Parses PEM public keys and refuses any that can verify neither ES256 nor RS256. */
export function loadPublicKeys(pems: readonly string[], path: string): KeyObject[] {
  return pems.map((pem, i) => {
    let key: KeyObject;
    try {
      key = createPublicKey(pem);
    } catch (err) {
      throw new Error(`${path}[${i}] is not a PEM public key: ${String(err)}`, { cause: err });
    }
    if (!Object.values(ALGORITHMS).some((fits) => fits(key)))
      throw new Error(`${path}[${i}] must be an EC P-256 (ES256) or RSA (RS256) public key`);
    return key;
  });
}

/** The claims of a compact JWS signed with ES256 or RS256 by one of `keys`, when its `aud` names `audience`
 * (if given) and it has not expired; otherwise a JwtError saying why. */
export function verifyJwt(
  token: string,
  keys: readonly KeyObject[],
  opts: { audience?: string; now?: number } = {},
): JwtClaims {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => BASE64URL.test(p)))
    throw new JwtError('the token is not a JWT (three base64url parts separated by dots)');
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = decodePart(headerPart, 'header');
  const claims = decodePart(payloadPart, 'payload');
  const alg = typeof header.alg === 'string' ? header.alg : '';
  const fits = ALGORITHMS[alg];
  if (!fits) throw new JwtError(`the token's algorithm ${JSON.stringify(header.alg)} is not ES256 or RS256`);
  const signature = Buffer.from(signaturePart, 'base64url');
  const signed = Buffer.from(`${headerPart}.${payloadPart}`);
  // A JWS ES256 signature is r||s (RFC 7518 3.4), not DER.
  const good = keys.some(
    (key) =>
      fits(key) &&
      (alg === 'ES256'
        ? signature.length === 64 && verify('sha256', signed, { key, dsaEncoding: 'ieee-p1363' }, signature)
        : verify('sha256', signed, key, signature)),
  );
  if (!good) throw new JwtError('the token signature is invalid');
  const now = opts.now ?? Date.now();
  if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp))
    throw new JwtError('the token has no exp claim');
  if (now >= claims.exp * 1000) throw new JwtError(`the token expired at ${isoSeconds(claims.exp * 1000)}`);
  if (typeof claims.nbf === 'number' && now < claims.nbf * 1000)
    throw new JwtError(`the token is not valid before ${isoSeconds(claims.nbf * 1000)}`);
  if (typeof claims.sub !== 'string' || claims.sub === '') throw new JwtError('the token has no sub claim');
  if (opts.audience !== undefined) {
    const aud = claims.aud;
    const audiences = Array.isArray(aud) ? aud : typeof aud === 'string' ? [aud] : [];
    if (!audiences.includes(opts.audience))
      throw new JwtError(
        `the audience in the token ${JSON.stringify(aud ?? null)} does not match the expected audience ${JSON.stringify(opts.audience)}`,
      );
  }
  return claims as JwtClaims;
}

/** RFC 3339 in whole seconds, as Google writes expireTime. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// ---------------------------------------------------------------------------------------------------------
// Access tokens

export interface IssuedToken {
  token: string;
  principal: string;
  expiresAt: number;
}

/** Opaque bearer tokens, in memory only: a restarted emulator knows none of them. */
export class TokenStore {
  private readonly tokens = new Map<string, IssuedToken>();

  issue(principal: string, lifetimeSeconds: number, now = Date.now()): IssuedToken {
    if (this.tokens.size > 10_000) this.purge(now);
    const issued = {
      token: `ya29.emulator.${randomBytes(32).toString('base64url')}`,
      principal,
      expiresAt: now + lifetimeSeconds * 1000,
    };
    this.tokens.set(issued.token, issued);
    return issued;
  }

  /** The live token, or undefined for an unknown or expired one. */
  lookup(token: string, now = Date.now()): IssuedToken | undefined {
    const issued = this.tokens.get(token);
    if (!issued) return undefined;
    if (now >= issued.expiresAt) {
      this.tokens.delete(token);
      return undefined;
    }
    return issued;
  }

  private purge(now: number): void {
    for (const [token, issued] of this.tokens) if (now >= issued.expiresAt) this.tokens.delete(token);
  }
}

/** The token of an `authorization` header or metadata value: undefined when there is none, null when it is
 * not a bearer credential. */
export function bearerToken(values: readonly string[]): string | undefined | null {
  const value = values[0];
  if (value === undefined || value.trim() === '') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(value);
  return match ? match[1]! : null;
}

// ---------------------------------------------------------------------------------------------------------
// Rights

/** Where a chain of token-minting hops breaks: `from` may not mint tokens for `to`. */
export interface BrokenLink {
  from: string;
  to: string;
}

export class IamPolicy {
  constructor(private readonly principals: Readonly<Record<string, PrincipalRights>>) {}

  known(principal: string): boolean {
    return Object.hasOwn(this.principals, principal);
  }

  mayUseBatch(principal: string, project: string): boolean {
    return this.rights(principal).projects?.includes(project) ?? false;
  }

  mayReadLogs(principal: string, project: string): boolean {
    return this.rights(principal).logProjects?.includes(project) ?? false;
  }

  /** Acting as an account needs the right on it even for the account itself. */
  mayActAs(principal: string, serviceAccount: string): boolean {
    return this.rights(principal).actAs?.includes(serviceAccount) ?? false;
  }

  mayMintFor(principal: string, serviceAccount: string): boolean {
    return (
      this.known(serviceAccount) && (this.rights(principal).tokenCreatorOn?.includes(serviceAccount) ?? false)
    );
  }

  /** generateAccessToken's chain: the caller holds Token Creator on the first delegate (or the target when
   * there are none), each delegate on the next, the last on the target. Undefined when every hop holds. */
  brokenLink(caller: string, delegates: readonly string[], target: string): BrokenLink | undefined {
    const chain = [caller, ...delegates, target];
    for (let i = 0; i + 1 < chain.length; i++) {
      const from = chain[i]!;
      const to = chain[i + 1]!;
      if (!this.mayMintFor(from, to)) return { from, to };
    }
    return undefined;
  }

  private rights(principal: string): PrincipalRights {
    return Object.hasOwn(this.principals, principal) ? this.principals[principal]! : {};
  }
}

// ---------------------------------------------------------------------------------------------------------
// The Batch API's checks

type Request = Record<string, unknown>;

const str = (value: unknown): string => (typeof value === 'string' ? value : '');

/** The IAM permission each method needs and the resource it names (roles/batch.jobsEditor holds them all). */
const PERMISSIONS: Record<string, { permission: string; resource: (r: Request) => string }> = {
  CreateJob: { permission: 'batch.jobs.create', resource: (r) => str(r.parent) },
  ListJobs: { permission: 'batch.jobs.list', resource: (r) => str(r.parent) },
  GetJob: { permission: 'batch.jobs.get', resource: (r) => str(r.name) },
  DeleteJob: { permission: 'batch.jobs.delete', resource: (r) => str(r.name) },
  CancelJob: { permission: 'batch.jobs.cancel', resource: (r) => str(r.name) },
  GetTask: { permission: 'batch.tasks.get', resource: (r) => str(r.name) },
  ListTasks: { permission: 'batch.tasks.list', resource: (r) => str(r.parent) },
  GetOperation: { permission: 'batch.operations.get', resource: (r) => str(r.name) },
  WaitOperation: { permission: 'batch.operations.get', resource: (r) => str(r.name) },
  ListOperations: { permission: 'batch.operations.list', resource: (r) => str(r.name) },
  DeleteOperation: { permission: 'batch.operations.delete', resource: (r) => str(r.name) },
  CancelOperation: { permission: 'batch.operations.cancel', resource: (r) => str(r.name) },
};

export function permissionOf(method: string, request: Request): { permission: string; resource: string } {
  const entry = PERMISSIONS[method];
  if (!entry) throw new Error(`no permission is known for ${method}`);
  return { permission: entry.permission, resource: entry.resource(request) };
}

function projectOf(resource: string): string | undefined {
  return /^projects\/([^/]+)(?:\/|$)/.exec(resource)?.[1];
}

export function permissionDenied(permission: string, resource: string): ApiError {
  return new ApiError(status.PERMISSION_DENIED, `Permission '${permission}' denied on '${resource}'`);
}

/** Logging's IAM refusal names the permission but not the resource (genkit-ai/genkit#3577,
 * apache/airflow#25812). */
export function logReadDenied(): ApiError {
  return new ApiError(
    status.PERMISSION_DENIED,
    "Permission 'logging.logEntries.list' denied on resource (or it may not exist).",
  );
}

export function actAsDenied(serviceAccount: string): ApiError {
  return new ApiError(
    status.PERMISSION_DENIED,
    `caller does not have access to act as the specified service account: "${serviceAccount}"`,
  );
}

/** What a Batch or Operations call must pass when identity is on, in this order: authentication, the
 * permission on the resource the request names, and (CreateJob) actAs on the job's VM service account. */
export class BatchGate {
  constructor(
    private readonly policy: IamPolicy,
    private readonly tokens: TokenStore,
  ) {}

  /** The caller's principal, from the `authorization` metadata values. */
  authenticate(authorization: readonly string[], now = Date.now()): string {
    const token = bearerToken(authorization);
    if (token === undefined) throw new ApiError(status.UNAUTHENTICATED, MISSING_CREDENTIAL);
    const issued = token === null ? undefined : this.tokens.lookup(token, now);
    if (!issued) throw new ApiError(status.UNAUTHENTICATED, INVALID_CREDENTIALS);
    return issued.principal;
  }

  /** A resource that names no project is left to the request's own validation, which refuses it. */
  authorize(principal: string, method: string, request: Request): void {
    const { permission, resource } = permissionOf(method, request);
    const project = projectOf(resource);
    if (project !== undefined && !this.policy.mayUseBatch(principal, project))
      throw permissionDenied(permission, resource);
  }

  /** Reading log entries needs `logging.logEntries.list` on every project the request names. */
  authorizeLogRead(principal: string, projects: Iterable<string>): void {
    for (const project of projects) if (!this.policy.mayReadLogs(principal, project)) throw logReadDenied();
  }

  /** The job runs as its allocationPolicy's service account, or the project's default Compute Engine one. */
  authorizeJob(principal: string, job: Job): void {
    const serviceAccount = job.allocationPolicy?.serviceAccount?.email || DEFAULT_COMPUTE_SERVICE_ACCOUNT;
    if (!this.policy.mayActAs(principal, serviceAccount)) throw actAsDenied(serviceAccount);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Configuration

export interface CompiledProvider {
  audience: string;
  pool: string;
  subjectAudience?: string;
  keys: KeyObject[];
}

export interface CompiledIam {
  providers: Map<string, CompiledProvider>;
  policy: IamPolicy;
  tokens: TokenStore;
  tokenLifetimeSeconds: number;
}

function stringList(value: unknown, path: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v !== ''))
    throw new Error(`${path} must be a list of non-empty strings`);
  return value as string[];
}

/** Checks options read from a file or given in code and parses their keys; throws on the first fault. */
export function compileIam(options: unknown): CompiledIam {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw new Error('iam must be an object with `principals`');
  const opts = options as Record<string, unknown>;
  const known = new Set(['federation', 'principals', 'tokenLifetimeSeconds']);
  for (const key of Object.keys(opts)) if (!known.has(key)) throw new Error(`iam.${key} is not an option`);
  const principals = opts.principals;
  if (typeof principals !== 'object' || principals === null || Array.isArray(principals))
    throw new Error('iam.principals must be an object (principal -> rights)');
  const checked: Record<string, PrincipalRights> = {};
  for (const [principal, rights] of Object.entries(principals as Record<string, unknown>)) {
    const path = `iam.principals[${JSON.stringify(principal)}]`;
    if (rights === null || rights === undefined) {
      checked[principal] = {};
      continue;
    }
    if (typeof rights !== 'object' || Array.isArray(rights)) throw new Error(`${path} must be an object`);
    const r = rights as Record<string, unknown>;
    for (const key of Object.keys(r))
      if (!['projects', 'actAs', 'tokenCreatorOn', 'logProjects'].includes(key))
        throw new Error(`${path}.${key} is not a right (projects, actAs, tokenCreatorOn, logProjects)`);
    checked[principal] = {
      projects: stringList(r.projects, `${path}.projects`) ?? [],
      actAs: stringList(r.actAs, `${path}.actAs`) ?? [],
      tokenCreatorOn: stringList(r.tokenCreatorOn, `${path}.tokenCreatorOn`) ?? [],
      logProjects: stringList(r.logProjects, `${path}.logProjects`) ?? [],
    };
  }
  const lifetime = opts.tokenLifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS;
  if (typeof lifetime !== 'number' || !Number.isInteger(lifetime) || lifetime < 1)
    throw new Error('iam.tokenLifetimeSeconds must be a positive integer');
  const federation = opts.federation ?? [];
  if (!Array.isArray(federation)) throw new Error('iam.federation must be a list');
  const providers = new Map<string, CompiledProvider>();
  federation.forEach((entry: unknown, i) => {
    const path = `iam.federation[${i}]`;
    if (typeof entry !== 'object' || entry === null) throw new Error(`${path} must be an object`);
    const f = entry as Record<string, unknown>;
    const audience = str(f.audience);
    const pool = poolOf(audience);
    if (!pool)
      throw new Error(
        `${path}.audience must be //iam.googleapis.com/projects/N/locations/L/workloadIdentityPools/P/providers/X, got ${JSON.stringify(f.audience)}`,
      );
    if (f.subjectAudience !== undefined && typeof f.subjectAudience !== 'string')
      throw new Error(`${path}.subjectAudience must be a string`);
    const pems = stringList(f.publicKeys, `${path}.publicKeys`);
    if (!pems || pems.length === 0) throw new Error(`${path}.publicKeys must list at least one PEM key`);
    if (providers.has(audience)) throw new Error(`${path}.audience ${audience} is listed twice`);
    providers.set(audience, {
      audience,
      pool,
      ...(f.subjectAudience !== undefined ? { subjectAudience: f.subjectAudience } : {}),
      keys: loadPublicKeys(pems, `${path}.publicKeys`),
    });
  });
  return {
    providers,
    policy: new IamPolicy(checked),
    tokens: new TokenStore(),
    tokenLifetimeSeconds: lifetime,
  };
}
