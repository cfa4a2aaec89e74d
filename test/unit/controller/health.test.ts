// /healthz, /readyz and /metrics over plain HTTP on a loopback port.
import { afterAll, describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { parseAddr, startHttpServer } from '../../../src/controller/health.js';
import { createMetrics } from '../../../src/controller/metrics.js';
import { pollDetail, pollsReady } from '../../../src/cli/controller.js';

const servers: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function get(port: number, path: string): Promise<{ status: number; body: string; type: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) });
  return {
    status: response.status,
    body: await response.text(),
    type: response.headers.get('content-type') ?? '',
  };
}

describe('parseAddr', () => {
  it('host:port and :port', () => {
    assert.deepEqual(parseAddr('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
    assert.deepEqual(parseAddr(':8081'), { host: '0.0.0.0', port: 8081 });
    assert.throws(() => parseAddr('8080x'), /host:port/);
  });
});

describe('startHttpServer', () => {
  it('answers the probes from the callbacks, 200 or 503', async () => {
    let healthy = true;
    let ready = false;
    const server = await startHttpServer({ addr: '127.0.0.1:0', healthy: () => healthy, ready: () => ready });
    servers.push(server);
    assert.ok(server.port > 0);
    assert.equal((await get(server.port, '/healthz')).status, 200);
    assert.equal((await get(server.port, '/readyz')).status, 503);
    ready = true;
    healthy = false;
    assert.equal((await get(server.port, '/readyz?verbose')).status, 200);
    assert.equal((await get(server.port, '/healthz')).status, 503);
    assert.equal((await get(server.port, '/metrics')).status, 404, 'no metrics on the probe server');
    assert.equal((await get(server.port, '/other')).status, 404);
  });

  it('says why it is not ready, in the readiness answer', async () => {
    const server = await startHttpServer({
      addr: '127.0.0.1:0',
      ready: () => false,
      readyDetail: () =>
        pollDetail(true, {
          ok: false,
          failuresInARow: 4,
          failingSince: new Date('2025-01-01T00:00:00Z'),
          lastError: 'PERMISSION_DENIED: batch.jobs.list',
        }),
    });
    servers.push(server);
    const answer = await get(server.port, '/readyz');
    assert.equal(answer.status, 503);
    assert.equal(
      answer.body,
      'not ready\nbatch poll: failing: 4 failures in a row since 2025-01-01T00:00:00.000Z (no success yet): PERMISSION_DENIED: batch.jobs.list\n',
    );
    assert.deepEqual(pollDetail(false, { ok: true, failuresInARow: 0 }), [
      'batch poll: standing by (not the leader)',
    ]);
  });

  it("one place's failing poll leaves the controller ready; every place failing does not", () => {
    const ok = { ok: true, failuresInARow: 0 };
    const failing = { ok: false, failuresInARow: 3 };
    assert.equal(pollsReady([]), true, 'no place to poll');
    assert.equal(pollsReady([ok, failing, ok]), true, "one tenant's trouble is its own");
    assert.equal(pollsReady([failing]), false);
    assert.equal(pollsReady([failing, failing]), false, 'Batch unreachable for all');
  });

  it('counts polls and their failures, and when the last one worked', async () => {
    const metrics = createMetrics();
    metrics.pollDone(false, 1);
    metrics.pollDone(false, 2);
    const failing = await metrics.registry.metrics();
    assert.match(failing, /drmaa2_batch_polls_total\{result="error"\} 2/);
    assert.match(failing, /drmaa2_batch_poll_failures_in_a_row 2/);
    assert.match(failing, /drmaa2_batch_poll_last_success_timestamp_seconds 0/);
    metrics.pollDone(true, 0);
    const ok = await metrics.registry.metrics();
    assert.match(ok, /drmaa2_batch_poll_failures_in_a_row 0/);
    assert.doesNotMatch(ok, /drmaa2_batch_poll_last_success_timestamp_seconds 0\n/);
  });

  it('serves the metrics registry in the Prometheus text format', async () => {
    const metrics = createMetrics();
    metrics.reconcileDone('success', 0.01);
    metrics.batchCall('GetJob', 'OK', 0.2);
    metrics.setJobsByState({ Running: 3, Done: 1 });
    const server = await startHttpServer({ addr: '127.0.0.1:0', metrics });
    servers.push(server);
    const response = await get(server.port, '/metrics');
    assert.equal(response.status, 200);
    assert.match(response.type, /text\/plain/);
    assert.match(response.body, /drmaa2_reconcile_total\{result="success"\} 1/);
    assert.match(response.body, /drmaa2_batch_api_calls_total\{method="GetJob",code="OK"\} 1/);
    assert.match(response.body, /drmaa2_jobs\{state="Running"\} 3/);
  });
});
