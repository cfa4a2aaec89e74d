// Faults on demand and Batch's per-region quota model, so that reliability tests can make a client's life
// hard: injected status codes with a probability per method, added latency, RESOURCE_EXHAUSTED once the
// calls of the last minute exceed the quota, and what happens to jobs on Batch's side: Spot preemption and
// the ways a job waits in, or fails from, SCHEDULED (docs/batch-fidelity.md gives each one's source).
import { status } from '@grpc/grpc-js';
import { ApiError } from './apiError.js';

export type FaultCode =
  'UNAVAILABLE' | 'DEADLINE_EXCEEDED' | 'RESOURCE_EXHAUSTED' | 'INTERNAL' | 'PERMISSION_DENIED' | 'NOT_FOUND';

export interface MethodFault {
  /** Probability 0..1 that a call fails with one of `codes` (chosen uniformly). */
  probability: number;
  codes: FaultCode[];
}

/** Which jobs a job fault applies to: all given conditions must hold; none given selects every job. */
export interface JobSelector {
  /** The job ID (last part of its name) starts with this. */
  jobIdPrefix?: string;
  /** `key=value`: the job carries this label. */
  label?: string;
}

/** Preempts the running tasks of Spot jobs (provisioning model SPOT or PREEMPTIBLE): the attempt's
 * processes are killed and it fails with exit code 50001, then is retried only as the job's maxRetryCount
 * and lifecycle policies allow. */
export interface PreemptionFault extends JobSelector {
  /** Preemptions per task; 1 when neither this nor perJob is given. */
  perTask?: number;
  /** Preemptions per job, across its tasks. */
  perJob?: number;
  /** How long an attempt has run before it is preempted; 0 by default. */
  afterMs?: number;
}

/**
 * Why a job waits in SCHEDULED, or fails from there, without running a task:
 * - `stuck`: it stays SCHEDULED for ever with no further event (a VM service account without its roles);
 * - `quota`: CODE_GCE_QUOTA_EXCEEDED events every `intervalMs`, until `events` of them or `waitMs` have
 *   passed, then it runs; with neither bound it waits for ever;
 * - `invalidField`: a CODE_GCE_INVALID_FIELD_VALUE event, then SCHEDULED -> FAILED;
 * - `timeout`: after `waitMs` in SCHEDULED it fails by itself (SCHEDULED_PENDING_FAILED, then FAILED).
 */
export interface SchedulingFault extends JobSelector {
  kind: 'stuck' | 'quota' | 'invalidField' | 'timeout';
  events?: number;
  waitMs?: number;
  /** Between quota events; the emulator's stepMs by default. */
  intervalMs?: number;
  /** Replaces the error text after "description - " (quota, invalidField) or adds a reason (timeout). */
  description?: string;
  /** The `type` of the reason events; OPERATIONAL_INFO by default. */
  eventType?: string;
  /** Whether the job's tasks are listed while it waits: `absent` (default) or `pending`. */
  tasks?: 'absent' | 'pending';
}

export interface FaultConfig {
  /** By method name (CreateJob, GetJob, ...) or `*` for every method. */
  errors?: Record<string, MethodFault>;
  /** Added latency in milliseconds: fixed, plus a spike of `spikeMs` with probability `spikeProbability`. */
  latencyMs?: number;
  spikeMs?: number;
  spikeProbability?: number;
  /** The first one that selects a job and still has preemptions left applies. */
  preemption?: PreemptionFault[];
  /** The first one that selects a job applies, when the job reaches SCHEDULED. */
  scheduling?: SchedulingFault[];
}

const KINDS = new Set(['stuck', 'quota', 'invalidField', 'timeout']);

function nonNegative(value: unknown, path: string): void {
  if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value < 0))
    throw new Error(`${path} must be a non-negative number`);
}

function checkSelector(selector: JobSelector, path: string): void {
  if (selector.jobIdPrefix !== undefined && typeof selector.jobIdPrefix !== 'string')
    throw new Error(`${path}.jobIdPrefix must be a string`);
  if (selector.label !== undefined && (typeof selector.label !== 'string' || !selector.label.includes('=')))
    throw new Error(`${path}.label must be key=value`);
}

/** Throws on a malformed configuration, so that a typo in a test or an admin request is not silently a
 * fault that never fires. */
export function checkFaultConfig(config: FaultConfig): void {
  if (typeof config !== 'object' || config === null) throw new Error('faults must be an object');
  for (const [i, fault] of (config.preemption ?? []).entries()) {
    const path = `preemption[${i}]`;
    checkSelector(fault, path);
    for (const key of ['perTask', 'perJob', 'afterMs'] as const) nonNegative(fault[key], `${path}.${key}`);
  }
  for (const [i, fault] of (config.scheduling ?? []).entries()) {
    const path = `scheduling[${i}]`;
    checkSelector(fault, path);
    if (!KINDS.has(fault.kind)) throw new Error(`${path}.kind must be one of ${[...KINDS].join(', ')}`);
    for (const key of ['events', 'waitMs', 'intervalMs'] as const) nonNegative(fault[key], `${path}.${key}`);
    if (fault.tasks !== undefined && fault.tasks !== 'absent' && fault.tasks !== 'pending')
      throw new Error(`${path}.tasks must be absent or pending`);
  }
}

export function selects(selector: JobSelector, jobId: string, labels: Record<string, string> = {}): boolean {
  if (selector.jobIdPrefix !== undefined && !jobId.startsWith(selector.jobIdPrefix)) return false;
  if (selector.label !== undefined) {
    const at = selector.label.indexOf('=');
    if (labels[selector.label.slice(0, at)] !== selector.label.slice(at + 1)) return false;
  }
  return true;
}

export interface Quota {
  mutationsPerMinute: number;
  readsPerMinute: number;
}

export const BATCH_QUOTA: Quota = { mutationsPerMinute: 6000, readsPerMinute: 15000 };

const MUTATIONS = new Set(['CreateJob', 'DeleteJob', 'CancelJob']);
/** Cloud Logging's calls have quotas of their own (loggingQuota.ts), not Batch's. */
const NOT_BATCH = new Set([
  'ListLogEntries',
  'TailLogEntries',
  'WriteLogEntries',
  'DeleteLog',
  'ListLogs',
  'ListMonitoredResourceDescriptors',
]);
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
    checkFaultConfig(config);
    this.config = config;
    this.quota = quota;
  }

  set(config: FaultConfig): void {
    checkFaultConfig(config);
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
    if (!this.quota || NOT_BATCH.has(method)) return;
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
