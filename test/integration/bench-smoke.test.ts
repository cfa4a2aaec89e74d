// A small run of the benchmark (`npm run bench`): every figure of the report is there and the counts add up.
// Times are printed, never judged here.
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reportLines, writeReport } from '../bench/report.js';
import { runBench, type BenchReport } from '../bench/run.js';

const JOBS = 50;

function finite(value: unknown, path: string): void {
  if (typeof value === 'number') {
    assert.ok(Number.isFinite(value), `${path} is ${value}`);
    return;
  }
  if (value && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) finite(child, `${path}.${key}`);
  }
}

// The run starts its own peers and controllers and gives the jobs 300 s (timeoutSeconds).
test(
  `the benchmark's report is complete for ${JOBS} jobs on two shards split by a label selector`,
  { timeout: 600_000 },
  async () => {
    const report: BenchReport = await runBench({
      jobs: JOBS,
      rate: 0,
      parallel: 8,
      pollInterval: '1s',
      concurrency: 8,
      shards: 2,
      runSeconds: 2,
      timeoutSeconds: 300,
      finalizerPolicy: true,
    });
    finite(report, 'report');
    assert.deepEqual(report.counts, {
      created: JOBS,
      submitted: JOBS,
      finished: JOBS,
      batchJobsCreated: JOBS,
      wrongShard: 0,
    });
    assert.equal(report.batchCallsPerJob.CreateJob, 1);
    assert.ok(report.floor.seconds > 0 && report.seconds.allSubmitted > 0 && report.seconds.allFinished > 0);
    assert.ok(report.seconds.allFinished >= report.seconds.allSubmitted);
    assert.ok(report.seconds.allSubmitted >= report.seconds.allCreated && report.seconds.allCreated > 0);
    for (const spread of Object.values(report.latencySeconds))
      assert.ok(spread.p50 <= spread.p90 && spread.p90 <= spread.p99);
    assert.ok(report.kubeRequestsPerJob.controller.patchStatus! > 0, 'status writes counted');
    assert.equal(
      report.kubeRequestsPerJob.controller.patchFinalizers ?? 0,
      0,
      'the finalizer came with each create (deploy/finalizer-policy/)',
    );
    assert.ok(Object.keys(report.kubeRequestsPerJob.apiServer).length > 0, "the API server's counters read");
    assert.ok(report.controller.end.rssMb > 0 && report.controller.end.cpuSeconds > 0);
    assert.equal(report.controller.processes, 2);
    const reads = report.batchReadsPerJobPerPollInterval;
    assert.ok(
      reads.polling > 0 && reads.polling <= reads.all && reads.jobIntervals >= JOBS,
      JSON.stringify(reads),
    );

    const lines = reportLines(report);
    for (const label of [
      'floor',
      'x floor',
      'throughput Submitted',
      'p99',
      'Batch calls per job',
      'controller memory',
    ]) {
      assert.ok(
        lines.some((l) => l.includes(label)),
        `the table shows ${label}`,
      );
    }
    const dir = mkdtempSync(join(tmpdir(), 'bench-results-'));
    try {
      const file = writeReport(report, dir);
      assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), JSON.parse(JSON.stringify(report)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    console.log(lines.join('\n'));
  },
);
