// The stale-write guard. The informer's copy of a resource can lag behind a write this process just made
// (its watch event is still on the way); a pass over such a copy would compute from an old status and its
// write would only meet a conflict, so the pass waits for the watch instead.
import { keyOf, type Drmaa2Job } from '../api/drmaa2job.js';

export class OwnWrites {
  /** Per key, the resourceVersions this process's own writes replaced. */
  private readonly superseded = new Map<string, Set<string>>();

  /** Records a write that turned `before` into `after`. */
  wrote(before: Drmaa2Job, after: Drmaa2Job): void {
    const previous = before.metadata.resourceVersion;
    if (!previous || previous === after.metadata.resourceVersion) return;
    const key = keyOf(before);
    const versions = this.superseded.get(key) ?? new Set<string>();
    versions.add(previous);
    this.superseded.set(key, versions);
  }

  /** Whether this copy is older than this process's last write of the resource. */
  isBehind(resource: Drmaa2Job): boolean {
    const key = keyOf(resource);
    const versions = this.superseded.get(key);
    if (!versions) return false;
    if (versions.has(resource.metadata.resourceVersion ?? '')) return true;
    // The cache caught up (or moved on past another writer): the versions replaced are history.
    this.superseded.delete(key);
    return false;
  }

  forget(key: string): void {
    this.superseded.delete(key);
  }
}
