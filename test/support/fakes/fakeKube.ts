// In-memory fakes of the controller's Kubernetes ports: a store of Drmaa2Jobs with resourceVersions that
// answers a stale write with Conflict and applies status writes as merge patches, as the API server does,
// and an event sink that records.
import type { Drmaa2Job, Drmaa2JobStatus } from '../../../src/api/drmaa2job.js';
import { applyMergePatch } from '../../../src/translate/status.js';
import { KubeError } from '../../../src/ports/errors.js';
import type { EventSink, JobEvent } from '../../../src/ports/eventSink.js';
import type { KubeStore } from '../../../src/ports/kubeStore.js';

export class FakeKubeStore implements KubeStore {
  private readonly jobs = new Map<string, Drmaa2Job>();
  private version = 0;
  statusPatches = 0;
  finalizerPatches = 0;
  /** Every status patch body, in order. */
  readonly patches: Drmaa2JobStatus[] = [];

  put(job: Drmaa2Job): Drmaa2Job {
    const stored = structuredClone(job);
    stored.metadata.resourceVersion = String(++this.version);
    stored.metadata.generation ??= 1;
    this.jobs.set(`${job.metadata.namespace}/${job.metadata.name}`, stored);
    return structuredClone(stored);
  }

  /** A spec change as a user makes it: bumps the generation. */
  editSpec(key: string, change: (job: Drmaa2Job) => void): void {
    const job = this.mustGet(key);
    change(job);
    job.metadata.generation = (job.metadata.generation ?? 1) + 1;
    job.metadata.resourceVersion = String(++this.version);
  }

  /** Another writer changed the resource (e.g. a label): its resourceVersion moves on. */
  touch(key: string): void {
    this.mustGet(key).metadata.resourceVersion = String(++this.version);
  }

  markDeleted(key: string, at = '2025-01-01T00:00:00Z'): void {
    const job = this.mustGet(key);
    job.metadata.deletionTimestamp = at;
    job.metadata.resourceVersion = String(++this.version);
  }

  current(key: string): Drmaa2Job | undefined {
    const job = this.jobs.get(key);
    return job ? structuredClone(job) : undefined;
  }

  /** Reads of whole resources, bypassing what a cache would serve. */
  wholeReads = 0;
  /** When set, get() serves copies as the controller's cache does: large template text left out. */
  elide?: (job: Drmaa2Job) => Drmaa2Job;

  async get(namespace: string, name: string): Promise<Drmaa2Job | undefined> {
    const job = this.current(`${namespace}/${name}`);
    return job && this.elide ? this.elide(job) : job;
  }

  async getWhole(namespace: string, name: string): Promise<Drmaa2Job | undefined> {
    this.wholeReads++;
    return this.current(`${namespace}/${name}`);
  }

  private mustGet(key: string): Drmaa2Job {
    const job = this.jobs.get(key);
    if (!job) throw new KubeError('NotFound', `${key} not found`, 404);
    return job;
  }

  private guard(job: Drmaa2Job): Drmaa2Job {
    const stored = this.mustGet(`${job.metadata.namespace}/${job.metadata.name}`);
    if (stored.metadata.resourceVersion !== job.metadata.resourceVersion) {
      throw new KubeError('Conflict', 'the object has been modified', 409);
    }
    return stored;
  }

  async patchStatus(job: Drmaa2Job, status: Drmaa2JobStatus): Promise<Drmaa2Job> {
    const stored = this.guard(job);
    stored.status = applyMergePatch(stored.status ?? {}, status);
    stored.metadata.resourceVersion = String(++this.version);
    this.statusPatches++;
    this.patches.push(structuredClone(status));
    return structuredClone(stored);
  }

  async setFinalizers(job: Drmaa2Job, finalizers: string[]): Promise<Drmaa2Job> {
    const stored = this.guard(job);
    stored.metadata.finalizers = [...finalizers];
    stored.metadata.resourceVersion = String(++this.version);
    this.finalizerPatches++;
    const key = `${job.metadata.namespace}/${job.metadata.name}`;
    if (stored.metadata.deletionTimestamp && finalizers.length === 0) this.jobs.delete(key);
    return structuredClone(stored);
  }
}

export class RecordingEvents implements EventSink {
  readonly events: (JobEvent & { name: string })[] = [];

  emit(job: Drmaa2Job, event: JobEvent): void {
    this.events.push({ ...event, name: job.metadata.name });
  }

  reasons(): string[] {
    return this.events.map((e) => e.reason);
  }
}
