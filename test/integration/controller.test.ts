// The controller end to end: the real kube-apiserver (with the shipped CRD and RBAC; the controller runs
// as its ServiceAccount), the Batch emulator through the real @google-cloud/batch client, fake-gcs-server
// through @google-cloud/storage, and the real kubectl as a user would type it.
import { afterAll, beforeAll, describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { load } from 'js-yaml';
import { runController, type RunningController } from '../../src/cli/controller.js';
import { parseConfig } from '../../src/controller/config.js';
import type { Drmaa2Job } from '../../src/api/drmaa2job.js';
import { startPeers, type Peers } from '../support/startPeers.js';
import { PROJECT_ROOT } from '../support/peers.js';
import { readDrmaa2Job, waitFinished as waitForFinished } from '../support/drmaa2Jobs.js';

const NS = 'e2e';
let peers: Peers;
let controller: RunningController;

async function startController(extraEnv: Record<string, string> = {}): Promise<RunningController> {
  const parsed = parseConfig(
    {
      kubeconfig: peers.controlPlane.kubeconfigController,
      pollInterval: '500ms',
      metricsAddr: '127.0.0.1:0',
      healthAddr: '127.0.0.1:0',
      session: 'e2e',
    },
    {
      BATCH_EMULATOR_HOST: peers.emulator.host,
      STORAGE_EMULATOR_HOST: peers.storageEmulatorHost,
      ...extraEnv,
    },
  );
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return runController(parsed.config, pino({ level: process.env.DRMAA2_TEST_LOG ?? 'silent' }));
}

async function kubectl(args: string[], input?: string) {
  const result = await peers.controlPlane.kubectl(args, input === undefined ? {} : { input });
  if (args[0] === 'apply' || args[0] === 'patch')
    assert.equal(result.code, 0, `kubectl ${args.join(' ')}: ${result.stderr}`);
  return result;
}

const get = (name: string) => readDrmaa2Job(peers.controlPlane.kubectl, NS, name);

const waitFinished = (name: string, timeout = '90s') =>
  waitForFinished(peers.controlPlane.kubectl, NS, name, timeout);

function manifest(name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: 'drmaa2.io/v1alpha1',
    kind: 'Drmaa2Job',
    metadata: { name, namespace: NS },
    spec,
  });
}

const script = (text: string, extra: Record<string, unknown> = {}) => ({
  jobTemplate: {
    remoteCommand: text,
    jobCategory: '$script$',
    candidateMachines: ['e2-standard-2'],
    ...extra,
  },
});

function batchJobsOf(uid: string) {
  return peers.emulator.jobs().filter((j) => j.labels?.['drmaa2-uid'] === uid);
}

beforeAll(async () => {
  peers = await startPeers();
  assert.equal((await kubectl(['create', 'namespace', NS])).code, 0);
  controller = await startController();
});

afterAll(async () => {
  await controller?.stop();
  await peers?.stop();
});

/** What an example must end as, read from its manifest alone: the exit status its script ends with, and the
 * Batch jobs its array spec (or its slots) makes — one job of one task per index for a plain array, one job
 * per index for an array of multi-task elements, else one job of maxSlots tasks. */
interface ExpectedEnd {
  file: string;
  hold: boolean;
  state: 'Done' | 'Failed';
  exitStatus: number;
  batchJobs: number;
  tasksPerJob: number;
}

function expectedEnd(file: string, job: Drmaa2Job): ExpectedEnd {
  const { jobTemplate: template, array } = job.spec;
  const exit =
    template.jobCategory === '$script$' ? /^\s*exit (\d+)\s*$/m.exec(template.remoteCommand ?? '') : null;
  const exitStatus = exit ? Number(exit[1]) : 0;
  const slots = template.maxSlots || 1;
  const indexes = array ? Math.floor((array.end - array.begin) / (array.step ?? 1)) + 1 : 0;
  return {
    file,
    hold: job.spec.hold === true,
    state: exitStatus === 0 ? 'Done' : 'Failed',
    exitStatus,
    batchJobs: array && slots > 1 ? indexes : 1,
    tasksPerJob: array && slots <= 1 ? indexes : slots,
  };
}

