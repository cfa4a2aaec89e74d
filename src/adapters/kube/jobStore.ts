// KubeStore over the informer's cache and the custom objects API: reads from the cache, writes with merge
// patches that carry metadata.resourceVersion, so a stale write fails with 409 instead of overwriting.
import { PatchStrategy, setHeaderOptions, type CustomObjectsApi } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type Drmaa2Job, type Drmaa2JobStatus } from '../../api/drmaa2job.js';
import type { KubeStore } from '../../ports/kubeStore.js';
import type { JobWatch } from '../../ports/jobWatch.js';
import { toKubeError } from './errors.js';

export interface KubeCallObserver {
  (verb: string, code: string): void;
}

export class JobStore implements KubeStore {
  constructor(
    private readonly api: CustomObjectsApi,
    private readonly watch: JobWatch | undefined,
    private readonly observe: KubeCallObserver = () => {},
  ) {}

  async get(namespace: string, name: string): Promise<Drmaa2Job | undefined> {
    if (this.watch?.hasSynced()) return this.watch.get(namespace, name);
    return this.getWhole(namespace, name);
  }

  async getWhole(namespace: string, name: string): Promise<Drmaa2Job | undefined> {
    try {
      const job = (await this.api.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        name,
      })) as Drmaa2Job;
      this.observe('get', '200');
      return job;
    } catch (err) {
      const error = toKubeError(err);
      this.observe('get', String(error.status ?? 'error'));
      if (error.kind === 'NotFound') return undefined;
      throw error;
    }
  }

  private async patch(verb: string, job: Drmaa2Job, body: object, status: boolean): Promise<Drmaa2Job> {
    const request = {
      group: GROUP,
      version: VERSION,
      namespace: job.metadata.namespace,
      plural: PLURAL,
      name: job.metadata.name,
      body,
    };
    const options = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    try {
      const updated = (await (status
        ? this.api.patchNamespacedCustomObjectStatus(request, options)
        : this.api.patchNamespacedCustomObject(request, options))) as Drmaa2Job;
      this.observe(verb, '200');
      return updated;
    } catch (err) {
      const error = toKubeError(err);
      this.observe(verb, String(error.status ?? 'error'));
      throw error;
    }
  }

  patchStatus(job: Drmaa2Job, status: Drmaa2JobStatus): Promise<Drmaa2Job> {
    return this.patch(
      'patchStatus',
      job,
      { metadata: { resourceVersion: job.metadata.resourceVersion }, status },
      true,
    );
  }

  setFinalizers(job: Drmaa2Job, finalizers: string[]): Promise<Drmaa2Job> {
    return this.patch(
      'patchFinalizers',
      job,
      { metadata: { resourceVersion: job.metadata.resourceVersion, finalizers } },
      false,
    );
  }
}
