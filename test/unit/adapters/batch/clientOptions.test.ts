import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { clientOptions, parseEmulatorHost } from '../../../../src/adapters/batch/clientOptions.js';

describe('BATCH_EMULATOR_HOST', () => {
  it('accepts host:port, [v6]:port and a scheme prefix', () => {
    assert.deepEqual(parseEmulatorHost('127.0.0.1:8085'), { host: '127.0.0.1', port: 8085 });
    assert.deepEqual(parseEmulatorHost('[::1]:9000'), { host: '::1', port: 9000 });
    assert.deepEqual(parseEmulatorHost('http://localhost:7000/'), { host: 'localhost', port: 7000 });
  });

  it('rejects values without a usable port', () => {
    for (const bad of ['127.0.0.1', ':80', 'host:0', 'host:70000', '']) {
      assert.throws(() => parseEmulatorHost(bad), /host:port/, bad);
    }
  });

  it('builds insecure gRPC options with a project ID for an emulator', () => {
    const opts = clientOptions({ emulatorHost: '127.0.0.1:8085' });
    assert.equal(opts.apiEndpoint, '127.0.0.1');
    assert.equal(opts.port, 8085);
    assert.equal(opts.projectId, 'emulator');
    assert.equal(opts.sslCreds?._isSecure(), false);
  });

  it('leaves endpoint and credentials to the library without an emulator', () => {
    assert.deepEqual(clientOptions({ projectId: 'p' }), { projectId: 'p' });
    assert.deepEqual(clientOptions({}), {});
  });
});