const EXAMPLES_DIR = join(PROJECT_ROOT, 'examples');
const EXAMPLES = readdirSync(EXAMPLES_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((file) => {
    const doc = load(readFileSync(join(EXAMPLES_DIR, file), 'utf8')) as Drmaa2Job;
    return [doc.metadata.name, expectedEnd(file, doc)] as const;
  });

describe('every example runs to its expected end', () => {
  beforeAll(async () => {
    assert.ok(EXAMPLES.length >= 6, 'the examples are there');
    assert.ok(
      EXAMPLES.some(([, e]) => e.state === 'Failed') &&
        EXAMPLES.some(([, e]) => e.batchJobs > 1 || e.tasksPerJob > 1),
      'the examples include a failing job and one of several tasks',
    );
    for (const [, { file }] of EXAMPLES) {
      const r = await kubectl(['apply', '-n', NS, '-f', join(EXAMPLES_DIR, file)]);
      assert.equal(r.code, 0, `${file}: ${r.stderr}`);
    }
  });

  it.each(EXAMPLES)('%s', async (name, expected) => {
    if (expected.hold) {
      await waitForState(name, 'QueuedHeld');
      assert.equal((await patchSpec(name, '{"spec":{"hold":false}}')).code, 0);
    }
    const done = await waitFinished(name);
    assert.equal(done.status?.state, expected.state, `${name}: ${JSON.stringify(done.status?.conditions)}`);
    assert.equal(done.status?.jobInfo?.exitStatus, expected.exitStatus, `${name}: the exit status`);
    const jobs = batchJobsOf(done.metadata.uid);
    assert.equal(jobs.length, expected.batchJobs, `${name}: Batch jobs`);
    for (const job of jobs)
      assert.equal(
        Number(job.taskGroups?.[0]?.taskCount),
        expected.tasksPerJob,
        `${name}: tasks of ${job.name}`,
      );
    assert.equal(
      done.status?.tasks?.total,
      expected.batchJobs * expected.tasksPerJob,
      `${name}: status.tasks.total`,
    );
  });
});

describe('controller', () => {
  it('a failing script ends Failed with its real exit code, visible in kubectl wait and the events', async () => {
    await kubectl(['apply', '-f', '-'], manifest('fails', script('echo bad; exit 3')));
    const job = await waitFinished('fails');
    assert.equal(job.status?.state, 'Failed');
    assert.equal(job.status?.jobInfo?.exitStatus, 3);
    assert.equal(job.status?.conditions?.find((c) => c.type === 'Failed')?.reason, 'TasksFailed');
    const reasons = await eventReasons('fails', ['Submitted', 'Failed']);
    assert.ok(reasons.includes('Submitted') && reasons.includes('Failed'), `events: ${reasons.join(',')}`);
  });

  it('a hold set on a running job is reported as ignored, and the job runs on', async () => {
    await kubectl(['apply', '-f', '-'], manifest('held-late', script('sleep 3')));
    await waitForState('held-late', 'Running');
    await patchSpec('held-late', '{"spec":{"hold":true}}');
    const reasons = await eventReasons('held-late', ['HoldIgnored']);
    assert.ok(reasons.includes('HoldIgnored'), `events: ${reasons.join(',')}`);
    const job = await waitFinished('held-late');
    assert.equal(job.status?.state, 'Done');
    assert.equal(job.status?.observedGeneration, job.metadata.generation);
  });

  it('an array job reports per-index results', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      manifest('array-partial', {
        ...script('test "$TASK_ID" != 4'),
        array: { begin: 1, end: 6, maxParallel: 3 },
      }),
    );
    const job = await waitFinished('array-partial');
    assert.equal(job.status?.array?.completedIndexes, '1-3,5-6');
    assert.equal(job.status?.array?.failedIndexes, '4');
    assert.equal(batchJobsOf(job.metadata.uid).length, 1, 'one native Batch array job');
  });

  it('an array of multi-task elements runs one Batch job per element and reports per-index results', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      manifest('array-elements', {
        ...script('sleep 0.$TASK_ID; test "$TASK_ID" != 3', { minSlots: 1, maxSlots: 2 }),
        array: { begin: 1, end: 4 },
      }),
    );
    const job = await waitFinished('array-elements');
    assert.equal(job.status?.state, 'Failed');
    assert.equal(job.status?.array?.completedIndexes, '1-2,4');
    assert.equal(job.status?.array?.failedIndexes, '3');
    const elements = batchJobsOf(job.metadata.uid);
    assert.equal(elements.length, 4, 'one Batch job per element');
    assert.deepEqual(job.status?.array?.jobs?.map((j) => j.name).sort(), elements.map((j) => j.name).sort());
    for (const element of elements) assert.equal(Number(element.taskGroups?.[0]?.taskCount), 2);
  });

  it('an invalid extension ends Failed/InvalidSpec with the field path and no Batch call', async () => {
    const before = peers.emulator.stats().calls.CreateJob?.OK ?? 0;
    await kubectl(
      ['apply', '-f', '-'],
      manifest('invalid', script('true', { extension: { extensionList: { secret_env: '%%%' } } })),
    );
    const job = await waitFinished('invalid');
    assert.equal(job.status?.conditions?.find((c) => c.type === 'Failed')?.reason, 'InvalidSpec');
    assert.match(
      job.status!.conditions!.find((c) => c.type === 'Failed')!.message,
      /spec\.jobTemplate\.extension\.extensionList\.secret_env/,
    );
    assert.equal(batchJobsOf(job.metadata.uid).length, 0);
    assert.equal(peers.emulator.stats().calls.CreateJob?.OK ?? 0, before);
  });

  it('terminate cancels the Batch job and keeps the record', async () => {
    await kubectl(['apply', '-f', '-'], manifest('long', script('sleep 60')));
    await waitForState('long', 'Running');
    await patchSpec('long', '{"spec":{"terminate":true}}');
    const job = await waitFinished('long');
    assert.equal(job.status?.state, 'Failed');
    assert.equal(job.status?.subState, 'CANCELLED');
    assert.equal(batchJobsOf(job.metadata.uid)[0]?.status?.state, 'CANCELLED');
  });

  it('deleting with policy Delete removes the Batch job before the resource; Orphan leaves it', async () => {
    await kubectl(['apply', '-f', '-'], manifest('doomed', script('sleep 60')));
    await kubectl(
      ['apply', '-f', '-'],
      manifest('orphan', { ...script('sleep 60'), deletionPolicy: 'Orphan' }),
    );
    await waitForState('doomed', 'Running');
    await waitForState('orphan', 'Running');
    const doomed = (await get('doomed')).metadata.uid;
    const orphan = (await get('orphan')).metadata.uid;
    assert.equal(
      (await kubectl(['delete', 'drmaa2job', 'doomed', 'orphan', '-n', NS, '--timeout=60s'])).code,
      0,
    );
    assert.equal(batchJobsOf(doomed).length, 0, 'the Batch job is gone');
    assert.equal(batchJobsOf(orphan).length, 1, 'the orphaned Batch job remains');
  });

  it('ttlSecondsAfterFinished deletes only the Batch job; the resource and its status stay', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      manifest('short-lived', { ...script('true'), ttlSecondsAfterFinished: 1 }),
    );
    const done = await waitFinished('short-lived');
    assert.equal(done.status?.state, 'Done');
    const r = await kubectl([
      'wait',
      '--for=jsonpath={.status.batchJob.deleted}=true',
      'drmaa2job/short-lived',
      '-n',
      NS,
      '--timeout=60s',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const kept = await get('short-lived');
    assert.equal(kept.status?.state, 'Done');
    assert.equal(batchJobsOf(kept.metadata.uid).length, 0);
  });

  it('a restarted controller creates no second Batch job and loses no status', async () => {
    await kubectl(['apply', '-f', '-'], manifest('restart', script('sleep 2')));
    await waitForState('restart', 'Queued');
    await controller.stop();
    controller = await startController();
    const job = await waitFinished('restart');
    assert.equal(job.status?.state, 'Done');
    assert.equal(batchJobsOf(job.metadata.uid).length, 1);
  });
});

/** The reasons of the Events about `name`, once all of `wanted` are among them (Events are recorded
 * fire-and-forget, so they arrive a little after the status) or after 10 s. */
async function eventReasons(name: string, wanted: string[]): Promise<string[]> {
  let reasons: string[] = [];
  for (let i = 0; i < 50 && !wanted.every((w) => reasons.includes(w)); i++) {
    const events = await kubectl(['get', 'events.events.k8s.io', '-n', NS, '-o', 'json']);
    reasons = (
      JSON.parse(events.stdout) as { items: { reason: string; regarding?: { name?: string } }[] }
    ).items
      .filter((e) => e.regarding?.name === name)
      .map((e) => e.reason);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return reasons;
}

async function patchSpec(name: string, patch: string) {
  return kubectl(['patch', 'drmaa2job', name, '-n', NS, '--type=merge', '-p', patch]);
}

async function waitForState(name: string, state: string): Promise<void> {
  const r = await kubectl([
    'wait',
    `--for=jsonpath={.status.state}=${state}`,
    `drmaa2job/${name}`,
    '-n',
    NS,
    '--timeout=60s',
  ]);
  assert.equal(r.code, 0, `${name} never reached ${state}: ${r.stderr}`);
}
