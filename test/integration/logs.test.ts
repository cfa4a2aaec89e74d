// What a Drmaa2Job printed, end to end: the real kube-apiserver, the controller, the Batch emulator running
// the tasks and serving their output as Cloud Logging, read back by `drmaa2-batch logs` through the real
// @google-cloud/logging client, and by `kubectl drmaa2 logs` through the real kubectl.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { RunningController } from '../../src/cli/controller.js';
import { runLogs, type LogsOptions } from '../../src/cli/logs.js';
import { DEFAULT_READS_PER_MINUTE } from '../../src/logs/reader.js';
import { runKubectl } from '../support/kubectl.js';
import { PROJECT_ROOT } from '../support/peers.js';
import { startInProcessController } from '../support/inProcessController.js';
import { startPeers, type Peers } from '../support/startPeers.js';
import { readDrmaa2Job, waitFinished as waitForFinished } from '../support/drmaa2Jobs.js';

const NS = 'logs';
let peers: Peers;
let controller: RunningController;

beforeAll(async () => {
  peers = await startPeers();
  expect((await peers.controlPlane.kubectl(['create', 'namespace', NS])).code).toBe(0);
  controller = await startInProcessController(peers, { session: 'logs' });
});

afterAll(async () => {
  await controller?.stop();
  await peers?.stop();
});

async function apply(name: string, spec: Record<string, unknown>): Promise<void> {
  const manifest = {
    apiVersion: 'drmaa2.io/v1alpha1',
    kind: 'Drmaa2Job',
    metadata: { name, namespace: NS },
    spec,
  };
  const r = await peers.controlPlane.kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
  expect(r.code, r.stderr).toBe(0);
}

const get = (name: string) => readDrmaa2Job(peers.controlPlane.kubectl, NS, name);

const waitFinished = (name: string) => waitForFinished(peers.controlPlane.kubectl, NS, name);

const script = (text: string, extra: Record<string, unknown> = {}) => ({
  jobTemplate: {
    remoteCommand: text,
    jobCategory: '$script$',
    candidateMachines: ['e2-standard-2'],
    ...extra,
  },
});

interface Printed {
  code: number;
  out: string;
  err: string;
  /** Every write in order, tagged with its stream. */
  writes: { stream: 'out' | 'err'; text: string; at: number }[];
}

async function logs(name: string, opts: Partial<LogsOptions> = {}): Promise<Printed> {
  const writes: Printed['writes'] = [];
  const code = await runLogs(
    name,
    {
      namespace: NS,
      kubeconfig: peers.controlPlane.kubeconfigAdmin,
      readsPerMinute: DEFAULT_READS_PER_MINUTE,
      batchEmulatorHost: peers.emulator.host,
      ...opts,
    },
    {
      out: (text) => writes.push({ stream: 'out', text, at: Date.now() }),
      err: (text) => writes.push({ stream: 'err', text, at: Date.now() }),
    },
  );
  const join = (stream: 'out' | 'err') =>
    writes
      .filter((w) => w.stream === stream)
      .map((w) => w.text)
      .join('');
  return { code, out: join('out'), err: join('err'), writes };
}

const loggingCalls = (method: string) => peers.emulator.callLog().filter((c) => c.method === method).length;

