// The controller's metrics: each recorder moves its series, on a registry of the controller's own.
import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createMetrics } from '../../../src/controller/metrics.js';

async function text(metrics: ReturnType<typeof createMetrics>): Promise<string> {
  return metrics.registry.metrics();
}

describe('createMetrics', () => {
  it('counts reconciles by result and times them', async () => {
    const metrics = createMetrics();
    metrics.reconcileDone('success', 0.02);
    metrics.reconcileDone('error', 0.5);
    metrics.reconcileDone('error', 0.5);
    const out = await text(metrics);
    assert.match(out, /drmaa2_reconcile_total\{result="error"\} 2/);
    assert.match(out, /drmaa2_reconcile_duration_seconds_count 3/);
  });

  it('meters Batch calls by method and code, and Kubernetes calls by verb and code', async () => {
    const metrics = createMetrics();
    metrics.batchCall('ListJobs', 'OK', 0.1);
    metrics.batchCall('ListJobs', 'OK', 0.1);
    metrics.batchCall('CreateJob', 'RESOURCE_EXHAUSTED', 0.1);
    metrics.kubeCall('patchStatus', '409');
    const out = await text(metrics);
    assert.match(out, /drmaa2_batch_api_calls_total\{method="ListJobs",code="OK"\} 2/);
    assert.match(out, /drmaa2_batch_api_calls_total\{method="CreateJob",code="RESOURCE_EXHAUSTED"\} 1/);
    assert.match(out, /drmaa2_kube_api_calls_total\{verb="patchStatus",code="409"\} 1/);
  });

  it('the quota throttle rate by kind, and dropped Events', async () => {
    const metrics = createMetrics();
    metrics.batchRate('mutation', 45);
    metrics.eventDropped();
    metrics.eventDropped();
    const out = await text(metrics);
    assert.match(out, /drmaa2_batch_rate_limit_per_minute\{kind="mutation"\} 45/);
    assert.match(out, /drmaa2_events_dropped_total 2/);
  });

  it("Kueue requeues by Kueue's reason, a reason outside its vocabulary folded into Other", async () => {
    const metrics = createMetrics();
    metrics.requeued('Preempted');
    metrics.requeued('Preempted');
    metrics.requeued('x'.repeat(200));
    const out = await text(metrics);
    assert.match(out, /drmaa2_kueue_requeues_total\{reason="Preempted"\} 2/);
    assert.match(out, /drmaa2_kueue_requeues_total\{reason="Other"\} 1/);
  });

  it('jobs by state replaces the previous counts', async () => {
    const metrics = createMetrics();
    metrics.setJobsByState({ Running: 2, Queued: 1 });
    metrics.setJobsByState({ Done: 3 });
    metrics.setJobsByProfile({ 'team-a': 2, none: 1 });
    const out = await text(metrics);
    assert.match(out, /drmaa2_jobs\{state="Done"\} 3/);
    assert.doesNotMatch(out, /drmaa2_jobs\{state="Running"\}/);
    assert.match(out, /drmaa2_jobs_by_profile\{profile="team-a"\} 2/);
    assert.match(out, /drmaa2_jobs_by_profile\{profile="none"\} 1/);
  });

  it('queue depth, queue latency and submit latency', async () => {
    const metrics = createMetrics();
    metrics.setQueueDepth(7);
    metrics.queueLatency(0.2);
    metrics.submitLatency(1.5);
    const out = await text(metrics);
    assert.match(out, /drmaa2_workqueue_depth 7/);
    assert.match(out, /drmaa2_workqueue_latency_seconds_count 1/);
    assert.match(out, /drmaa2_submit_latency_seconds_count 1/);
  });

  it('the live heap: what a full collection left in use', async () => {
    const metrics = createMetrics();
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    // The collection is reported to observers on a later turn of the event loop.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const live = Number(/^drmaa2_controller_heap_live_bytes (\S+)$/m.exec(await text(metrics))?.[1]);
    assert.ok(live > 1_000_000, `live heap ${live}`);
    assert.ok(live < 2 ** 32);
  });

  it('two controllers in one process do not share series', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.setQueueDepth(1);
    b.setQueueDepth(2);
    assert.match(await text(a), /drmaa2_workqueue_depth 1/);
    assert.match(await text(b), /drmaa2_workqueue_depth 2/);
  });
});
