// How the Cloud Logging client is built: against a local emulator (plain gRPC, no Google credentials) when an
// emulator host is given, else over TLS with Google credentials (Application Default Credentials, or the auth
// client given) against Google or the endpoint given. The Batch emulator serves Logging on its own port.
import { createRequire } from 'node:module';
import type { Logging } from '@google-cloud/logging';
import { parseEmulatorHost, parseEndpoint } from '../batch/clientOptions.js';

/** `new Logging(...)`'s options; `sslCreds` is passed through to google-gax's stub, whose options type it is
 * part of, though Logging's own type does not name it. */
export type LoggingOptions = NonNullable<ConstructorParameters<typeof Logging>[0]> & { sslCreds?: unknown };

export interface LoggingClientSettings {
  projectId?: string;
  /** `host:port` of an emulator (LOGGING_EMULATOR_HOST): plain gRPC, no credentials. */
  emulatorHost?: string;
  /** `host[:port]` of the Logging API over TLS (a private endpoint, or a TLS emulator); default Google's. */
  endpoint?: string;
  /** The credentials every call carries; default Application Default Credentials. */
  authClient?: unknown;
}

interface GrpcCredentials {
  credentials: { createInsecure(): unknown };
}

/** The @grpc/grpc-js instance of the google-gax that builds the Logging client's channel (the one
 * @google-cloud/logging-api loads): credentials made by another copy of grpc-js are not recognised by it. */
function loggingGrpc(): GrpcCredentials {
  const fromHere = createRequire(import.meta.url);
  const fromLogging = createRequire(fromHere.resolve('@google-cloud/logging'));
  const fromApi = createRequire(fromLogging.resolve('@google-cloud/logging-api'));
  const fromGax = createRequire(fromApi.resolve('google-gax'));
  return fromGax('@grpc/grpc-js') as GrpcCredentials;
}

function emulatorAddress(value: string): { host: string; port: number } {
  try {
    return parseEmulatorHost(value);
  } catch (err) {
    // The Batch parser's message names the Batch variable.
    throw new Error(`LOGGING_EMULATOR_HOST must be host:port, got ${JSON.stringify(value)}`, { cause: err });
  }
}

export function loggingClientOptions(opts: LoggingClientSettings): LoggingOptions {
  if (!opts.emulatorHost) {
    const base: LoggingOptions = {
      ...(opts.projectId ? { projectId: opts.projectId } : {}),
      ...(opts.authClient ? { authClient: opts.authClient as LoggingOptions['authClient'] } : {}),
    };
    if (!opts.endpoint) return base;
    const { host, port } = parseEndpoint(opts.endpoint);
    return { ...base, apiEndpoint: host, port };
  }
  const { host, port } = emulatorAddress(opts.emulatorHost);
  return {
    // Plain gRPC carries no credentials: an auth client given is not used. A project ID keeps the auth
    // library from asking a metadata server for one.
    projectId: opts.projectId ?? 'emulator',
    // Named explicitly, else the auth library looks for credentials (and a metadata server) to learn it.
    universeDomain: 'googleapis.com',
    apiEndpoint: host,
    port,
    sslCreds: loggingGrpc().credentials.createInsecure(),
  };
}
