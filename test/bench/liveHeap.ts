// Samples each controller's live heap (drmaa2_controller_heap_live_bytes: the V8 heap in use right after its
// latest full collection) while the bench runs: its value before the load, and the highest it reached.
import type { ControllerProcess } from '../support/controllerProcess.js';

const METRIC = /^drmaa2_controller_heap_live_bytes (\S+)$/m;

async function liveOf(c: ControllerProcess): Promise<number> {
  try {
    return Number(METRIC.exec(await c.metrics())?.[1] ?? 0);
  } catch {
    return 0;
  }
}

export class LiveHeapSampler {
  private before = 0;
  private peak = 0;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly controllers: ControllerProcess[]) {}

  async start(everyMs = 1000): Promise<void> {
    this.before = await this.sum();
    this.peak = this.before;
    this.timer = setInterval(() => {
      void this.sum().then((n) => (this.peak = Math.max(this.peak, n)));
    }, everyMs);
  }

  async stop(): Promise<{ before: number; peak: number }> {
    clearInterval(this.timer);
    this.peak = Math.max(this.peak, await this.sum());
    return { before: this.before, peak: this.peak };
  }

  private async sum(): Promise<number> {
    const values = await Promise.all(this.controllers.map(liveOf));
    return values.reduce((a, b) => a + b, 0);
  }
}
