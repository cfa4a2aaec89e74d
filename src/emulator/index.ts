// A local Google Batch: the real BatchService protos over gRPC on loopback, real validation, Batch's state
// machine, and script runnables executed as local processes. Point the real client at it with
// BATCH_EMULATOR_HOST=<host>.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { Job } from '../api/batch.js';
import { startAdmin } from './admin.js';
import { Engine } from './engine.js';
import { FaultInjector, type FaultConfig, type Quota } from './faults.js';
import { loadServices } from './protos.js';
import { CallStats, createServer, type CallRecord } from './server.js';

export type { FaultConfig, Quota, CallRecord };
export { BATCH_QUOTA } from './faults.js';

export interface EmulatorOptions {
  /** gRPC port; 0 (default) picks a free one. */
  port?: number;
  /** Listen address; loopback by default. */
  host?: string;
  /** Delay between lifecycle steps (QUEUED -> SCHEDULED -> RUNNING, task assignment), default 20 ms. */
  stepMs?: number;
  /** `run` (default): a container's entrypoint and commands run as a local process; `simulate`: they succeed. */
  containers?: 'run' | 'simulate';
  /** How long a simulated container runs, default stepMs. */
  simulatedRunMs?: number;
  faults?: FaultConfig;
  quota?: Quota;
  /** Where tasks get their working folders; a temp dir (removed on stop) by default. */
  workDir?: string;
  /** Port of the admin HTTP endpoint; 0 picks a free one; undefined starts none... except when 0 is given. */
  adminPort?: number;
}

export interface EmulatorStats {
  calls: Record<string, Record<string, number>>;
  jobs: number;
}

export interface RunningEmulator {
  /** `127.0.0.1:PORT`, the value for BATCH_EMULATOR_HOST */
  host: string;
  port: number;
  /** `http://127.0.0.1:PORT` of the admin endpoint, or '' when none was started. */
  adminUrl: string;
  stats(): EmulatorStats;
  callLog(): CallRecord[];
  /** Calls `listener` for each call as it is answered, before the answer leaves; returns the unsubscribe. */
  onCall(listener: (call: CallRecord) => void): () => void;
  setFaults(faults: FaultConfig): void;
  setQuota(quota: Quota | undefined): void;
  jobs(): Job[];
  taskLog(jobName: string, index: number): string;
  stop(): Promise<void>;
}

export async function startEmulator(opts: EmulatorOptions = {}): Promise<RunningEmulator> {
  const host = opts.host ?? '127.0.0.1';
  const ownWorkDir = opts.workDir === undefined;
  const workDir = opts.workDir ?? mkdtempSync(join(tmpdir(), 'drmaa2-batch-emulator-'));
  const engine = new Engine({
    stepMs: opts.stepMs ?? 20,
    containers: opts.containers ?? 'run',
    ...(opts.simulatedRunMs !== undefined ? { simulatedRunMs: opts.simulatedRunMs } : {}),
    workDir,
  });
  const faults = new FaultInjector(opts.faults ?? {}, opts.quota);
  const stats = new CallStats();
  const server = createServer(loadServices(), engine, faults, stats);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${opts.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  const admin =
    opts.adminPort !== undefined ? await startAdmin(host, opts.adminPort, engine, faults, stats) : undefined;
  let stopped = false;
  return {
    host: `${host}:${port}`,
    port,
    adminUrl: admin?.url ?? '',
    stats: () => ({ calls: structuredClone(stats.calls), jobs: engine.all().length }),
    callLog: () => [...stats.log],
    onCall: (listener) => {
      stats.listeners.add(listener);
      return () => stats.listeners.delete(listener);
    },
    setFaults: (f) => faults.set(f),
    setQuota: (q) => faults.setQuota(q),
    jobs: () => engine.all(),
    taskLog: (jobName, index) => engine.taskLog(jobName, index),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      engine.stop();
      admin?.server.close();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (ownWorkDir) rmSync(workDir, { recursive: true, force: true });
    },
  };
}
