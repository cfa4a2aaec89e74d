/** A coordination.k8s.io Lease record, as leader election needs it. Times are RFC 3339 (microseconds). */
export interface LeaseRecord {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
  /** Optimistic lock of the stored object; set by get/create/update. */
  resourceVersion?: string;
}

/** One Lease object. create throws KubeError Conflict when it exists; update when the record is stale. */
export interface LeaseLock {
  get(): Promise<LeaseRecord | undefined>;
  create(record: LeaseRecord): Promise<LeaseRecord>;
  update(record: LeaseRecord): Promise<LeaseRecord>;
  describe(): string;
}
