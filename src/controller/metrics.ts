// The controller's Prometheus metrics, on a registry of its own.
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** V8 heap in use right after the latest full collection: what the controller holds, without the garbage a
 * heap in use also counts until it is collected. One observer per process, however many registries. */
let liveHeapBytes = 0;
let observingCollections = false;

function observeFullCollections(): void {
  if (observingCollections) return;
  observingCollections = true;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)
        liveHeapBytes = getHeapStatistics().used_heap_size;
    }
  }).observe({ entryTypes: ['gc'] });
}

export interface ControllerMetrics {
  registry: Registry;
  reconcileDone(result: 'success' | 'error' | 'requeue', seconds: number): void;
  batchCall(method: string, code: string, seconds: number): void;
  kubeCall(verb: string, code: string): void;
  setQueueDepth(n: number): void;
  queueLatency(seconds: number): void;
  setJobsByState(counts: Partial<Record<string, number>>): void;
  setJobsByProfile(counts: Partial<Record<string, number>>): void;
  submitLatency(seconds: number): void;
  /** Kueue took a job's admission back and the controller requeued it (`reason`: Kueue's, e.g. Preempted). */
  requeued(reason: string): void;
  batchRate(kind: string, perMinute: number): void;
  eventDropped(): void;
  /** One session poll ended: `pages` ListJobs calls on success, or a failure (`failuresInARow`). */
  pollDone(ok: boolean, failuresInARow: number): void;
}

export function createMetrics(): ControllerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'drmaa2_controller_' });
  observeFullCollections();
  new Gauge({
    name: 'drmaa2_controller_heap_live_bytes',
    help: 'V8 heap in use right after the latest full garbage collection (0 before the first): the live data',
    registers: [registry],
    collect() {
      this.set(liveHeapBytes);
    },
  });
  const reconciles = new Counter({
    name: 'drmaa2_reconcile_total',
    help: 'Reconciles by result',
    labelNames: ['result'],
    registers: [registry],
  });
  const reconcileSeconds = new Histogram({
    name: 'drmaa2_reconcile_duration_seconds',
    help: 'Duration of one reconcile',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const batchCalls = new Counter({
    name: 'drmaa2_batch_api_calls_total',
    help: 'Google Batch API calls by method and gRPC code (count against the per-region quota)',
    labelNames: ['method', 'code'],
    registers: [registry],
  });
  const batchSeconds = new Histogram({
    name: 'drmaa2_batch_api_call_duration_seconds',
    help: 'Duration of Batch API calls',
    labelNames: ['method'],
    registers: [registry],
  });
  const kubeCalls = new Counter({
    name: 'drmaa2_kube_api_calls_total',
    help: 'Kubernetes API writes and reads by verb and HTTP code',
    labelNames: ['verb', 'code'],
    registers: [registry],
  });
  const queueDepth = new Gauge({
    name: 'drmaa2_workqueue_depth',
    help: 'Keys waiting in the work queue',
    registers: [registry],
  });
  const queueLatency = new Histogram({
    name: 'drmaa2_workqueue_latency_seconds',
    help: 'Time a key waits in the queue',
    buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 30],
    registers: [registry],
  });
  const jobs = new Gauge({
    name: 'drmaa2_jobs',
    help: 'Drmaa2Jobs by DRMAA2 state',
    labelNames: ['state'],
    registers: [registry],
  });
  const jobsByProfile = new Gauge({
    name: 'drmaa2_jobs_by_profile',
    help: 'Drmaa2Jobs by the BatchProfile they were submitted under (none: not under one)',
    labelNames: ['profile'],
    registers: [registry],
  });
  const submit = new Histogram({
    name: 'drmaa2_submit_latency_seconds',
    help: 'Time from the resource creation to its Batch job',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const batchRate = new Gauge({
    name: 'drmaa2_batch_rate_limit_per_minute',
    help: 'Batch calls per minute the controller allows itself, by kind (lowered after RESOURCE_EXHAUSTED)',
    labelNames: ['kind'],
    registers: [registry],
  });
  const requeues = new Counter({
    name: 'drmaa2_kueue_requeues_total',
    help: "Jobs requeued after Kueue took their admission back, by Kueue's reason (Preempted, InactiveWorkload, ...)",
    labelNames: ['reason'],
    registers: [registry],
  });
  const eventsDropped = new Counter({
    name: 'drmaa2_events_dropped_total',
    help: 'Kubernetes Events not written because the Event queue was full',
    registers: [registry],
  });
  const polls = new Counter({
    name: 'drmaa2_batch_polls_total',
    help: 'Session polls (one paged ListJobs each) by result',
    labelNames: ['result'],
    registers: [registry],
  });
  const pollSuccess = new Gauge({
    name: 'drmaa2_batch_poll_last_success_timestamp_seconds',
    help: 'When the last session poll succeeded (Unix time); alert when it falls behind',
    registers: [registry],
  });
  const pollFailures = new Gauge({
    name: 'drmaa2_batch_poll_failures_in_a_row',
    help: 'Session polls failed in a row since the last that succeeded',
    registers: [registry],
  });
  return {
    registry,
    reconcileDone(result, seconds) {
      reconciles.inc({ result });
      reconcileSeconds.observe(seconds);
    },
    batchCall(method, code, seconds) {
      batchCalls.inc({ method, code });
      batchSeconds.observe({ method }, seconds);
    },
    kubeCall(verb, code) {
      kubeCalls.inc({ verb, code });
    },
    setQueueDepth: (n) => queueDepth.set(n),
    queueLatency: (s) => queueLatency.observe(s),
    setJobsByState(counts) {
      jobs.reset();
      for (const [state, n] of Object.entries(counts)) jobs.set({ state }, n ?? 0);
    },
    setJobsByProfile(counts) {
      jobsByProfile.reset();
      for (const [profile, n] of Object.entries(counts)) jobsByProfile.set({ profile }, n ?? 0);
    },
    submitLatency: (s) => submit.observe(s),
    batchRate: (kind, perMinute) => batchRate.set({ kind }, perMinute),
    eventDropped: () => eventsDropped.inc(),
    // Kueue's reasons are a short CamelCase vocabulary; anything else is folded so that no label value is
    // unbounded.
    requeued: (reason) => requeues.inc({ reason: /^[A-Za-z]{1,40}$/.test(reason) ? reason : 'Other' }),
    pollDone(ok, failuresInARow) {
      polls.inc({ result: ok ? 'success' : 'error' });
      pollFailures.set(failuresInARow);
      if (ok) pollSuccess.setToCurrentTime();
    },
  };
}
