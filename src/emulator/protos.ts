// The Batch service definitions, loaded at run time from the protos @google-cloud/batch ships (and the
// google/longrunning, google/rpc, google/api protos google-gax ships), so the emulator serves exactly the
// messages the client speaks.
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
