// The ProfileSource over two supervised informers: BatchProfiles (cluster-scoped) and Namespaces (for their
// labels, which profiles select on). Both are small (one object per tenant), so they are cached whole.
import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  makeInformer,
  setHeaderOptions,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  type ObjectCache,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { PROFILE_PLURAL, type BatchProfile, type BatchProfileStatus } from '../../api/batchProfile.js';
import { GROUP, VERSION } from '../../api/drmaa2job.js';
import type { ProfileSource } from '../../ports/profileSource.js';
import { toKubeError } from './errors.js';
import { supervise, type Supervision } from './supervise.js';

type Cached = Informer<KubernetesObject> & ObjectCache<KubernetesObject>;

const SYNC_WAIT_MS = 30_000;

export class ProfileInformer implements ProfileSource {
  private readonly profilesInformer: Cached;
  private readonly namespacesInformer: Cached;
  private readonly handlers: (() => void)[] = [];
  private readonly custom: CustomObjectsApi;
  private supervisions: Supervision[] = [];
  /** Each informer's list succeeded at least once: only then is an empty cache "no profiles". */
  private readonly listed = { profiles: false, namespaces: false };

  constructor(
    kubeConfig: KubeConfig,
    private readonly logger: Logger,
  ) {
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    // The informer's start resolves even when its first list failed (it retries on its own): these lists
    // say when a list really succeeded.
    this.profilesInformer = makeInformer(
      kubeConfig,
      `/apis/${GROUP}/${VERSION}/${PROFILE_PLURAL}`,
      async () => {
        const list = await this.custom.listClusterCustomObject({
          group: GROUP,
          version: VERSION,
          plural: PROFILE_PLURAL,
        });
        this.listed.profiles = true;
        return list as never;
      },
    );
    this.namespacesInformer = makeInformer(kubeConfig, '/api/v1/namespaces', async () => {
      const list = await core.listNamespace();
      this.listed.namespaces = true;
      return list as never;
    });
    for (const informer of [this.profilesInformer, this.namespacesInformer]) {
      for (const event of ['add', 'update', 'delete'] as const) informer.on(event, () => this.changed());
    }
  }

  private changed(): void {
    for (const handler of this.handlers) {
      try {
        handler();
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, 'profile change handler failed');
      }
    }
  }

  onChange(handler: () => void): void {
    this.handlers.push(handler);
  }

  async start(): Promise<void> {
    this.supervisions = [
      supervise(this.profilesInformer, {
        logger: this.logger,
        what: 'batchprofiles',
        onRestarted: () => this.changed(),
      }),
      supervise(this.namespacesInformer, {
        logger: this.logger,
        what: 'namespaces',
        onRestarted: () => this.changed(),
      }),
    ];
    await Promise.all([this.profilesInformer.start(), this.namespacesInformer.start()]);
    // Wait a while for both first lists; until they succeed, jobs wait rather than go under no profile.
    for (let waited = 0; !this.hasSynced() && waited < SYNC_WAIT_MS; waited += 200) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    if (!this.hasSynced()) this.logger.warn('BatchProfiles not listed yet; jobs wait for them');
    this.changed();
  }

  stop(): void {
    for (const supervision of this.supervisions) supervision.stop();
    this.supervisions = [];
    void this.profilesInformer.stop();
    void this.namespacesInformer.stop();
  }

  hasSynced(): boolean {
    return this.listed.profiles && this.listed.namespaces;
  }

  profiles(): BatchProfile[] {
    return this.profilesInformer.list() as unknown as BatchProfile[];
  }

  namespaceLabels(namespace: string): Record<string, string> | undefined {
    const found = this.namespacesInformer.get(namespace);
    return found ? { ...(found.metadata?.labels ?? {}) } : undefined;
  }

  async patchStatus(name: string, status: BatchProfileStatus): Promise<void> {
    try {
      await this.custom.patchClusterCustomObjectStatus(
        { group: GROUP, version: VERSION, plural: PROFILE_PLURAL, name, body: { status } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (err) {
      throw toKubeError(err);
    }
  }
}
