import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { loggingClientOptions } from '../../../../src/adapters/logging/clientOptions.js';

/** The grpc-js that builds the Logging client's channel, reached the way the library reaches it. */
function loggingGrpc(): { ChannelCredentials: abstract new (...args: never[]) => unknown } {
  const fromHere = createRequire(import.meta.url);
  const fromLogging = createRequire(fromHere.resolve('@google-cloud/logging'));
  const fromApi = createRequire(fromLogging.resolve('@google-cloud/logging-api'));
  return createRequire(fromApi.resolve('google-gax'))('@grpc/grpc-js') as never;
}

describe('loggingClientOptions', () => {
  it('builds insecure gRPC options against an emulator, with credentials of the client’s own grpc-js', () => {
    const opts = loggingClientOptions({ emulatorHost: '127.0.0.1:8085' });
    assert.equal(opts.apiEndpoint, '127.0.0.1');
    assert.equal(opts.port, 8085);
    assert.equal(opts.projectId, 'emulator');
    assert.equal(opts.universeDomain, 'googleapis.com');
    const creds = opts.sslCreds as { _isSecure(): boolean };
    assert.equal(creds._isSecure(), false);
    assert.ok(creds instanceof loggingGrpc().ChannelCredentials);
    assert.equal(loggingClientOptions({ emulatorHost: '[::1]:9', projectId: 'p' }).projectId, 'p');
  });

  it('uses no auth client against an emulator', () => {
    const opts = loggingClientOptions({ emulatorHost: 'localhost:1', authClient: { fake: true } });
    assert.equal('authClient' in opts, false);
  });

  it('refuses an emulator host without a port, naming the Logging variable', () => {
    assert.throws(() => loggingClientOptions({ emulatorHost: 'localhost' }), /LOGGING_EMULATOR_HOST/);
  });

  it('goes to Google, or the TLS endpoint given, with the auth client given', () => {
    assert.deepEqual(loggingClientOptions({}), {});
    const authClient = { fake: true };
    assert.deepEqual(loggingClientOptions({ projectId: 'p', authClient }), { projectId: 'p', authClient });
    assert.deepEqual(loggingClientOptions({ endpoint: 'logging.example.com' }), {
      apiEndpoint: 'logging.example.com',
      port: 443,
    });
    assert.deepEqual(loggingClientOptions({ endpoint: 'https://127.0.0.1:8443' }), {
      apiEndpoint: '127.0.0.1',
      port: 8443,
    });
  });
});
