// The Batch and Cloud Logging service definitions, loaded at run time from the protos @google-cloud/batch and
// @google-cloud/logging-api ship (and the google/longrunning, google/rpc, google/api protos google-gax ships),
// so the emulator serves exactly the messages the clients speak.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

function protoDirs(): string[] {
  const require = createRequire(import.meta.url);
  const batchMain = require.resolve('@google-cloud/batch');
  const batchRoot = join(dirname(require.resolve('@google-cloud/batch/package.json')), 'build', 'protos');
  // google-gax's main is build/src/index.js; its protos sit beside in build/protos.
  const gaxRoot = join(dirname(createRequire(batchMain).resolve('google-gax')), '..', 'protos');
  return [batchRoot, gaxRoot];
}

/** @google-cloud/logging's generated client lives in @google-cloud/logging-api; its protos, and those of
 * the google-gax that package loads, are the ones the Logging client speaks. */
function loggingProtoDirs(): string[] {
  const require = createRequire(import.meta.url);
  const loggingApi = createRequire(require.resolve('@google-cloud/logging')).resolve(
    '@google-cloud/logging-api',
  );
  const apiRoot = join(
    dirname(createRequire(loggingApi).resolve('@google-cloud/logging-api/package.json')),
    'build',
    'protos',
  );
  const gaxRoot = join(dirname(createRequire(loggingApi).resolve('google-gax')), '..', 'protos');
  return [apiRoot, gaxRoot];
}

export interface BatchServices {
  batch: grpc.ServiceDefinition;
  operations: grpc.ServiceDefinition;
}

export function loadServices(): BatchServices {
  const definition = protoLoader.loadSync(
    ['google/cloud/batch/v1/batch.proto', 'google/longrunning/operations.proto'],
    { includeDirs: protoDirs(), keepCase: false, longs: String, enums: String, defaults: true, oneofs: true },
  );
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    google: {
      cloud: { batch: { v1: { BatchService: { service: grpc.ServiceDefinition } } } };
      longrunning: { Operations: { service: grpc.ServiceDefinition } };
    };
  };
  return {
    batch: loaded.google.cloud.batch.v1.BatchService.service,
    operations: loaded.google.longrunning.Operations.service,
  };
}

export function loadLoggingService(): grpc.ServiceDefinition {
  const definition = protoLoader.loadSync(['google/logging/v2/logging.proto'], {
    includeDirs: loggingProtoDirs(),
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    google: { logging: { v2: { LoggingServiceV2: { service: grpc.ServiceDefinition } } } };
  };
  return loaded.google.logging.v2.LoggingServiceV2.service;
}
