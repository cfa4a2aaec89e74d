import type { Drmaa2Job } from '../api/drmaa2job.js';

export interface JobEvent {
  type: 'Normal' | 'Warning';
  /** CamelCase, e.g. Submitted, Running, Completed, Failed, Cancelled, InvalidSpec, BatchError */
  reason: string;
  /** What the controller did, e.g. Submit, Observe, Cancel, Delete */
  action: string;
  /** Human-readable, at most 1 kB; never contains secret values. */
  note: string;
}

/** Kubernetes Events about a resource. Fire-and-forget: failures are logged by the sink, never thrown. */
export interface EventSink {
  emit(job: Drmaa2Job, event: JobEvent): void;
}
