// One benchmark run: the real control plane and the emulator, the floor first (a bare client), then the
// controller process(es) driving N jobs, watched from here. Returns every figure of the report.
import { execFileSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { hostname, cpus, tmpdir, totalmem } from 'node:os';
import type { Job } from '../../src/api/batch.js';
import { startControllerProcess, type ControllerProcess } from '../support/controllerProcess.js';
import { installFinalizerPolicy } from '../support/finalizerPolicy.js';
import { PROJECT_ROOT } from '../support/peers.js';
import { startPeers, type Peers } from '../support/startPeers.js';
import { apiServerRequests, difference } from '../support/apiServerMetrics.js';
import { measureFloor, type FloorResult } from './floor.js';
import { BenchClient } from './kubeClient.js';
import { benchJob, jobName } from './manifest.js';
import { Observer } from './observer.js';
import { inParallel, spread, type Spread } from './stats.js';
import { LiveHeapSampler } from './liveHeap.js';
import { UsageSampler, type UsageFigures } from './usageSampler.js';

export interface BenchOptions {
  jobs: number;
  /** Jobs created per second; 0 creates them all at once (bounded by `parallel`). */
  rate: number;
  /** Requests in flight from the bench client (and the floor). */
  parallel: number;
  pollInterval: string;
  concurrency: number;
  shards: number;
  /** How long each simulated job runs, seconds (0: instant). */
  runSeconds: number;
  timeoutSeconds: number;
  /** NODE_OPTIONS of the controller process(es) only, e.g. a heap limit. */
  controllerNodeOptions?: string;
  /** The controller's --log-level; warn when absent. */
  controllerLogLevel?: string;
  /** Install deploy/finalizer-policy/ after the floor, so the finalizer is on from each create. */
  finalizerPolicy: boolean;
  log?: (line: string) => void;
}

export interface BenchReport {
  machine: { host: string; cpus: number; cpuModel: string; memoryGb: number; node: string };
  options: Omit<BenchOptions, 'log'>;
  floor: FloorResult;
  /** allCreated: when the bench's last create returned (the controller cannot submit a job before). */
  seconds: { allCreated: number; allSubmitted: number; allFinished: number };
  ratioToFloor: { submitted: number; finished: number };
  throughput: { submittedPerSecond: number; finishedPerSecond: number };
  latencySeconds: { toSubmitted: Spread; toFinished: Spread; statusAfterBatchEnd: Spread };
  batchCallsPerJob: Record<string, number>;
  /** Per tracked job per poll interval: ListJobs alone, and all reads; over this many job-intervals. */
  batchReadsPerJobPerPollInterval: { polling: number; all: number; jobIntervals: number };
  kubeRequestsPerJob: { controller: Record<string, number>; apiServer: Record<string, number> };
  /** heapUsedMb: V8 heap in use at the end (from the controller's own metrics), summed over processes. */
  controller: {
    end: UsageFigures;
    processes: number;
    heapUsedMb: number;
    /** The live heap (V8 heap in use right after a full collection), summed over processes: before the load
     * and its highest during the run; `perJobKb` is the growth per resource, all of which the controller
     * holds at the end; `perJobMarginalKb` the growth per resource over the second half of the arrivals,
     * before any finished (runs with --rate and jobs that outlast the arrivals), which leaves out what the
     * controller loads once. */
    liveHeap: { beforeMb: number; peakMb: number; perJobKb: number; perJobMarginalKb?: number };
    /** Controller CPU time per job (from the start of the load: the process's start-up left out), and
     * reconcile passes per job. */
    cpuMsPerJob: number;
    reconcilesPerJob: number;
  };
  /** wrongShard: Batch jobs created by another shard's controller than the resource's label names. */
  counts: {
    created: number;
    submitted: number;
    finished: number;
    batchJobsCreated: number;
    wrongShard: number;
  };
}

const READS = new Set(['GetJob', 'ListJobs', 'ListTasks']);

function pollMs(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text);
  if (!match) throw new Error(`--poll-interval must look like 500ms, 1s or 1m, got ${text}`);
  const factor = { ms: 1, s: 1000, m: 60_000 }[match[2] as 'ms' | 's' | 'm'];
  return Number(match[1]) * factor;
}