describe('drmaa2-batch logs', () => {
  it("a script job's lines in order: stdout to stdout, stderr to stderr, as Batch labels them", async () => {
    // stdout and stderr are two pipes: lines of the two are in order of writing only when apart in time.
    await apply(
      'mixed',
      script('echo one; sleep 0.3; echo two >&2; sleep 0.3; echo three; sleep 0.3; echo four >&2'),
    );
    await waitFinished('mixed');
    const printed = await logs('mixed');
    expect(printed.code).toBe(0);
    expect(printed.writes.map((w) => `${w.stream}:${w.text}`)).toEqual([
      'out:one\n',
      'err:two\n',
      'out:three\n',
      'err:four\n',
    ]);
    const stamped = await logs('mixed', { timestamps: true });
    const times = stamped.writes.map((w) => w.text.split(' ')[0]!);
    expect(times.every((t) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/.test(t))).toBe(true);
    expect([...times].sort()).toEqual(times);
  });

  it('a 4-task job: task 0 unless told, --task N, and --all-tasks with a task prefix on each line', async () => {
    await apply('four', script('echo "I am $BATCH_TASK_INDEX"', { minSlots: 4, maxSlots: 4 }));
    await waitFinished('four');
    const first = await logs('four');
    expect(first.out).toBe('I am 0\n');
    expect(first.err).toContain('showing task 0 of 4');
    expect((await logs('four', { task: 2 })).out).toBe('I am 2\n');
    const all = await logs('four', { allTasks: true });
    expect(all.out.trimEnd().split('\n').sort()).toEqual([
      '[task 0] I am 0',
      '[task 1] I am 1',
      '[task 2] I am 2',
      '[task 3] I am 3',
    ]);
  });

  it("an array element's output by its DRMAA2 index", async () => {
    await apply('chunks', { ...script('echo "chunk $TASK_ID"'), array: { begin: 10, end: 40, step: 10 } });
    await waitFinished('chunks');
    expect((await logs('chunks', { arrayIndex: 30 })).out).toBe('chunk 30\n');
    const wrong = await logs('chunks', { arrayIndex: 35 });
    expect(wrong.code).toBe(1);
    expect(wrong.err).toBe('error: 35 is not an index of the array 10-40:10\n');
  });

  it('--tail and --since', async () => {
    await apply('counting', script('for i in 1 2 3 4 5 6; do echo "n$i"; done'));
    await waitFinished('counting');
    expect((await logs('counting', { tail: 2 })).out).toBe('n5\nn6\n');
    expect((await logs('counting', { tail: -1 })).out).toBe('n1\nn2\nn3\nn4\nn5\nn6\n');
    expect((await logs('counting', { since: '10m' })).out).toBe('n1\nn2\nn3\nn4\nn5\nn6\n');
    const future = await logs('counting', { since: new Date(Date.now() + 3_600_000).toISOString() });
    expect(future).toMatchObject({ code: 0, out: '' });
    expect(future.err).toMatch(/^no output in Cloud Logging for logs\/counting since /);
    const bad = await logs('counting', { since: 'yesterday' });
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('--since must be a duration');
  });

  it('--follow prints lines as the job prints them and ends once it has finished and its last lines are read', async () => {
    await apply('slow', script('for i in 1 2 3 4 5; do echo "tick $i"; sleep 1; done; echo done >&2'));
    // Follow from before the job runs: the tail is opened before the history is read.
    for (let i = 0; i < 100 && !(await get('slow')).status?.batchJob; i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    const lists = loggingCalls('ListLogEntries');
    const tails = loggingCalls('TailLogEntries');
    const started = Date.now();
    const printed = await logs('slow', { follow: true });
    const endedAt = Date.now();
    expect(printed.code).toBe(0);
    expect(printed.out).toBe('tick 1\ntick 2\ntick 3\ntick 4\ntick 5\n');
    expect(printed.err).toBe('done\n');
    // Lines came while the job ran, not all at its end: the first a good while before the follow ended.
    const first = printed.writes.find((w) => w.text === 'tick 1\n')!;
    const last = printed.writes.find((w) => w.text === 'done\n')!;
    expect(last.at - first.at).toBeGreaterThan(2_000);
    expect((await get('slow')).status?.state).toBe('Done');
    // One tail session and a couple of list calls for the whole follow (the history, the last read).
    expect(loggingCalls('TailLogEntries') - tails).toBe(1);
    const listed = loggingCalls('ListLogEntries') - lists;
    expect(listed).toBeGreaterThanOrEqual(1);
    expect(listed).toBeLessThanOrEqual(3);
    console.log(
      `follow of a ${((endedAt - started) / 1000).toFixed(1)} s job: ${listed} ListLogEntries calls, 1 tail session`,
    );
  });

  it('a job never submitted, a missing resource: clear errors, exit 1', async () => {
    await apply('waiting', { ...script('echo never'), hold: true });
    for (let i = 0; i < 100 && (await get('waiting')).status?.state !== 'QueuedHeld'; i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    const held = await logs('waiting');
    expect(held.code).toBe(1);
    expect(held.err).toMatch(
      /^error: Drmaa2Job logs\/waiting has not been submitted to Batch: state QueuedHeld/,
    );
    const missing = await logs('nope');
    expect(missing).toMatchObject({ code: 1, err: 'error: Drmaa2Job nope not found in namespace logs\n' });
  });

  it('a Batch job deleted after its TTL: its logs are still read, by the UID the status recorded', async () => {
    await apply('short-lived', { ...script('echo still here'), ttlSecondsAfterFinished: 0 });
    await waitFinished('short-lived');
    for (let i = 0; i < 100 && !(await get('short-lived')).status?.batchJob?.deleted; i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    const job = await get('short-lived');
    expect(job.status?.batchJob?.deleted).toBe(true);
    const printed = await logs('short-lived');
    expect(printed.code).toBe(0);
    expect(printed.out).toBe('still here\n');
    expect(printed.err).toContain(
      `no longer exists; its logs are read by its UID ${job.status!.batchJob!.uid}`,
    );
  });

  it("a status that names another resource's Batch job is not read", async () => {
    await apply('victim', script('echo private to the victim'));
    await apply('forger', script('echo the forger'));
    const victim = await waitFinished('victim');
    await waitFinished('forger');
    // Only the controller may write a status; here the cluster's admin forges one.
    const patch = { status: { batchJob: victim.status!.batchJob } };
    const r = await peers.controlPlane.kubectl([
      'patch',
      'drmaa2job',
      'forger',
      '-n',
      NS,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify(patch),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const printed = await logs('forger');
    expect(printed.code).toBe(1);
    expect(printed.out).toBe('');
    expect(printed.err).toContain("is not logs/forger's own");
  });

  it('no permission to read logs: the error says which permission', async () => {
    await apply('denied', script('echo secret-ish'));
    await waitFinished('denied');
    peers.emulator.setFaults({
      errors: { ListLogEntries: { probability: 1, codes: ['PERMISSION_DENIED'] } },
    });
    try {
      const printed = await logs('denied');
      expect(printed.code).toBe(1);
      expect(printed.out).toBe('');
      expect(printed.err).toMatch(/^error: not allowed to read: .*logging\.logEntries\.list/);
    } finally {
      peers.emulator.setFaults({});
    }
  });
});

describe("a failed job's status", () => {
  it('examples/failing.yaml: the Failed condition ends with the failed task, its exit code and its last lines; status.logs says where the rest is', async () => {
    const r = await peers.controlPlane.kubectl([
      'apply',
      '-n',
      NS,
      '-f',
      join(PROJECT_ROOT, 'examples', 'failing.yaml'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const job = await waitFinished('failing');
    const failed = job.status?.conditions?.find((c) => c.type === 'Failed');
    expect(failed?.status).toBe('True');
    expect(failed?.message).toMatch(/Task 0 exited with code 3; its last output:\nabout to fail$/);
    expect(job.status?.logs?.filter).toBe(
      `logName="projects/emulator/logs/batch_task_logs" AND labels.job_uid="${job.status?.batchJob?.uid}"`,
    );
    expect(job.status?.logs?.url).toContain('console.cloud.google.com/logs/query');
  });

  it('with outputInStatus: false the output stays out', async () => {
    await apply('quiet-fail', { ...script('echo "do not copy me"; exit 4'), outputInStatus: false });
    const job = await waitFinished('quiet-fail');
    const failed = job.status?.conditions?.find((c) => c.type === 'Failed');
    expect(failed?.message).toContain(
      'Task 0 exited with code 4; output excerpts are turned off for this job.',
    );
    expect(JSON.stringify(job.status)).not.toContain('do not copy me');
  });
});

describe('kubectl drmaa2', () => {
  const kubectlPath = () => join(peers.controlPlane.binDir, 'kubectl');
  const env = () => ({
    PATH: `${join(PROJECT_ROOT, 'bin')}:${process.env.PATH ?? ''}`,
    KUBECONFIG: peers.controlPlane.kubeconfigAdmin,
    BATCH_EMULATOR_HOST: peers.emulator.host,
  });

  it('kubectl finds the plugin on PATH and runs logs with kubectl-style flags', async () => {
    await apply('plugin', script('echo first; echo second; echo third'));
    await waitFinished('plugin');
    const r = await runKubectl(kubectlPath(), ['drmaa2', 'logs', 'plugin', '-n', NS, '--tail', '2'], {
      env: env(),
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('second\nthird\n');
  });

  it('kubectl drmaa2 --help lists what it can do', async () => {
    const r = await runKubectl(kubectlPath(), ['drmaa2', '--help'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: kubectl drmaa2 /m);
    expect(r.stdout).toMatch(/^ {2}logs \[options\] <name>/m);
    expect(r.stdout).toMatch(/^ {2}translate \[options\]/m);
    expect(r.stdout).not.toMatch(/controller|emulator/);
  });
});
