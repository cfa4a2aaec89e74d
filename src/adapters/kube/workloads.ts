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
const FIELD_MANAGER = 'drmaa2-batch-controller';

interface RawWorkload {
  metadata?: { name?: string; ownerReferences?: { uid?: string; controller?: boolean }[] };
  spec?: { active?: boolean };
  status?: {
    conditions?: { type?: string; status?: string; message?: string }[];
    admission?: { podSetAssignments?: { flavors?: Record<string, string> }[] };
  };
}

export function stateOf(raw: RawWorkload): WorkloadState {
  const condition = (type: string) => raw.status?.conditions?.find((c) => c.type === type);
  const reserved = condition('QuotaReserved');
  const flavors = Object.assign(
    {},
    ...(raw.status?.admission?.podSetAssignments ?? []).map((a) => a.flavors ?? {}),
  );
  const owner = raw.metadata?.ownerReferences?.find((o) => o.controller)?.uid;
  return {
    name: raw.metadata?.name ?? '',
    active: raw.spec?.active !== false,
    admitted: condition('Admitted')?.status === 'True',
    finished: condition('Finished')?.status === 'True',
    ...(reserved?.status === 'False' && reserved.message ? { pendingMessage: reserved.message } : {}),
    flavors,
    ...(owner ? { ownerUid: owner } : {}),
  };
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
