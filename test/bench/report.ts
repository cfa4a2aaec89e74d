// The report as a table for people and as JSON for machines (bench-results/).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchReport } from './run.js';
import type { Spread } from './stats.js';

const fixed = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : String(n));
const spreadText = (s: Spread) =>
  `p50 ${fixed(s.p50)}  p90 ${fixed(s.p90)}  p99 ${fixed(s.p99)}  max ${fixed(s.max)}`;
const mapText = (m: Record<string, number>) =>
  Object.entries(m)
    .map(([k, v]) => `${k} ${fixed(v, 3)}`)
    .join(', ');

export function reportLines(r: BenchReport): string[] {
  const o = r.options;
  const rows: [string, string][] = [
    [
      'machine',
      `${r.machine.cpus} CPU (${r.machine.cpuModel}), ${r.machine.memoryGb} GB, Node ${r.machine.node}`,
    ],
    [
      'run',
      `${o.jobs} jobs, ${o.rate > 0 ? `${o.rate}/s` : 'all at once'}, ${o.parallel} client requests in flight, ` +
        `poll ${o.pollInterval}, concurrency ${o.concurrency}, ${o.shards} shard(s), jobs run ${o.runSeconds}s, ` +
        `finalizer ${o.finalizerPolicy ? 'from the admission policy' : 'patched by the controller'}` +
        (o.controllerNodeOptions ? `, controller NODE_OPTIONS ${o.controllerNodeOptions}` : ''),
    ],
    [
      'floor (bare client)',
      `${fixed(r.floor.seconds)} s for ${r.floor.jobs} creates + status writes (${fixed(r.floor.perSecond, 0)}/s)`,
    ],
    ['all created after (bench client)', `${fixed(r.seconds.allCreated)} s`],
    [
      'all Submitted after',
      `${fixed(r.seconds.allSubmitted)} s  = ${fixed(r.ratioToFloor.submitted)} x floor`,
    ],
    ['all Finished after', `${fixed(r.seconds.allFinished)} s  = ${fixed(r.ratioToFloor.finished)} x floor`],
    ['throughput Submitted', `${fixed(r.throughput.submittedPerSecond, 1)} /s`],
    ['throughput Finished', `${fixed(r.throughput.finishedPerSecond, 1)} /s`],
    ['latency to Submitted (s)', spreadText(r.latencySeconds.toSubmitted)],
    ['latency to Finished (s)', spreadText(r.latencySeconds.toFinished)],
    ['status after Batch end (s)', spreadText(r.latencySeconds.statusAfterBatchEnd)],
    ['Batch calls per job', mapText(r.batchCallsPerJob)],
    [
      'Batch reads/tracked job/poll interval',
      `${r.batchReadsPerJobPerPollInterval.polling.toExponential(2)} polling (ListJobs), ` +
        `${r.batchReadsPerJobPerPollInterval.all.toExponential(2)} all reads, ` +
        `over ${fixed(r.batchReadsPerJobPerPollInterval.jobIntervals, 0)} job-intervals`,
    ],
    ['kube requests per job (controller)', mapText(r.kubeRequestsPerJob.controller)],
    ['kube requests per job (API server)', mapText(r.kubeRequestsPerJob.apiServer)],
    [
      'controller memory',
      `${fixed(r.controller.end.rssMb, 0)} MB at the end, ${fixed(r.controller.end.peakRssMb, 0)} MB peak (${r.controller.processes} process(es)); V8 heap in use ${fixed(r.controller.heapUsedMb, 0)} MB`,
    ],
    [
      'controller live heap',
      `${fixed(r.controller.liveHeap.beforeMb, 1)} MB before the load, ${fixed(r.controller.liveHeap.peakMb, 1)} MB at most: ${fixed(r.controller.liveHeap.perJobKb, 2)} KB per job` +
        (r.controller.liveHeap.perJobMarginalKb !== undefined
          ? `; ${fixed(r.controller.liveHeap.perJobMarginalKb, 2)} KB per job over the second half of the arrivals`
          : ''),
    ],
    [
      'controller CPU',
      `${fixed(r.controller.end.cpuSeconds, 1)} s in all, ${fixed(r.controller.end.cpuSecondsDuringLoad, 1)} s during the load = ${fixed(r.controller.cpuMsPerJob, 2)} ms per job, ${fixed(r.controller.end.peakCpuCores)} cores at peak; ${fixed(r.controller.reconcilesPerJob, 2)} reconciles per job`,
    ],
    [
      'counts',
      `${r.counts.created} created, ${r.counts.submitted} submitted, ${r.counts.finished} finished, ${r.counts.batchJobsCreated} Batch jobs, ${r.counts.wrongShard} by the wrong shard`,
    ],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
}

/** Writes bench-results/<time>-<jobs>.json and returns its path. */
export function writeReport(r: BenchReport, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${r.options.jobs}-jobs.json`);
  writeFileSync(file, `${JSON.stringify(r, null, 2)}\n`);
  return file;
}
