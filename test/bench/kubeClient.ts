// The bench's own Kubernetes client (admin), counting its requests so they can be told apart from the
// controller's in the API server's totals.
import { CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { reuseConnections } from '../../src/adapters/kube/kubeConfig.js';
import { GROUP, PLURAL, VERSION } from '../../src/api/drmaa2job.js';

export class BenchClient {
  readonly kubeConfig = new KubeConfig();
  readonly api: CustomObjectsApi;
  requests = 0;

  constructor(kubeconfig: string) {
    this.kubeConfig.loadFromFile(kubeconfig);
    // As the controller does: one pool of TLS connections, not a handshake per request.
    reuseConnections(this.kubeConfig);
    this.api = this.kubeConfig.makeApiClient(CustomObjectsApi);
  }

  async create(namespace: string, body: object): Promise<void> {
    this.requests++;
    await this.api.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: PLURAL,
      body,
    });
  }

  async patchStatus(namespace: string, name: string, status: object): Promise<void> {
    this.requests++;
    await this.api.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body: { status } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  /** Deletes every resource of the namespace. The API server gives one deletecollection a minute; tens of
   * thousands take longer, so a call that timed out (504) is repeated until none is left. */
  async deleteAll(namespace: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.requests++;
      try {
        await this.api.deleteCollectionNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: PLURAL,
        });
      } catch (err) {
        if ((err as { code?: number }).code !== 504 || attempt >= 20) throw err;
      }
      const left = (await this.api.listNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        limit: 1,
      })) as { items: unknown[] };
      if (left.items.length === 0) return;
    }
  }
}