function batchEndTime(job: Job): number | undefined {
  const ended = (job.status?.statusEvents ?? []).filter((e) =>
    /to (SUCCEEDED|FAILED)/.test(e.description ?? ''),
  );
  const at = ended.at(-1)?.eventTime;
  return at ? Date.parse(at) : undefined;
}

/** Per job, rounded to thousandths; what rounds to nothing (the API server's own watches) is left out. */
function perJob(counts: Record<string, number>, jobs: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(counts)
      .filter(([, n]) => n / jobs >= 0.0005)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, n]) => [k, Math.round((n / jobs) * 1000) / 1000]),
  );
}

/** Sums a prom-client counter over the label `by`; `where`: only the series whose labels contain it. */
function counterBy(text: string, metric: string, by: string, where = ''): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`) || !line.includes(where)) continue;
    const key = new RegExp(`${by}="([^"]*)"`).exec(line)?.[1] ?? '';
    out[key] = (out[key] ?? 0) + Number(line.split(' ').at(-1));
  }
  return out;
}

/** The controller runs from dist/, as in the image: built from the current sources first. */
function build(): void {
  execFileSync(
    process.execPath,
    [join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: PROJECT_ROOT,
      stdio: 'inherit',
    },
  );
}

export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const log = options.log ?? (() => undefined);
  build();
  const interval = pollMs(options.pollInterval);
  const peers: Peers = await startPeers({
    emulator: {
      stepMs: 5,
      containers: 'simulate',
      simulatedRunMs: Math.max(5, options.runSeconds * 1000),
    },
  });
  const controllers: ControllerProcess[] = [];
  let observer: Observer | undefined;
  try {
    const cp = peers.controlPlane;
    // Shards split one namespace by a label: each controller takes `--selector drmaa2-shard=<n>` and its own
    // session, so each polls only its own Batch jobs.
    const NS = 'bench';
    for (const ns of ['floor', NS]) {
      const r = await cp.kubectl(['create', 'namespace', ns]);
      if (r.code !== 0) throw new Error(r.stderr);
    }
    const client = new BenchClient(cp.kubeconfigAdmin);
    log(`floor: creating ${options.jobs} resources and one status write each, ${options.parallel} in flight`);
    const floor = await measureFloor(client, 'floor', options.jobs, options.parallel);
    log(`floor: ${floor.seconds.toFixed(1)} s (${floor.perSecond.toFixed(0)}/s)`);
    // After the floor, whose resources must not carry a finalizer no controller removes.
    if (options.finalizerPolicy) await installFinalizerPolicy(cp.kubectl);

    for (let s = 0; s < options.shards; s++) {
      controllers.push(
        await startControllerProcess({
          kubeconfig: cp.kubeconfigController,
          batchEmulatorHost: peers.emulator.host,
          storageEmulatorHost: peers.storageEmulatorHost,
          dir: cp.dir,
          name: `shard-${s}`,
          entry: 'built',
          ...(options.controllerNodeOptions ? { env: { NODE_OPTIONS: options.controllerNodeOptions } } : {}),
          args: [
            '--namespace',
            NS,
            '--selector',
            `drmaa2-shard=${s}`,
            '--session',
            `bench-${s}`,
            '--poll-interval',
            options.pollInterval,
            '--concurrency',
            String(options.concurrency),
            '--log-level',
            options.controllerLogLevel ?? 'warn',
          ],
        }),
      );
    }
    observer = new Observer(client.kubeConfig, NS);
    await observer.start();
    const watching = observer;

    const apiBefore = await apiServerRequests(cp.kubectl);
    const clientBefore = client.requests;
    const sampler = new UsageSampler(() => controllers.map((c) => c.pid()));
    sampler.start();
    const created = new Map<string, number>();
    const liveHeap = new LiveHeapSampler(controllers, {
      created: () => created.size,
      finished: () => watching.finished(),
    });
    await liveHeap.start();
    const started = performance.now();
    log(
      `load: ${options.jobs} jobs ${options.rate > 0 ? `at ${options.rate}/s` : 'all at once'} over ${options.shards} shard(s)`,
    );
    const indexes = Array.from({ length: options.jobs }, (_, i) => i);
    await inParallel(indexes, options.parallel, async (i) => {
      if (options.rate > 0) {
        const due = started + (i / options.rate) * 1000;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      await client.create(NS, benchJob(NS, jobName(i), i % options.shards));
      created.set(`${NS}/${jobName(i)}`, performance.now());
    });
    const progress = setInterval(() => {
      log(`  ${watching.submitted()} submitted, ${watching.finished()} finished`);
    }, 5000);
    let ended: ReturnType<typeof setInterval> | undefined;
    const crashed = new Promise<never>((_, reject) => {
      ended = setInterval(() => {
        const gone = controllers.find((c) => !c.running());
        if (gone)
          reject(
            new Error(`${gone.name} ended (${gone.exits().join(', ') || 'exited'}); see ${gone.logFile}`),
          );
      }, 1000);
    });
    try {
      await Promise.race([watching.untilFinished(options.jobs, options.timeoutSeconds * 1000), crashed]);
    } finally {
      clearInterval(progress);
      clearInterval(ended);
    }
    const usage = sampler.stop();
    const live = await liveHeap.stop(options.jobs);
    const apiAfter = await apiServerRequests(cp.kubectl);
    const benchRequests = client.requests - clientBefore;

    // Latencies by this process's clock; the Batch end time by the emulator's (the same machine's clock).
    const toSubmitted: number[] = [];
    const toFinished: number[] = [];
    const afterBatchEnd: number[] = [];
    let lastSubmitted = 0;
    let lastFinished = 0;
    const jobsByKey = new Map(
      peers.emulator.jobs().map((j) => [`${j.labels?.['drmaa2-namespace']}/${j.labels?.['drmaa2-name']}`, j]),
    );
    for (const [name, seen] of watching.seen) {
      const key = `${NS}/${name}`;
      const at = created.get(key);
      if (at === undefined || seen.submitted === undefined || seen.finished === undefined) continue;
      toSubmitted.push((seen.submitted - at) / 1000);
      toFinished.push((seen.finished - at) / 1000);
      lastSubmitted = Math.max(lastSubmitted, seen.submitted);
      lastFinished = Math.max(lastFinished, seen.finished);
      const job = jobsByKey.get(key);
      const batchEnd = job ? batchEndTime(job) : undefined;
      if (batchEnd !== undefined)
        afterBatchEnd.push((performance.timeOrigin + seen.finished - batchEnd) / 1000);
    }

    const calls = peers.emulator.callLog();
    const byMethod: Record<string, number> = {};
    for (const c of calls) byMethod[c.method] = (byMethod[c.method] ?? 0) + 1;
    // Reads per tracked job per poll interval: Batch reads divided by the job-intervals the controller tracked
    // (each job from Submitted to Finished, in poll intervals). The polling alone (ListJobs) is the cost that
    // recurs every interval; all reads add the one GetJob and ListTasks each job costs when it ends.
    const epoch = (t: number) => performance.timeOrigin + t;
    let jobIntervals = 0;
    for (const seen of watching.seen.values()) {
      if (seen.submitted !== undefined && seen.finished !== undefined) {
        jobIntervals += (seen.finished - seen.submitted) / interval;
      }
    }
    jobIntervals = Math.max(1, jobIntervals);
    const inRun = calls.filter((c) => c.at >= epoch(started) && c.at <= epoch(lastFinished));
    const polls = inRun.filter((c) => c.method === 'ListJobs').length;
    const reads = inRun.filter((c) => READS.has(c.method)).length;

    const controllerCalls: Record<string, number> = {};
    let heapUsed = 0;
    let reconciles = 0;
    for (const c of controllers) {
      const text = await c.metrics();
      reconciles += Object.values(counterBy(text, 'drmaa2_reconcile_total', 'result')).reduce(
        (a, b) => a + b,
        0,
      );
      heapUsed += Number(/^drmaa2_controller_nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1] ?? 0);
      for (const [verb, n] of Object.entries(counterBy(text, 'drmaa2_kube_api_calls_total', 'verb'))) {
        controllerCalls[verb] = (controllerCalls[verb] ?? 0) + n;
      }
      // Writes refused for a stale resourceVersion: work the API server did for nothing.
      const conflicts = counterBy(text, 'drmaa2_kube_api_calls_total', 'verb', 'code="409"');
      for (const [verb, n] of Object.entries(conflicts)) {
        controllerCalls[`${verb} (409 Conflict)`] = (controllerCalls[`${verb} (409 Conflict)`] ?? 0) + n;
      }
    }
    const apiServer = difference(apiBefore, apiAfter);
    // The bench's own creates are not the controller's.
    apiServer['POST drmaa2jobs'] = (apiServer['POST drmaa2jobs'] ?? 0) - benchRequests;
    if (apiServer['POST drmaa2jobs'] <= 0) delete apiServer['POST drmaa2jobs'];

    const createdAll = (Math.max(...created.values()) - started) / 1000;
    const submittedAll = (lastSubmitted - started) / 1000;
    const finishedAll = (lastFinished - started) / 1000;
    return {
      machine: {
        host: hostname(),
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        memoryGb: Math.round(totalmem() / 2 ** 30),
        node: process.version,
      },
      options: {
        jobs: options.jobs,
        rate: options.rate,
        parallel: options.parallel,
        pollInterval: options.pollInterval,
        concurrency: options.concurrency,
        shards: options.shards,
        runSeconds: options.runSeconds,
        timeoutSeconds: options.timeoutSeconds,
        finalizerPolicy: options.finalizerPolicy,
        ...(options.controllerNodeOptions ? { controllerNodeOptions: options.controllerNodeOptions } : {}),
      },
      floor,
      seconds: { allCreated: createdAll, allSubmitted: submittedAll, allFinished: finishedAll },
      ratioToFloor: { submitted: submittedAll / floor.seconds, finished: finishedAll / floor.seconds },
      throughput: {
        submittedPerSecond: options.jobs / submittedAll,
        finishedPerSecond: options.jobs / finishedAll,
      },
      latencySeconds: {
        toSubmitted: spread(toSubmitted),
        toFinished: spread(toFinished),
        statusAfterBatchEnd: spread(afterBatchEnd),
      },
      batchCallsPerJob: perJob(byMethod, options.jobs),
      batchReadsPerJobPerPollInterval: {
        polling: polls / jobIntervals,
        all: reads / jobIntervals,
        jobIntervals,
      },
      kubeRequestsPerJob: {
        controller: perJob(controllerCalls, options.jobs),
        apiServer: perJob(apiServer, options.jobs),
      },
      controller: {
        end: usage,
        processes: controllers.length,
        heapUsedMb: heapUsed / 2 ** 20,
        liveHeap: {
          beforeMb: live.before / 2 ** 20,
          peakMb: live.peak / 2 ** 20,
          perJobKb: Math.max(0, live.peak - live.before) / 1024 / options.jobs,
          ...(live.perJobMarginal !== undefined ? { perJobMarginalKb: live.perJobMarginal / 1024 } : {}),
        },
        cpuMsPerJob: (usage.cpuSecondsDuringLoad * 1000) / options.jobs,
        reconcilesPerJob: reconciles / options.jobs,
      },
      counts: {
        created: created.size,
        submitted: toSubmitted.length,
        finished: toFinished.length,
        batchJobsCreated: calls.filter((c) => c.method === 'CreateJob' && c.code === 'OK').length,
        wrongShard: [...jobsByKey.values()].filter((job) => {
          const index = Number(job.labels?.['drmaa2-name']?.split('-')[1]);
          return job.labels?.drmaa2session !== `bench-${index % options.shards}`;
        }).length,
      },
    };
  } finally {
    observer?.stop();
    for (const c of controllers) await c.stop().catch(() => undefined);
    // A log asked for at a chattier level than the default outlives the run's folder.
    if (options.controllerLogLevel && options.controllerLogLevel !== 'warn')
      for (const c of controllers) {
        const kept = join(tmpdir(), `bench-${Date.now()}-${basename(c.logFile)}`);
        copyFileSync(c.logFile, kept);
        log(`controller log: ${kept}`);
      }
    await peers.stop();
  }
}
