// The Workloads port with reads from a watch, as a kubebuilder reconciler that Owns() its Workloads reads
// them: one supervised informer over the Workloads this controller made (the `drmaa2.io/job-uid` label), whose
// every change enqueues the Drmaa2Job that owns it. Kueue's admission, eviction or pending reason then reaches
// the job's reconcile at once, and a job waiting in a LocalQueue costs no API call until something changes.
// Writes go to the API server (as KubeWorkloads makes them); until the first list succeeded, so do reads.
//
// The cache may lag the API server by a moment, never go back in time: a pass that reads it acts on the state
// Kueue had a moment ago at worst, which every write here tolerates (create reads what exists, requeue
// re-reads and checks before it clears, setActive and finish are idempotent).
import {
  makeInformer,
  type CustomObjectsApi,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  type ObjectCache,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { KIND } from '../../api/drmaa2job.js';
import type { Workloads, WorkloadState } from '../../ports/workloads.js';
import { WORKLOAD_JOB_UID_LABEL } from '../../translate/workload.js';
import { KubeWorkloads, stateOf, WORKLOADS_API, type RawWorkload } from './workloads.js';
import { supervise, type Supervision } from './supervise.js';

const SYNC_WAIT_MS = 30_000;

export interface WorkloadInformerOptions {
  kubeConfig: KubeConfig;
  api: CustomObjectsApi;
  /** Only this namespace's Workloads (a controller limited to one namespace). */
  namespace?: string;
  logger: Logger;
}

/** KubeWorkloads with reads from the watch; also a source of keys for the runner (start/stop), as the
 * session poller is. */
export class WorkloadInformer extends KubeWorkloads implements Workloads {
  readonly watched = true;
  private readonly informer: Informer<KubernetesObject> & ObjectCache<KubernetesObject>;
  private readonly logger: Logger;
  private enqueue: ((key: string, urgent: boolean) => void) | undefined;
  private supervision: Supervision | undefined;
  private listed = false;

  constructor(opts: WorkloadInformerOptions) {
    super(opts.api);
    this.logger = opts.logger;
    const { group, version, plural } = WORKLOADS_API;
    const path = opts.namespace
      ? `/apis/${group}/${version}/namespaces/${opts.namespace}/${plural}`
      : `/apis/${group}/${version}/${plural}`;
    this.informer = makeInformer(
      opts.kubeConfig,
      path,
      async () => {
        const request = { group, version, plural, labelSelector: WORKLOAD_JOB_UID_LABEL };
        const list = opts.namespace
          ? await opts.api.listNamespacedCustomObject({ ...request, namespace: opts.namespace })
          : await opts.api.listClusterCustomObject(request);
        this.listed = true;
        return list as never;
      },
      WORKLOAD_JOB_UID_LABEL,
    );
    for (const event of ['add', 'update', 'delete'] as const)
      this.informer.on(event, (obj) => this.changed(obj));
  }

  /** Kueue rewrites a Workload's status as it queues, admits and evicts it; the owner is looked at each time
   * (urgent: an eviction holds quota a higher priority waits for until the Batch job is cancelled). */
  private changed(obj: KubernetesObject): void {
    // The cache holds this very object: what is never read from it goes (the pod set template, field
    // managers), so that a Workload costs about its conditions.
    const raw = obj as KubernetesObject & {
      spec?: { podSets?: unknown; active?: boolean; queueName?: string };
    };
    if (raw.metadata?.managedFields) raw.metadata.managedFields = undefined;
    if (raw.spec?.podSets) raw.spec = { active: raw.spec.active !== false, queueName: raw.spec.queueName };
    const owner = raw.metadata?.ownerReferences?.find((o) => o.controller && o.kind === KIND);
    const namespace = raw.metadata?.namespace;
    if (owner && namespace) this.enqueue?.(`${namespace}/${owner.name}`, true);
  }

  /** The runner's source: from now on, changes enqueue their owners (while this instance leads). */
  start(enqueue: (key: string, urgent: boolean) => void): void {
    this.enqueue = enqueue;
  }

  async stop(): Promise<void> {
    this.enqueue = undefined;
  }

  /** Stops the watch itself, for good. */
  async close(): Promise<void> {
    this.enqueue = undefined;
    this.supervision?.stop();
    this.supervision = undefined;
    await this.informer.stop();
  }

  /** Lists, then watches; waits a while for the first list (until then reads go to the API server). */
  async run(): Promise<void> {
    this.supervision = supervise(this.informer, {
      logger: this.logger,
      what: 'workloads',
      // A restart replays nothing: every owner is looked at again.
      onRestarted: () => {
        for (const obj of this.informer.list()) this.changed(obj);
      },
    });
    await this.informer.start();
    for (let waited = 0; !this.listed && waited < SYNC_WAIT_MS; waited += 200)
      await new Promise((resolve) => setTimeout(resolve, 200));
    if (!this.listed)
      this.logger.warn('Workloads not listed yet; they are read from the API server meanwhile');
  }

  override async get(namespace: string, name: string): Promise<WorkloadState | undefined> {
    if (!this.listed) return super.get(namespace, name);
    const cached = this.informer.get(name, namespace);
    return cached ? stateOf(cached as RawWorkload) : undefined;
  }
}
