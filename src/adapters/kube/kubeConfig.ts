// Where the controller finds its cluster: an explicit kubeconfig, the in-cluster service account, or the
// default kubeconfig. Never client-node's silent fallback to localhost:8080.
import { createHash } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';

export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else kc.loadFromDefault();
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    throw new Error(
      'no Kubernetes cluster configured: pass --kubeconfig, set KUBECONFIG, or run inside a cluster',
    );
  }
  reuseConnections(kc);
  return kc;
}

type CreateDispatcher = (cluster: unknown, agentOptions: Record<string, unknown>) => unknown;

/** client-node 2.0.1 builds a new undici Agent for every request with TLS options, so every request opens a
 * new TLS connection: profiled, that was most of the controller's CPU and a share of the API server's. The
 * dispatcher is kept and reused while the TLS material stays the same (a rotated client certificate gets a
 * new one). */
export function reuseConnections(kc: KubeConfig): void {
  const target = kc as unknown as { createDispatcher: CreateDispatcher };
  const create = target.createDispatcher.bind(kc);
  let cached: { key: string; dispatcher: unknown } | undefined;
  target.createDispatcher = (cluster, agentOptions) => {
    const { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername } = agentOptions;
    const material = JSON.stringify([
      cluster,
      ca,
      cert,
      key,
      pfx,
      passphrase,
      rejectUnauthorized,
      servername,
    ]);
    const digest = createHash('sha256').update(material).digest('hex');
    if (cached?.key !== digest) cached = { key: digest, dispatcher: create(cluster, agentOptions) };
    return cached.dispatcher;
  };
}
