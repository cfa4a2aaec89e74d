// How the Batch client is built: against a local emulator (plain gRPC, no Google credentials) when
// BATCH_EMULATOR_HOST is given, else against Google with Application Default Credentials.
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

export function clientOptions(opts: { projectId?: string; emulatorHost?: string }): ClientOptions {
  const base: ClientOptions = opts.projectId ? { projectId: opts.projectId } : {};
  if (!opts.emulatorHost) return base;
  const { host, port } = parseEmulatorHost(opts.emulatorHost);
  return {
    ...base,
    // A project ID keeps the auth library from asking a metadata server for one.
    projectId: opts.projectId ?? 'emulator',
    // Named explicitly, else the auth library looks for credentials (and a metadata server) to learn it.
    universeDomain: 'googleapis.com',
    apiEndpoint: host,
    port,
    sslCreds: gaxGrpc().credentials.createInsecure() as ClientOptions['sslCreds'],
  };
}
