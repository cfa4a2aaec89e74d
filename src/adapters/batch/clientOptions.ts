// How the Batch client is built: against a local emulator (plain gRPC, no Google credentials) when
// BATCH_EMULATOR_HOST is given, else over TLS with Google credentials (Application Default Credentials, or
// the auth client given, e.g. an impersonated service account) against Google or the endpoint given.
import { createRequire } from 'node:module';
import type { BatchServiceClient } from '@google-cloud/batch';

export type ClientOptions = NonNullable<ConstructorParameters<typeof BatchServiceClient>[0]>;

export interface EmulatorAddress {
  host: string;
  port: number;
}

/** Parses `host:port`, `[::1]:port` or `http://host:port` (the forms people put into BATCH_EMULATOR_HOST). */
export function parseEmulatorHost(value: string): EmulatorAddress {
  const text = value
    .trim()
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/+$/, '');
  const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (!match || !match[1] || port < 1 || port > 65535) {
    throw new Error(`BATCH_EMULATOR_HOST must be host:port, got ${JSON.stringify(value)}`);
  }
  return { host: match[1].replace(/^\[(.*)\]$/, '$1'), port };
}

interface GrpcCredentials {
  credentials: { createInsecure(): unknown };
}

/** The @grpc/grpc-js instance google-gax (as loaded by @google-cloud/batch) uses: credentials made by another
 * copy of grpc-js are not recognised by its channel. */
function gaxGrpc(): GrpcCredentials {
  const fromHere = createRequire(import.meta.url);
  const fromBatch = createRequire(fromHere.resolve('@google-cloud/batch'));
  const fromGax = createRequire(fromBatch.resolve('google-gax'));
  return fromGax('@grpc/grpc-js') as GrpcCredentials;
}

export interface ClientSettings {
  projectId?: string;
  emulatorHost?: string;
  /** `host[:port]` of the Batch API over TLS (a private endpoint, or a TLS emulator); default Google's. */
  endpoint?: string;
  /** The credentials every call carries; default Application Default Credentials. */
  authClient?: ClientOptions['authClient'];
}

/** Splits `host[:port]` (port 443 when absent). */
export function parseEndpoint(value: string): EmulatorAddress {
  const text = value
    .trim()
    .replace(/^https?:\/\//i, '')
    .replace(/\/+$/, '');
  return /:\d{1,5}$/.test(text)
    ? parseEmulatorHost(text)
    : { host: text.replace(/^\[(.*)\]$/, '$1'), port: 443 };
}

export function clientOptions(opts: ClientSettings): ClientOptions {
  const base: ClientOptions = {
    ...(opts.projectId ? { projectId: opts.projectId } : {}),
    ...(opts.authClient ? { authClient: opts.authClient } : {}),
  };
  if (!opts.emulatorHost) {
    if (!opts.endpoint) return base;
    const { host, port } = parseEndpoint(opts.endpoint);
    return { ...base, apiEndpoint: host, port };
  }
  const { host, port } = parseEmulatorHost(opts.emulatorHost);
  return {
    // Plain gRPC carries no credentials: an auth client given is not used.
    ...(opts.projectId ? { projectId: opts.projectId } : {}),
    // A project ID keeps the auth library from asking a metadata server for one.
    projectId: opts.projectId ?? 'emulator',
    // Named explicitly, else the auth library looks for credentials (and a metadata server) to learn it.
    universeDomain: 'googleapis.com',
    apiEndpoint: host,
    port,
    sslCreds: gaxGrpc().credentials.createInsecure() as ClientOptions['sslCreds'],
  };
}
