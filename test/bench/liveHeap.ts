// Samples each controller's live heap (drmaa2_controller_heap_live_bytes: the V8 heap in use right after its
// latest full collection) while the bench runs: its value before the load, the highest it reached, and, when
// the load arrives over time, how much it grew per resource over the second half of the arrivals (which
// leaves out what the controller loads once, on its first jobs).
import type { ControllerProcess } from '../support/controllerProcess.js';

const METRIC = /^drmaa2_controller_heap_live_bytes (\S+)$/m;

async function liveOf(c: ControllerProcess): Promise<number> {
  try {
    return Number(METRIC.exec(await c.metrics())?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Resources created so far, and how many of them have finished. */
export interface LoadSoFar {
  created(): number;
  finished(): number;
}

interface Sample {
  created: number;
  finished: number;
  live: number;
}

export interface LiveHeapFigures {
  before: number;
  peak: number;
  /** Bytes per resource between half the resources created and all of them, none finished yet; undefined
   * when the run has no such window (all at once, or jobs that end while others still arrive). */
  perJobMarginal?: number;
}

export class LiveHeapSampler {
  private before = 0;
  private peak = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly samples: Sample[] = [];

  constructor(
    private readonly controllers: ControllerProcess[],
    private readonly load?: LoadSoFar,
  ) {}

  async start(everyMs = 1000): Promise<void> {
    this.before = await this.sum();
    this.peak = this.before;
    this.timer = setInterval(() => {
      const created = this.load?.created() ?? 0;
      const finished = this.load?.finished() ?? 0;
      void this.sum().then((live) => {
        this.peak = Math.max(this.peak, live);
        this.samples.push({ created, finished, live });
      });
    }, everyMs);
  }

  async stop(jobs: number): Promise<LiveHeapFigures> {
    clearInterval(this.timer);
    this.peak = Math.max(this.peak, await this.sum());
    const marginal = this.marginal(jobs);
    return {
      before: this.before,
      peak: this.peak,
      ...(marginal !== undefined ? { perJobMarginal: marginal } : {}),
    };
  }

  private marginal(jobs: number): number | undefined {
    const half = this.samples.find((s) => s.created >= jobs / 2 && s.finished === 0);
    const all = this.samples.filter((s) => s.created >= jobs && s.finished === 0);
    if (!half || all.length === 0 || half.created >= jobs) return undefined;
    const top = Math.max(...all.map((s) => s.live));
    return Math.max(0, top - half.live) / (jobs - half.created);
  }

  private async sum(): Promise<number> {
    const values = await Promise.all(this.controllers.map(liveOf));
    return values.reduce((a, b) => a + b, 0);
  }
}
