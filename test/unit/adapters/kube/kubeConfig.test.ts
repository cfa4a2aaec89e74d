// One undici dispatcher (one pool of TLS connections) per TLS identity, instead of one per request.
import { it } from 'vitest';
import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import { reuseConnections } from '../../../../src/adapters/kube/kubeConfig.js';

function config(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', caData: Buffer.from('ca').toString('base64') }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

type Create = (cluster: unknown, options: Record<string, unknown>) => unknown;

it('reuses the dispatcher while the TLS material is the same, and makes a new one when it changes', () => {
  const kc = config();
  const create = (kc as unknown as { createDispatcher: Create }).createDispatcher.bind(kc);
  const cluster = kc.getCurrentCluster();
  assert.notEqual(
    create(cluster, { ca: 'ca' }),
    create(cluster, { ca: 'ca' }),
    'client-node alone: one per call',
  );

  reuseConnections(kc);
  const shared = (kc as unknown as { createDispatcher: Create }).createDispatcher;
  const first = shared(cluster, { ca: Buffer.from('ca') });
  assert.ok(first);
  assert.equal(shared(cluster, { ca: Buffer.from('ca') }), first);
  assert.notEqual(shared(cluster, { ca: Buffer.from('ca'), cert: 'rotated', key: 'k' }), first);
});
