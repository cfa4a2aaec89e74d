import { CustomObjectsApi } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { EventSink } from '../../ports/eventSink.js';
import type { JobWatch } from '../../ports/jobWatch.js';
import type { KubeStore } from '../../ports/kubeStore.js';
import { EventRecorder } from './eventRecorder.js';
import { JobInformer } from './jobInformer.js';
import { JobStore, type KubeCallObserver } from './jobStore.js';
import { loadKubeConfig } from './kubeConfig.js';
import { KubeLeaseLock } from './leaseLock.js';
import type { LeaseLock } from '../../ports/leaseLock.js';
import type { ProfileSource } from '../../ports/profileSource.js';
import { ProfileInformer } from './profileInformer.js';
import { WorkloadInformer } from './workloadInformer.js';

export interface KubeAdapters {
  watch: JobWatch;
  store: KubeStore;
  events: EventSink;
  /** BatchProfiles and namespace labels. */
  profiles: ProfileSource;
  leaseLock(namespace: string, name: string): LeaseLock;
  /** Kueue's Workloads (only used, and only run, with `--kueue`). */
  workloads: WorkloadInformer;
}

export interface KubeAdapterOptions {
  kubeconfig?: string;
  namespace?: string;
  labelSelector?: string;
  identity: string;
  logger: Logger;
  resyncPeriodMs?: number;
  observeCall?: KubeCallObserver;
  /** Told of each Event dropped because the Event queue was full. */
  onEventDropped?: () => void;
}

/** One KubeConfig and one set of API clients per process. */
export function createKubeAdapters(opts: KubeAdapterOptions): KubeAdapters {
  const kubeConfig = loadKubeConfig(opts.kubeconfig);
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  const watch = new JobInformer({
    kubeConfig,
    api,
    logger: opts.logger,
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
    ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}),
    ...(opts.resyncPeriodMs ? { resyncPeriodMs: opts.resyncPeriodMs } : {}),
  });
  return {
    watch,
    store: new JobStore(api, watch, opts.observeCall),
    events: new EventRecorder(kubeConfig, opts.identity, opts.logger, opts.onEventDropped),
    profiles: new ProfileInformer(kubeConfig, opts.logger),
    leaseLock: (namespace, name) => new KubeLeaseLock(kubeConfig, namespace, name),
    workloads: new WorkloadInformer({
      kubeConfig,
      api,
      logger: opts.logger,
      ...(opts.namespace ? { namespace: opts.namespace } : {}),
    }),
  };
}
