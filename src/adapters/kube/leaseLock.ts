import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { LeaseLock, LeaseRecord } from '../../ports/leaseLock.js';
import { toKubeError } from './errors.js';

function toRecord(lease: V1Lease): LeaseRecord {
  const spec = lease.spec ?? {};
  const iso = (t: Date | undefined) => (t ? new Date(t).toISOString() : undefined);
  return {
    ...(spec.holderIdentity ? { holderIdentity: spec.holderIdentity } : {}),
    ...(spec.leaseDurationSeconds !== undefined ? { leaseDurationSeconds: spec.leaseDurationSeconds } : {}),
    ...(spec.acquireTime ? { acquireTime: iso(spec.acquireTime)! } : {}),
    ...(spec.renewTime ? { renewTime: iso(spec.renewTime)! } : {}),
    ...(spec.leaseTransitions !== undefined ? { leaseTransitions: spec.leaseTransitions } : {}),
    ...(lease.metadata?.resourceVersion ? { resourceVersion: lease.metadata.resourceVersion } : {}),
  };
}

/** Lease times must be MicroTime (six fractional digits); a plain Date does not match the server's layout. */
function micro(t: string | undefined): V1MicroTime | undefined {
  return t ? new V1MicroTime(Date.parse(t)) : undefined;
}

export class KubeLeaseLock implements LeaseLock {
  private readonly api: CoordinationV1Api;

  constructor(
    kubeConfig: KubeConfig,
    private readonly namespace: string,
    private readonly name: string,
  ) {
    this.api = kubeConfig.makeApiClient(CoordinationV1Api);
  }

  private body(record: LeaseRecord): V1Lease {
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.name,
        namespace: this.namespace,
        ...(record.resourceVersion ? { resourceVersion: record.resourceVersion } : {}),
      },
      spec: {
        holderIdentity: record.holderIdentity ?? '',
        ...(record.leaseDurationSeconds !== undefined
          ? { leaseDurationSeconds: record.leaseDurationSeconds }
          : {}),
        ...(record.acquireTime ? { acquireTime: micro(record.acquireTime)! } : {}),
        ...(record.renewTime ? { renewTime: micro(record.renewTime)! } : {}),
        ...(record.leaseTransitions !== undefined ? { leaseTransitions: record.leaseTransitions } : {}),
      },
    };
  }

  async get(): Promise<LeaseRecord | undefined> {
    try {
      return toRecord(await this.api.readNamespacedLease({ name: this.name, namespace: this.namespace }));
    } catch (err) {
      const error = toKubeError(err);
      if (error.kind === 'NotFound') return undefined;
      throw error;
    }
  }

  async create(record: LeaseRecord): Promise<LeaseRecord> {
    try {
      return toRecord(
        await this.api.createNamespacedLease({ namespace: this.namespace, body: this.body(record) }),
      );
    } catch (err) {
      throw toKubeError(err);
    }
  }

  async update(record: LeaseRecord): Promise<LeaseRecord> {
    try {
      return toRecord(
        await this.api.replaceNamespacedLease({
          name: this.name,
          namespace: this.namespace,
          body: this.body(record),
        }),
      );
    } catch (err) {
      throw toKubeError(err);
    }
  }

  describe(): string {
    return `${this.namespace}/${this.name}`;
  }
}
