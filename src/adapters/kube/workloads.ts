// The Workloads port over the custom objects API (kueue.x-k8s.io/v1beta2). The Finished condition is
// written by server-side apply of that one condition: Workload conditions are a list keyed by type, and Kueue
// owns the others, which a merge patch of the list would replace.
import { PatchStrategy, setHeaderOptions, type CustomObjectsApi } from '@kubernetes/client-node';
import type { Workloads, WorkloadState } from '../../ports/workloads.js';
import type { WorkloadObject } from '../../translate/workload.js';
import { toKubeError } from './errors.js';

const GROUP = 'kueue.x-k8s.io';
const VERSION = 'v1beta2';
const PLURAL = 'workloads';
export const WORKLOADS_API = { group: GROUP, version: VERSION, plural: PLURAL } as const;
const FIELD_MANAGER = 'drmaa2-batch-controller';

interface RawCondition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

export interface RawWorkload {
  metadata?: {
    name?: string;
    generation?: number;
    resourceVersion?: string;
    ownerReferences?: { uid?: string; controller?: boolean }[];
  };
  spec?: { active?: boolean; queueName?: string };
  status?: {
    conditions?: RawCondition[];
    admission?: { podSetAssignments?: { flavors?: Record<string, string> }[] };
  };
}

function conditionOf(raw: RawWorkload, type: string): RawCondition | undefined {
  return raw.status?.conditions?.find((c) => c.type === type);
}

/** Kueue's Evicted condition stays True after the owner cleared the reservation, until the next admission:
 * an eviction is still to be acted on only while the quota reservation it takes back stands, and was not
 * made again after it. */
function pendingEviction(raw: RawWorkload): RawCondition | undefined {
  const evicted = conditionOf(raw, 'Evicted');
  const reserved = conditionOf(raw, 'QuotaReserved');
  if (evicted?.status !== 'True' || reserved?.status !== 'True') return undefined;
  const reservedAgain =
    Date.parse(reserved.lastTransitionTime ?? '') > Date.parse(evicted.lastTransitionTime ?? '');
  return reservedAgain ? undefined : evicted;
}

export function stateOf(raw: RawWorkload): WorkloadState {
  const reserved = conditionOf(raw, 'QuotaReserved');
  const flavors = Object.assign(
    {},
    ...(raw.status?.admission?.podSetAssignments ?? []).map((a) => a.flavors ?? {}),
  );
  const owner = raw.metadata?.ownerReferences?.find((o) => o.controller)?.uid;
  const evicted = pendingEviction(raw);
  return {
    name: raw.metadata?.name ?? '',
    ...(raw.spec?.queueName ? { queueName: raw.spec.queueName } : {}),
    active: raw.spec?.active !== false,
    admitted: conditionOf(raw, 'Admitted')?.status === 'True',
    finished: conditionOf(raw, 'Finished')?.status === 'True',
    ...(reserved?.status === 'False' && reserved.message ? { pendingMessage: reserved.message } : {}),
    flavors,
    ...(owner ? { ownerUid: owner } : {}),
    ...(evicted ? { evicted: { reason: evicted.reason ?? 'Evicted', message: evicted.message ?? '' } } : {}),
  };
}

/** Sets a condition as metav1's SetStatusCondition does: its transition time moves only when its status does. */
function setCondition(conditions: RawCondition[], next: RawCondition, now: string): RawCondition[] {
  const old = conditions.find((c) => c.type === next.type);
  const merged = {
    ...next,
    lastTransitionTime:
      old && old.status === next.status && old.lastTransitionTime ? old.lastTransitionTime : now,
  };
  return [...conditions.filter((c) => c.type !== next.type), merged];
}

