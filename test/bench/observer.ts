// Watches the bench's Drmaa2Jobs and notes, by this process's clock, when each was first seen Submitted and
// Finished. A watch that ends is resumed from the last resourceVersion it delivered.
import { performance } from 'node:perf_hooks';
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type Drmaa2Job } from '../../src/api/drmaa2job.js';

export interface Seen {
  submitted?: number;
  finished?: number;
}

export class Observer {
  readonly seen = new Map<string, Seen>();
  private submittedCount = 0;
  private finishedCount = 0;
  private resourceVersion = '';
  private request: { abort(): void } | undefined;
  private stopped = false;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly namespace: string,
  ) {}

  async start(): Promise<void> {
    const watch = new Watch(this.kubeConfig);
    const path = `/apis/${GROUP}/${VERSION}/namespaces/${this.namespace}/${PLURAL}`;
    this.request = await watch.watch(
      path,
      this.resourceVersion
        ? { resourceVersion: this.resourceVersion, allowWatchBookmarks: true }
        : { allowWatchBookmarks: true },
      (_type: string, obj: Drmaa2Job) => this.onEvent(obj),
      () => {
        if (!this.stopped) void this.start();
      },
    );
  }

  private onEvent(job: Drmaa2Job): void {
    this.resourceVersion = job.metadata?.resourceVersion ?? this.resourceVersion;
    const name = job.metadata?.name;
    if (!name || !job.status) return;
    const now = performance.now();
    const entry = this.seen.get(name) ?? {};
    const conditions = job.status.conditions ?? [];
    if (
      entry.submitted === undefined &&
      conditions.some((c) => c.type === 'Submitted' && c.status === 'True')
    ) {
      entry.submitted = now;
      this.submittedCount++;
    }
    if (
      entry.finished === undefined &&
      conditions.some((c) => c.type === 'Finished' && c.status === 'True')
    ) {
      entry.finished = now;
      this.finishedCount++;
      if (entry.submitted === undefined) {
        entry.submitted = now;
        this.submittedCount++;
      }
    }
    this.seen.set(name, entry);
    for (const wake of this.waiters.splice(0)) wake();
  }

  submitted(): number {
    return this.submittedCount;
  }

  finished(): number {
    return this.finishedCount;
  }

  /** Resolves once `count` resources finished, or rejects after `timeoutMs`. */
  async untilFinished(count: number, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.finishedCount < count) {
      const left = deadline - performance.now();
      if (left <= 0)
        throw new Error(`only ${this.finishedCount} of ${count} finished in ${timeoutMs / 1000}s`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1000));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  stop(): void {
    this.stopped = true;
    this.request?.abort();
  }
}
