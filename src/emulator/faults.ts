// Faults on demand and Batch's per-region quota model, so that reliability tests can make a client's life
// hard: injected status codes with a probability per method, added latency, and RESOURCE_EXHAUSTED once
// the calls of the last minute exceed the quota.
import { status } from '@grpc/grpc-js';
import { ApiError } from './apiError.js';

export type FaultCode = 'UNAVAILABLE' | 'DEADLINE_EXCEEDED' | 'RESOURCE_EXHAUSTED' | 'INTERNAL';

export interface MethodFault {
  /** Probability 0..1 that a call fails with one of `codes` (chosen uniformly). */
  probability: number;
  codes: FaultCode[];
}

export interface FaultConfig {
  /** By method name (CreateJob, GetJob, ...) or `*` for every method. */
  errors?: Record<string, MethodFault>;
  /** Added latency in milliseconds: fixed, plus a spike of `spikeMs` with probability `spikeProbability`. */
  latencyMs?: number;
  spikeMs?: number;
  spikeProbability?: number;
}

export interface Quota {
  mutationsPerMinute: number;
  readsPerMinute: number;
}

export const BATCH_QUOTA: Quota = { mutationsPerMinute: 6000, readsPerMinute: 15000 };

const MUTATIONS = new Set(['CreateJob', 'DeleteJob', 'CancelJob']);
const WINDOW_MS = 60_000;

export class FaultInjector {
  private config: FaultConfig;
  private quota: Quota | undefined;
  private readonly mutations: number[] = [];
  private readonly reads: number[] = [];

  constructor(
    config: FaultConfig = {},
    quota?: Quota,
    private readonly random: () => number = Math.random,
  ) {
    this.config = config;
    this.quota = quota;
  }

  set(config: FaultConfig): void {
    this.config = config;
  }

  /** A new quota starts with an empty window. */
  setQuota(quota: Quota | undefined): void {
    this.quota = quota;
    this.mutations.length = 0;
    this.reads.length = 0;
  }

  current(): { faults: FaultConfig; quota: Quota | undefined } {
    return { faults: this.config, quota: this.quota };
  }

  /** Waits for the configured latency, then throws the injected or quota error, if any. */
  async before(method: string, now: number): Promise<void> {
    const delay = this.latency();
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    this.checkQuota(method, now);
    const fault = this.config.errors?.[method] ?? this.config.errors?.['*'];
    if (!fault || fault.codes.length === 0 || this.random() >= fault.probability) return;
    const code = fault.codes[Math.floor(this.random() * fault.codes.length)]!;
    throw new ApiError(status[code], `injected fault: ${code} for ${method}`);
  }

  private latency(): number {
    const spike = this.random() < (this.config.spikeProbability ?? 0) ? (this.config.spikeMs ?? 0) : 0;
    return (this.config.latencyMs ?? 0) + spike;
  }

  private checkQuota(method: string, now: number): void {
    if (!this.quota) return;
    const mutation = MUTATIONS.has(method);
    const window = mutation ? this.mutations : this.reads;
    const limit = mutation ? this.quota.mutationsPerMinute : this.quota.readsPerMinute;
    while (window.length > 0 && window[0]! <= now - WINDOW_MS) window.shift();
    if (window.length >= limit) {
      throw new ApiError(
        status.RESOURCE_EXHAUSTED,
        `Quota exceeded for quota metric '${mutation ? 'Job mutation' : 'Job read'} requests' and limit '${limit} per minute'`,
      );
    }
    window.push(now);
  }
}