export class KubeWorkloads implements Workloads {
  constructor(
    private readonly api: CustomObjectsApi,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private ref(namespace: string, name: string) {
    return { group: GROUP, version: VERSION, namespace, plural: PLURAL, name };
  }

  async get(namespace: string, name: string): Promise<WorkloadState | undefined> {
    try {
      return stateOf((await this.api.getNamespacedCustomObject(this.ref(namespace, name))) as RawWorkload);
    } catch (err) {
      const error = toKubeError(err);
      if (error.kind === 'NotFound') return undefined;
      throw error;
    }
  }

  async create(workload: WorkloadObject): Promise<WorkloadState> {
    const { namespace, name } = workload.metadata;
    try {
      const created = await this.api.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        body: workload,
      });
      return stateOf(created as RawWorkload);
    } catch (err) {
      const error = toKubeError(err);
      if (error.kind !== 'Conflict') throw error;
      const existing = await this.get(namespace, name);
      if (!existing) throw error;
      return existing;
    }
  }

  async setActive(namespace: string, name: string, active: boolean): Promise<void> {
    try {
      await this.api.patchNamespacedCustomObject(
        { ...this.ref(namespace, name), body: { spec: { active } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (err) {
      throw toKubeError(err);
    }
  }

  async finish(namespace: string, name: string, succeeded: boolean, message: string): Promise<void> {
    const body = {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'Workload',
      metadata: { name, namespace },
      status: {
        conditions: [
          {
            type: 'Finished',
            status: 'True',
            reason: succeeded ? 'Succeeded' : 'Failed',
            message: message.slice(0, 1024),
            lastTransitionTime: this.now()
              .toISOString()
              .replace(/\.\d+Z$/, 'Z'),
          },
        ],
      },
    };
    try {
      await this.api.patchNamespacedCustomObjectStatus(
        { ...this.ref(namespace, name), body, fieldManager: FIELD_MANAGER, force: true },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      );
    } catch (err) {
      throw toKubeError(err);
    }
  }

  async requeue(
    namespace: string,
    name: string,
    evicted: { reason: string; message: string },
  ): Promise<void> {
    let raw: RawWorkload;
    try {
      raw = (await this.api.getNamespacedCustomObject(this.ref(namespace, name))) as RawWorkload;
    } catch (err) {
      const error = toKubeError(err);
      if (error.kind === 'NotFound') return;
      throw error;
    }
    // Read to decide as well as to write: a caller that saw the eviction a moment ago (or in a cache) may be
    // late; a Workload already requeued, or admitted again since, is left as it is.
    if (!pendingEviction(raw)) return;
    const now = this.now()
      .toISOString()
      .replace(/\.\d+Z$/, 'Z');
    const generation = raw.metadata?.generation;
    const message = evicted.message.slice(0, 32768);
    const at = (c: RawCondition): RawCondition => ({
      ...c,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
    });
    let conditions = raw.status?.conditions ?? [];
    // Requeued is True only after a preemption (or a node failure), as Kueue's own job controllers set it.
    const preempted = evicted.reason === 'Preempted' || evicted.reason === 'NodeFailures';
    conditions = setCondition(
      conditions,
      at({ type: 'Requeued', status: preempted ? 'True' : 'False', reason: evicted.reason, message }),
      now,
    );
    conditions = setCondition(
      conditions,
      at({ type: 'QuotaReserved', status: 'False', reason: 'Pending', message }),
      now,
    );
    conditions = setCondition(
      conditions,
      at({
        type: 'Admitted',
        status: 'False',
        reason: 'NoReservation',
        message: 'The workload has no reservation',
      }),
      now,
    );
    try {
      // A merge patch replaces the list whole; the resourceVersion makes it fail rather than drop a condition
      // Kueue wrote since the read.
      await this.api.patchNamespacedCustomObjectStatus(
        {
          ...this.ref(namespace, name),
          body: {
            metadata: { resourceVersion: raw.metadata?.resourceVersion },
            status: { admission: null, conditions },
          },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (err) {
      throw toKubeError(err);
    }
  }

  async flavorNodeLabels(names: readonly string[]): Promise<Record<string, string>> {
    const labels: Record<string, string> = {};
    for (const name of new Set(names)) {
      const flavor = await this.clusterObject<{ spec?: { nodeLabels?: Record<string, string> } }>(
        'resourceflavors',
        name,
      );
      Object.assign(labels, flavor?.spec?.nodeLabels ?? {});
    }
    return labels;
  }

  async priorityClassValue(name: string): Promise<number | undefined> {
    const priorityClass = await this.clusterObject<{ value?: number }>('workloadpriorityclasses', name);
    return typeof priorityClass?.value === 'number' ? priorityClass.value : undefined;
  }

  /** One of Kueue's cluster-scoped objects; undefined when there is none of that name. */
  private async clusterObject<T>(plural: string, name: string): Promise<T | undefined> {
    try {
      return (await this.api.getClusterCustomObject({ group: GROUP, version: VERSION, plural, name })) as T;
    } catch (err) {
      const error = toKubeError(err);
      if (error.kind === 'NotFound') return undefined;
      throw error;
    }
  }

  async delete(namespace: string, name: string): Promise<void> {
    try {
      await this.api.deleteNamespacedCustomObject({
        ...this.ref(namespace, name),
        propagationPolicy: 'Background',
      });
    } catch (err) {
      const error = toKubeError(err);
      if (error.kind !== 'NotFound') throw error;
    }
  }
}
