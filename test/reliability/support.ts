// What the reliability suites share: their sizes (CI size by default, larger through the environment),
// manifests, bulk apply, reading the resources back, and the bookkeeping of which Batch job was created for
// which resource (from the emulator, as it answers).
import assert from 'node:assert/strict';
import { LABEL_UID, type Drmaa2Job } from '../../src/api/drmaa2job.js';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { startControllerProcess, type ControllerProcess } from '../support/controllerProcess.js';
import { startPeers, type Peers, type PeersOptions } from '../support/startPeers.js';

/** A suite's size: the CI value unless the environment variable gives another. */
export function size(variable: string, ci: number): number {
  const text = process.env[variable];
  if (text === undefined || text === '') return ci;
  const n = Number(text);
  assert.ok(Number.isInteger(n) && n > 0, `${variable} must be a positive integer, got ${text}`);
  return n;
}

export interface JobOptions {
  exitCode?: number;
  deletionPolicy?: 'Delete' | 'Orphan';
  command?: string;
  hold?: boolean;
}

export function jobManifest(namespace: string, name: string, opts: JobOptions = {}): Record<string, unknown> {
  const command = opts.command ?? (opts.exitCode ? `exit ${opts.exitCode}` : 'true');
  return {
    apiVersion: 'drmaa2.io/v1alpha1',
    kind: 'Drmaa2Job',
    metadata: { name, namespace },
    spec: {
      jobTemplate: { remoteCommand: command, jobCategory: '$script$', candidateMachines: ['e2-standard-2'] },
      ...(opts.deletionPolicy ? { deletionPolicy: opts.deletionPolicy } : {}),
      ...(opts.hold ? { hold: true } : {}),
    },
  };
}

/** One `kubectl apply` of many objects (a List): far faster than one call each. */
export async function applyAll(peers: Peers, objects: unknown[]): Promise<void> {
  for (let i = 0; i < objects.length; i += 500) {
    const list = { apiVersion: 'v1', kind: 'List', items: objects.slice(i, i + 500) };
    const r = await peers.controlPlane.kubectl(['apply', '-f', '-'], { input: JSON.stringify(list) });
    assert.equal(r.code, 0, r.stderr);
  }
}

export async function listJobs(peers: Peers, namespace: string): Promise<Drmaa2Job[]> {
  const r = await peers.controlPlane.kubectl(['get', 'drmaa2jobs', '-n', namespace, '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { items: Drmaa2Job[] }).items;
}

export async function getJob(peers: Peers, namespace: string, name: string): Promise<Drmaa2Job | undefined> {
  const r = await peers.controlPlane.kubectl(['get', 'drmaa2job', name, '-n', namespace, '-o', 'json']);
  if (r.code !== 0 && /NotFound/.test(r.stderr)) return undefined;
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Drmaa2Job;
}

export function finished(job: Drmaa2Job): boolean {
  return job.status?.conditions?.some((c) => c.type === 'Finished' && c.status === 'True') ?? false;
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `check` holds; fails with `what` and the last detail after `timeoutMs`. */
export async function eventually(
  what: string,
  check: () => Promise<true | string>,
  timeoutMs: number,
  intervalMs = 1000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const result = await check();
    if (result === true) return;
    last = result;
    await sleep(intervalMs);
  }
  assert.fail(`${what} did not happen in ${timeoutMs / 1000}s: ${last}`);
}

/** Every Batch job created, by its resource's UID, recorded as the emulator answers CreateJob. */
export class CreatedJobs {
  readonly byUid = new Map<string, Set<string>>();
  private readonly unsubscribe: () => void;

  constructor(emulator: RunningEmulator) {
    this.unsubscribe = emulator.onCall((call) => {
      if (call.method !== 'CreateJob' || call.code !== 'OK' || !call.jobId) return;
      const job = emulator.jobs().find((j) => j.name?.endsWith(`/jobs/${call.jobId}`));
      const uid = job?.labels?.[LABEL_UID] ?? 'unlabelled';
      const set = this.byUid.get(uid) ?? new Set<string>();
      set.add(call.jobId);
      this.byUid.set(uid, set);
    });
  }

  /** UIDs with more than one Batch job. */
  duplicates(): string[] {
    return [...this.byUid].filter(([, ids]) => ids.size > 1).map(([uid]) => uid);
  }

  total(): number {
    let n = 0;
    for (const ids of this.byUid.values()) n += ids.size;
    return n;
  }

  stop(): void {
    this.unsubscribe();
  }
}

/** The controller as a process, with the shipped ServiceAccount's kubeconfig and a short poll interval. */
export function controllerFor(peers: Peers, name: string, args: string[] = []): Promise<ControllerProcess> {
  return startControllerProcess({
    kubeconfig: peers.controlPlane.kubeconfigController,
    batchEmulatorHost: peers.emulator.host,
    storageEmulatorHost: peers.storageEmulatorHost,
    dir: peers.controlPlane.dir,
    name,
    args: ['--poll-interval', '1s', '--log-level', 'debug', ...args],
  });
}

/** Log lines at error level or above, and anything that is not a JSON log line (a crash's stack trace). */
export function crashLines(controller: ControllerProcess): string[] {
  return controller
    .logs()
    .filter((line) => line.level === 0 || line.level >= 50)
    .map((line) => line.msg);
}

/** The peers of one suite (one per file), with its namespaces made. */
export async function startSuite(namespaces: string[], opts: PeersOptions = {}): Promise<Peers> {
  const peers = await startPeers(opts);
  for (const ns of namespaces) {
    const r = await peers.controlPlane.kubectl(['create', 'namespace', ns]);
    assert.equal(r.code, 0, r.stderr);
  }
  return peers;
}

/** Stops what a suite started: its controllers first (gracefully, whatever state they are in), then the peers. */
export async function stopSuite(
  peers: Peers | undefined,
  ...controllers: (ControllerProcess | undefined)[]
): Promise<void> {
  for (const controller of controllers) await controller?.stop().catch(() => undefined);
  await peers?.stop();
}
