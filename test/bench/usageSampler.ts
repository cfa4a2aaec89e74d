// Samples the controller processes' resident memory and CPU time while the bench runs, keeping the peak.
import { performance } from 'node:perf_hooks';
import { usageOf } from '../support/controllerProcess.js';

export interface UsageFigures {
  /** Summed over the controller processes. */
  rssMb: number;
  peakRssMb: number;
  cpuSeconds: number;
  /** CPU time spent since start(): the load's, without the process's own start-up. */
  cpuSecondsDuringLoad: number;
  /** Most CPU cores busy over one sampling period. */
  peakCpuCores: number;
}

export class UsageSampler {
  private peak = 0;
  private peakCores = 0;
  private last: { at: number; cpu: number } | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly pids: () => number[]) {}

  private cpuAtStart = 0;

  start(everyMs = 250): void {
    this.cpuAtStart = this.sample().cpuSeconds;
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  private sample(): UsageFigures {
    let rss = 0;
    let cpu = 0;
    let hwm = 0;
    for (const pid of this.pids()) {
      // A process that has just ended has no /proc entry: the bench reports its end, not this.
      let u;
      try {
        u = usageOf(pid);
      } catch {
        continue;
      }
      rss += u.rssBytes;
      cpu += u.cpuSeconds;
      hwm += u.peakRssBytes;
    }
    this.peak = Math.max(this.peak, rss, hwm);
    const at = performance.now();
    if (this.last && at > this.last.at) {
      this.peakCores = Math.max(this.peakCores, (cpu - this.last.cpu) / ((at - this.last.at) / 1000));
    }
    this.last = { at, cpu };
    return {
      rssMb: rss / 2 ** 20,
      peakRssMb: this.peak / 2 ** 20,
      cpuSeconds: cpu,
      cpuSecondsDuringLoad: cpu - this.cpuAtStart,
      peakCpuCores: this.peakCores,
    };
  }

  stop(): UsageFigures {
    clearInterval(this.timer);
    return this.sample();
  }
}
