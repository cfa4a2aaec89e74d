// The emulator's Cloud Logging, read through the unmodified @google-cloud/logging client as a reader of Batch
// task logs reads Google's: entries per output line with Batch's log name, labels and severities, filters,
// order and pages, live tailing, the read quotas, ingestion delay and injected faults.
import { afterAll, beforeAll, describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as GrpcJs from '@grpc/grpc-js';
import type { BatchServiceClient } from '@google-cloud/batch';
import { Logging, type Entry } from '@google-cloud/logging';
import { loggingClientOptions } from '../../../src/adapters/logging/clientOptions.js';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../../src/emulator/index.js';
import { BatchGate, IamPolicy, TokenStore } from '../../../src/emulator/iam.js';
import { compileLogFilter, type FilterView } from '../../../src/emulator/logFilter.js';
import { generateCerts } from '../../support/certs.js';
import { trackDirectory, untrackDirectory } from '../../support/cleanup.js';
import { rawClient, waitFor } from './client.js';

const LOG_NAME = 'projects/p/logs/batch_task_logs';

interface Peer {
  emulator: RunningEmulator;
  batch: BatchServiceClient;
  logging: Logging;
}

async function peer(opts: EmulatorOptions = {}): Promise<Peer> {
  const emulator = await startEmulator({ stepMs: 5, ...opts });
  return {
    emulator,
    batch: rawClient(emulator.host),
    logging: new Logging(loggingClientOptions({ emulatorHost: emulator.loggingHost, projectId: 'p' })),
  };
}

async function close(p: Peer): Promise<void> {
  await p.batch.close();
  await p.logging.loggingService.close();
  await p.emulator.stop();
}

let main: Peer;
let counter = 0;

beforeAll(async () => {
  main = await peer();
});
afterAll(async () => {
  await close(main);
});

function scriptJob(text: string, extra: Record<string, unknown> = {}, taskCount = 1) {
  return {
    taskGroups: [{ taskCount, taskSpec: { runnables: [{ script: { text } }] } }],
    logsPolicy: { destination: 'CLOUD_LOGGING' },
    ...extra,
  };
}

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/** Runs a job to its end; returns its name and UID. */
async function run(
  p: Peer,
  job: Record<string, unknown>,
  parent = 'projects/p/locations/l',
  state = 'SUCCEEDED',
): Promise<{ name: string; uid: string }> {
  const [created] = await p.batch.createJob({ parent, jobId: `log-${++counter}`, job });
  const ended = await waitFor(
    async () => (await p.batch.getJob({ name: created.name! }))[0],
    (j) => TERMINAL.has(String(j.status?.state)),
  );
  assert.equal(ended.status?.state, state);
  return { name: created.name!, uid: created.uid! };
}

interface Listed {
  entries: Entry[];
  next: string;
}

async function list(
  p: Peer,
  filter: string,
  extra: { orderBy?: string; pageSize?: number; pageToken?: string; resourceNames?: string[] } = {},
): Promise<Listed> {
  const [entries, , response] = await p.logging.getEntries({
    resourceNames: ['projects/p'],
    filter,
    orderBy: 'timestamp asc',
    autoPaginate: false,
    ...extra,
  });
  return { entries, next: String((response as { nextPageToken?: string } | undefined)?.nextPageToken ?? '') };
}

const texts = (entries: Entry[]) => entries.map((e) => String(e.data));

async function rejects(promise: Promise<unknown>, code: number, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: { code?: number; message?: string }) => {
    assert.equal(err.code, code, err.message);
    if (message) assert.match(String(err.message), message);
    return true;
  });
}

describe('task output in Cloud Logging', () => {
  it("is one entry per line of stdout (INFO) and stderr (ERROR), in order, with Batch's log name and labels", async () => {
    const job = await run(
      main,
      scriptJob(
        "echo out-1; sleep 0.1; echo err-1 >&2; sleep 0.1; echo out-2; sleep 0.1; printf 'err-2' >&2",
        {
          labels: { team: 'blue' },
        },
      ),
    );
    const { entries } = await list(main, `logName="${LOG_NAME}" AND labels.job_uid="${job.uid}"`);
    assert.deepEqual(texts(entries), ['out-1', 'err-1', 'out-2', 'err-2']);
    assert.deepEqual(
      entries.map((e) => e.metadata.severity),
      ['INFO', 'ERROR', 'INFO', 'ERROR'],
    );
    for (const e of entries) {
      assert.equal(e.metadata.logName, LOG_NAME);
      assert.equal(e.metadata.labels?.job_uid, job.uid);
      assert.equal(e.metadata.labels?.task_id, `${job.uid}-group0-0`);
      assert.equal(e.metadata.labels?.team, 'blue');
      assert.equal(e.metadata.resource?.type, 'batch.googleapis.com/Job');
      assert.match(String(e.metadata.insertId), /^[0-9a-z]{14}$/);
    }
    const times = entries.map((e) => new Date(e.metadata.timestamp as Date).getTime());
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
    );
    assert.equal(main.emulator.taskLog(job.name, 0), 'out-1\nerr-1\nout-2\nerr-2');
  });

  it("Google's sample filter (logName and a bare job_uid) finds the job's entries", async () => {
    const job = await run(main, scriptJob('echo sample'));
    const { entries } = await list(main, `logName="${LOG_NAME}" labels.job_uid=${job.uid}`);
    assert.deepEqual(texts(entries), ['sample']);
  });

  it('gives each task of a 3-task job its own task_id, so that a filter reads one task', async () => {
    const job = await run(
      main,
      scriptJob('echo "task $BATCH_TASK_INDEX"; echo "again $BATCH_TASK_INDEX"', {}, 3),
    );
    for (const index of [0, 1, 2]) {
      const { entries } = await list(
        main,
        `labels.job_uid="${job.uid}" AND labels.task_id="${job.uid}-group0-${index}"`,
      );
      assert.deepEqual(texts(entries), [`task ${index}`, `again ${index}`]);
    }
    const has = await list(main, `labels.job_uid="${job.uid}" labels.task_id:"-group0-2"`);
    assert.deepEqual(texts(has.entries), ['task 2', 'again 2']);
  });

  it('compares timestamp filters as times, to the nanosecond', async () => {
    const job = await run(main, scriptJob('echo early; sleep 0.3; echo late'));
    const [early, late] = main.emulator.logEntries().filter((e) => e.labels.job_uid === job.uid);
    const mine = `labels.job_uid="${job.uid}"`;
    assert.deepEqual(texts((await list(main, `${mine} timestamp>="${late!.timestamp}"`)).entries), ['late']);
    assert.deepEqual(texts((await list(main, `${mine} timestamp<"${late!.timestamp}"`)).entries), ['early']);
    // A nanosecond after the early line, written with an offset instead of Z.
    const earlyMs = Date.parse(early!.timestamp);
    const shifted = new Date(earlyMs + 3_600_000).toISOString().replace(/\.(\d{3})Z$/, '.$1000001+01:00');
    assert.deepEqual(texts((await list(main, `${mine} timestamp>="${shifted}"`)).entries), ['late']);
    assert.deepEqual(
      texts((await list(main, `${mine} timestamp>="${early!.timestamp.slice(0, 10)}"`)).entries),
      ['early', 'late'],
    );
  });

  it('pages newest first with page tokens that neither repeat nor skip, even while entries arrive', async () => {
    const parent = 'projects/pages/locations/l';
    await run(main, scriptJob('for i in $(seq 1 60); do echo line-$i; done'), parent);
    // With a timestamp clause of its own, the library adds none (it would add a fresh one to every call,
    // making each page's filter differ from the one its token was made for).
    const filter = 'logName="projects/pages/logs/batch_task_logs" timestamp>="2000-01-01T00:00:00Z"';
    const opts = { resourceNames: ['projects/pages'], orderBy: 'timestamp desc' };
    // Logging's default page is 50 entries.
    const byDefault = await list(main, filter, opts);
    assert.equal(byDefault.entries.length, 50);
    assert.notEqual(byDefault.next, '');
    const first = await list(main, filter, { ...opts, pageSize: 25 });
    assert.deepEqual(
      texts(first.entries),
      Array.from({ length: 25 }, (_, i) => `line-${60 - i}`),
    );
    // Newer entries of the same listing arrive before the next page is read.
    await run(main, scriptJob('echo newer-1; echo newer-2'), parent);
    const seen = [...texts(first.entries)];
    let token = first.next;
    for (let pages = 0; token !== '' && pages < 10; pages++) {
      const next = await list(main, filter, { ...opts, pageSize: 25, pageToken: token });
      seen.push(...texts(next.entries));
      token = next.next;
    }
    assert.deepEqual(
      seen,
      Array.from({ length: 60 }, (_, i) => `line-${60 - i}`),
    );
    await rejects(
      list(main, 'labels.other="x"', { ...opts, pageSize: 25, pageToken: first.next }),
      3,
      /page_token/,
    );
    await rejects(
      list(main, filter, { ...opts, pageSize: 25, pageToken: 'bm90IGEgdG9rZW4' }),
      3,
      /page_token/,
    );
  });

  it('refuses page sizes over 1000 or below 0, orders other than by timestamp, and bad resource names', async () => {
    await rejects(list(main, '', { pageSize: 1001 }), 3, /page_size/);
    await rejects(list(main, '', { pageSize: -1 }), 3, /page_size/);
    await rejects(list(main, '', { orderBy: 'insertId asc' }), 3, /order_by/);
    await rejects(list(main, '', { resourceNames: ['nonsense'] }), 3, /resource name/);
    assert.ok((await list(main, '', { pageSize: 1000 })).entries.length > 0);
  });

  it('answers filters outside the language with INVALID_ARGUMENT naming the problem', async () => {
    const bad: [string, RegExp][] = [
      ['labels.job_uid=', /value is missing/],
      ['(severity=ERROR', /"\)" expected/],
      ['severity=ERROR OR', /OR needs a term/],
      ['AND severity=ERROR', /AND needs a term before/],
      ['textPayload="open', /unterminated string/],
      ['thud="x"', /"thud" is not a field/],
      ['textPayload.thud:x', /"textPayload.thud" is not a field/],
      ['resource.zone=x', /"resource.zone" is not a field/],
      ['SEARCH("x")', /function SEARCH is not supported/],
      ['severity=ERROR)', /unexpected "\)"/],
      ['severity=ERROR AND', /AND needs a term after/],
      ['textPayload=~"x"', /not supported/],
      ['('.repeat(100) + 'a' + ')'.repeat(100), /nesting/],
      [`textPayload:"${'x'.repeat(20_000)}"`, /maximum is 20000/],
    ];
    // The library appends ` AND timestamp >= "<a day ago>"` to each of them: they must fail with it too.
    for (const [filter, message] of bad) await rejects(list(main, filter), 3, message);
  });

  it('combines comparisons with NOT, OR before AND, parentheses and bare values', async () => {
    const job = await run(main, scriptJob('echo apple; echo banana >&2; echo cherry; echo Durian >&2'));
    const mine = `labels.job_uid="${job.uid}"`;
    const read = async (filter: string) => texts((await list(main, `${mine} AND (${filter})`)).entries);
    assert.deepEqual(await read('NOT severity=ERROR'), ['apple', 'cherry']);
    assert.deepEqual(await read('-severity>=ERROR'), ['apple', 'cherry']);
    assert.deepEqual(await read('severity>=WARNING'), ['banana', 'Durian']);
    assert.deepEqual(await read('textPayload:"an" OR textPayload="apple" AND severity=INFO'), ['apple']);
    assert.deepEqual(await read('(textPayload:"an" OR textPayload="apple") severity=INFO'), ['apple']);
    assert.deepEqual(await read('durian'), ['Durian']);
    assert.deepEqual(await read('"cher"'), ['cherry']);
    assert.deepEqual(await read('log_id("batch_task_logs") textPayload=cherry'), ['cherry']);
    assert.deepEqual(await read('resource.labels.job_id="nope" OR labels.missing:*'), []);
    assert.deepEqual(await read(`resource.labels.job_id="${job.uid}" textPayload=apple`), ['apple']);
    assert.deepEqual(await read('jsonPayload.message:"apple"'), []);
    // Strings compare ignoring case; a value list applies the field and operator to each value.
    assert.deepEqual(await read('textPayload="APPLE"'), ['apple']);
    assert.deepEqual(await read('textPayload=("apple" OR cherry)'), ['apple', 'cherry']);
    assert.deepEqual(await read('textPayload:("e" AND "a")'), ['apple']);
    assert.deepEqual(await read('-- banana is on stderr\nseverity=ERROR textPayload:ban'), ['banana']);
    // A value that cannot be converted to the field's type makes the comparison fail, not the filter.
    assert.deepEqual(await read('severity>=LOUD OR timestamp>="yesterday"'), []);
    assert.deepEqual(await read('NOT severity>=LOUD textPayload=apple'), ['apple']);
    // Defaulted fields compare as their default, and are never explicitly present.
    assert.deepEqual(await read('trace="" textPayload=apple'), ['apple']);
    assert.deepEqual(await read('trace:*'), []);
  });

  it('writes no Cloud Logging entry for a job whose logs go to a PATH, or nowhere', async () => {
    const toPath = await run(
      main,
      scriptJob('echo to-a-file', { logsPolicy: { destination: 'PATH', logsPath: '/var/log/job.log' } }),
    );
    const nowhere = await run(main, scriptJob('echo to-nowhere', { logsPolicy: {} }));
    for (const job of [toPath, nowhere]) {
      assert.deepEqual(texts((await list(main, `labels.job_uid="${job.uid}"`)).entries), []);
      assert.equal(main.emulator.logEntries().filter((e) => e.labels.job_uid === job.uid).length, 0);
    }
    assert.match(main.emulator.taskLog(toPath.name, 0), /to-a-file/);
  });

  it('answers the methods it does not serve with UNIMPLEMENTED, and counts them', async () => {
    await rejects(
      main.logging.getLogs({ autoPaginate: false }),
      12,
      /ListLogs is not implemented by the emulator/,
    );
    assert.equal(main.emulator.stats().calls.ListLogs?.UNIMPLEMENTED, 1);
  });

  it("writes the emulator's own message about a runnable that could not start as stderr", async () => {
    const environment = { variables: { BIG: 'x'.repeat(200_000) } };
    const job = await run(
      main,
      scriptJob('true', {
        taskGroups: [{ taskSpec: { runnables: [{ script: { text: 'true' } }], environment } }],
      }),
      undefined,
      'FAILED',
    );
    const { entries } = await list(main, `labels.job_uid="${job.uid}"`);
    assert.equal(entries.length, 1);
    assert.equal(entries[0]!.metadata.severity, 'ERROR');
    assert.match(String(entries[0]!.data), /E2BIG/);
  });
});

describe('TailLogEntries', () => {
  it('streams the lines of a running job as they come, and nothing written before the session', async () => {
    const before = await run(main, scriptJob('echo before-the-tail'), 'projects/tail/locations/l');
    const received: { at: number; lines: string[] }[] = [];
    const admitted = waitForCall(main.emulator, 'TailLogEntries');
    const tail = main.logging.tailEntries({
      resourceNames: ['projects/tail'],
      filter: 'logName="projects/tail/logs/batch_task_logs"',
    });
    const errors: unknown[] = [];
    tail.on('error', (err) => errors.push(err));
    tail.on('data', (response: { entries: Entry[] }) =>
      received.push({ at: Date.now(), lines: texts(response.entries) }),
    );
    assert.equal(await admitted, 'OK');
    const job = await run(
      main,
      scriptJob('for i in 1 2 3 4; do echo tick-$i; sleep 0.8; done'),
      'projects/tail/locations/l',
    );
    const endedAt = Date.now();
    await waitFor(
      async () => received.flatMap((r) => r.lines),
      (lines) => lines.length >= 4,
      10_000,
    );
    (tail as unknown as { abort(): void }).abort();
    assert.deepEqual(
      received.flatMap((r) => r.lines),
      ['tick-1', 'tick-2', 'tick-3', 'tick-4'],
    );
    assert.ok(
      received.length >= 2,
      `lines came in batches as they were written: ${JSON.stringify(received)}`,
    );
    assert.ok(received[0]!.at < endedAt, 'the first lines arrived while the job was still running');
    assert.notEqual(before.uid, job.uid);
    assert.equal(errors.filter((e) => (e as { code?: number }).code !== 1).length, 0, String(errors));
  });

  it('ends its sessions when the emulator stops', async () => {
    const p = await peer();
    const admitted = waitForCall(p.emulator, 'TailLogEntries');
    const tail = p.logging.tailEntries({ resourceNames: ['projects/p'] });
    const ended = new Promise<string>((resolve) => {
      tail.on('end', () => resolve('end'));
      tail.on('error', () => resolve('error'));
      tail.on('close', () => resolve('close'));
    });
    tail.resume();
    assert.equal(await admitted, 'OK');
    const started = Date.now();
    await close(p);
    assert.ok(['end', 'close'].includes(await ended));
    assert.ok(Date.now() - started < 1500, 'the server did not wait for the open session');
  });
});

/** The code the next call of `method` is answered with. */
function waitForCall(emulator: RunningEmulator, method: string): Promise<string> {
  return new Promise((resolve) => {
    const off = emulator.onCall((call) => {
      if (call.method !== method) return;
      off();
      resolve(call.code);
    });
  });
}

describe('Cloud Logging read quotas', () => {
  let limited: Peer;
  beforeAll(async () => {
    limited = await peer({ loggingQuota: { listPerMinute: 3, tailSessions: 1 } });
  });
  afterAll(async () => {
    await close(limited);
  });

  it('refuses ListLogEntries past the per-project budget with RESOURCE_EXHAUSTED, in Logging words', async () => {
    for (let i = 0; i < 3; i++) await list(limited, '');
    await rejects(
      list(limited, ''),
      8,
      /Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute' of service 'logging.googleapis.com'/,
    );
    // The budget is per project.
    await list(limited, '', { resourceNames: ['projects/other'] });
    assert.equal(limited.emulator.stats().calls.ListLogEntries?.RESOURCE_EXHAUSTED, 1);
  });

  it('allows as many open tail sessions per project as configured, and frees one when it closes', async () => {
    const open = (project: string) => {
      const answered = waitForCall(limited.emulator, 'TailLogEntries');
      const tail = limited.logging.tailEntries({ resourceNames: [`projects/${project}`] });
      const failed = new Promise<number>((resolve) =>
        tail.on('error', (e: { code?: number }) => resolve(e.code ?? -1)),
      );
      tail.resume();
      return { tail, answered, failed };
    };
    // The client adds its own project (p) to the resource names: each session names p too.
    const first = open('t1');
    assert.equal(await first.answered, 'OK');
    const second = open('t2');
    assert.equal(await second.answered, 'RESOURCE_EXHAUSTED');
    assert.equal(await second.failed, 8);
    (first.tail as unknown as { abort(): void }).abort();
    await waitFor(
      async () => {
        const third = open('t3');
        const code = await third.answered;
        (third.tail as unknown as { abort(): void }).abort();
        return code;
      },
      (code) => code === 'OK',
      5000,
    );
  });
});

describe("the task_id label's other form", () => {
  it('is task/<job uid>-group0-<i>/0/0 with taskIdLabel taskPath', async () => {
    const other = await peer({ taskIdLabel: 'taskPath' });
    try {
      const job = await run(other, scriptJob('echo "i=$BATCH_TASK_INDEX"', {}, 2));
      const { entries } = await list(other, `labels.task_id:"${job.uid}-group0-1"`);
      assert.deepEqual(texts(entries), ['i=1']);
      assert.equal(entries[0]!.metadata.labels?.task_id, `task/${job.uid}-group0-1/0/0`);
    } finally {
      await close(other);
    }
  });
});

describe('Cloud Logging ingestion delay', () => {
  let delayed: Peer;
  beforeAll(async () => {
    delayed = await peer({ ingestionDelayMs: 1500 });
  });
  afterAll(async () => {
    await close(delayed);
  });

  it('hides fresh entries from readers until the delay has passed', async () => {
    const job = await run(delayed, scriptJob('echo fresh'));
    const filter = `labels.job_uid="${job.uid}"`;
    assert.equal(delayed.emulator.logEntries().filter((e) => e.labels.job_uid === job.uid).length, 1);
    assert.deepEqual(texts((await list(delayed, filter)).entries), []);
    const later = await waitFor(
      async () => texts((await list(delayed, filter)).entries),
      (lines) => lines.length > 0,
      5000,
    );
    assert.deepEqual(later, ['fresh']);
  });
});

describe('faults and identity on Cloud Logging calls', () => {
  it('passes an injected PERMISSION_DENIED to the client as code 7, and counts the call', async () => {
    main.emulator.setFaults({
      errors: {
        ListLogEntries: { probability: 1, codes: ['PERMISSION_DENIED'] },
        TailLogEntries: { probability: 1, codes: ['NOT_FOUND'] },
      },
    });
    try {
      const before = main.emulator.stats().calls.ListLogEntries?.PERMISSION_DENIED ?? 0;
      await rejects(list(main, ''), 7, /injected fault/);
      assert.equal(main.emulator.stats().calls.ListLogEntries?.PERMISSION_DENIED, before + 1);
      const tail = main.logging.tailEntries({ resourceNames: ['projects/p'] });
      tail.resume();
      const code = await new Promise<number>((resolve) =>
        tail.on('error', (e: { code?: number }) => resolve(e.code ?? -1)),
      );
      assert.equal(code, 5);
    } finally {
      main.emulator.setFaults({});
    }
    await list(main, '');
  });

  it("needs logging.logEntries.list on every project read, which Batch's rights do not give", () => {
    const gate = new BatchGate(
      new IamPolicy({ reader: { logProjects: ['p'] }, batchOnly: { projects: ['p'] } }),
      new TokenStore(),
    );
    gate.authorizeLogRead('reader', ['p']);
    assert.throws(
      () => gate.authorizeLogRead('reader', ['p', 'q']),
      /Permission 'logging.logEntries.list' denied on resource \(or it may not exist\)\./,
    );
    assert.throws(() => gate.authorizeLogRead('batchOnly', ['p']), /logging.logEntries.list/);
  });
});

describe('caller identity on Cloud Logging, over TLS', () => {
  const POOL = 'projects/123456789012/locations/global/workloadIdentityPools/clusters';
  const AUDIENCE = `//iam.googleapis.com/${POOL}/providers/test`;
  const principal = (sub: string) => `principal://iam.googleapis.com/${POOL}/subject/${sub}`;
  let dir: string;
  let ca: Buffer;
  let key: KeyObject;
  let secure: RunningEmulator;
  const clients: Logging[] = [];

  /** The grpc-js that builds the Logging client's channel: its credentials are the only ones it accepts. */
  function loggingGrpc(): typeof GrpcJs {
    const fromHere = createRequire(import.meta.url);
    const fromLogging = createRequire(fromHere.resolve('@google-cloud/logging'));
    const fromApi = createRequire(fromLogging.resolve('@google-cloud/logging-api'));
    return createRequire(fromApi.resolve('google-gax'))('@grpc/grpc-js') as typeof GrpcJs;
  }

  function client(token?: string): Logging {
    const grpc = loggingGrpc();
    const tls = grpc.credentials.createSsl(ca);
    const bearer = grpc.credentials.createFromMetadataGenerator((_params, callback) => {
      const metadata = new grpc.Metadata();
      metadata.add('authorization', `Bearer ${token}`);
      callback(null, metadata);
    });
    const logging = new Logging({
      apiEndpoint: '127.0.0.1',
      port: secure.port,
      projectId: 'p',
      universeDomain: 'googleapis.com',
      sslCreds: token ? grpc.credentials.combineChannelCredentials(tls, bearer) : tls,
    } as ConstructorParameters<typeof Logging>[0]);
    clients.push(logging);
    return logging;
  }

  /** A federated access token for `sub`, from the emulator's token exchange. */
  function tokenFor(sub: string): Promise<string> {
    const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const signed = `${part({ alg: 'ES256', typ: 'JWT' })}.${part({ sub, iat: now, exp: now + 600 })}`;
    const jwt = `${signed}.${sign('sha256', Buffer.from(signed), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
    const body = new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      audience: AUDIENCE,
      scope: 'https://www.googleapis.com/auth/cloud-platform',
      requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      subject_token: jwt,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    }).toString();
    return new Promise((resolve, reject) => {
      const req = request(
        `${secure.identityUrl}/v1/token`,
        { method: 'POST', ca, headers: { 'content-type': 'application/x-www-form-urlencoded' } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve(String((JSON.parse(text) as { access_token?: string }).access_token)));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'drmaa2-logging-identity-'));
    trackDirectory(dir);
    const certs = await generateCerts(dir);
    ca = readFileSync(certs.ca.cert);
    key = createPrivateKey(readFileSync(certs.serviceAccountKey));
    secure = await startEmulator({
      stepMs: 5,
      tls: { cert: readFileSync(certs.serving.cert, 'utf8'), key: readFileSync(certs.serving.key, 'utf8') },
      iam: {
        federation: [
          { audience: AUDIENCE, publicKeys: [readFileSync(certs.serviceAccountPublicKey, 'utf8')] },
        ],
        principals: {
          [principal('reader')]: { logProjects: ['p'] },
          [principal('batch')]: { projects: ['p'] },
        },
      },
    });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.loggingService.close()));
    await secure?.stop();
    if (dir) {
      rmSync(dir, { recursive: true, force: true });
      untrackDirectory(dir);
    }
  });

  it('needs a token, then logging.logEntries.list on each project read', async () => {
    const read = (logging: Logging, project = 'p') =>
      logging.getEntries({ resourceNames: [`projects/${project}`], autoPaginate: false });
    await rejects(read(client()), 16, /Request is missing required authentication credential/);
    await rejects(
      read(client(await tokenFor('batch'))),
      7,
      /Permission 'logging.logEntries.list' denied on resource \(or it may not exist\)\./,
    );
    const reader = client(await tokenFor('reader'));
    const [entries] = await read(reader);
    assert.deepEqual(entries, []);
    await rejects(read(reader, 'q'), 7, /logging.logEntries.list/);
    const calls = secure.callLog().filter((c) => c.method === 'ListLogEntries');
    assert.deepEqual(
      calls.map((c) => [c.code, c.principal]),
      [
        ['UNAUTHENTICATED', undefined],
        ['PERMISSION_DENIED', principal('batch')],
        ['OK', principal('reader')],
        ['PERMISSION_DENIED', principal('reader')],
      ],
    );
  });
});

describe('the filter language, without a server', () => {
  const entry = (over: Partial<FilterView> = {}): FilterView => ({
    logName: 'projects/p/logs/batch_task_logs',
    severity: 'INFO',
    insertId: 'a1',
    textPayload: 'hello world',
    labels: { job_uid: 'j-1', 'k8s-pod/app': 'web' },
    resource: { type: 'batch.googleapis.com/Job', labels: { location: 'l' } },
    timeMs: Date.UTC(2026, 0, 1),
    receiveTimeMs: Date.UTC(2026, 0, 1),
    ...over,
  });

  it('matches quoted label keys, existence, and missing fields as no match', () => {
    assert.equal(compileLogFilter('labels."k8s-pod/app"=web')(entry()), true);
    assert.equal(compileLogFilter('labels.job_uid:*')(entry()), true);
    assert.equal(compileLogFilter('labels.absent:*')(entry()), false);
    assert.equal(compileLogFilter('labels.absent!="x"')(entry()), false);
    assert.equal(compileLogFilter('NOT labels.absent="x"')(entry()), true);
    assert.equal(compileLogFilter('textPayload!="hello world"')(entry()), false);
    assert.equal(compileLogFilter('')(entry()), true);
    assert.equal(compileLogFilter('hello and')(entry()), false, 'lower-case and is a value');
    assert.equal(compileLogFilter('severity=info insertId>="a0"')(entry()), true);
    assert.equal(compileLogFilter('timestamp="2026-01-01T00:00:00Z"')(entry()), true);
  });

  it('never throws anything but INVALID_ARGUMENT, whatever the input', () => {
    const pieces = [
      '(',
      ')',
      '"',
      '\\',
      'AND',
      'OR',
      'NOT',
      '-',
      '=',
      '!=',
      ':',
      '>=',
      '<',
      'labels.',
      'a',
      ' ',
      '*',
      '~',
    ];
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 3000; i++) {
      const filter = Array.from(
        { length: 1 + Math.floor(random() * 12) },
        () => pieces[Math.floor(random() * pieces.length)],
      ).join('');
      try {
        compileLogFilter(filter)(entry());
      } catch (err) {
        assert.equal((err as { code?: number }).code, 3, `${JSON.stringify(filter)}: ${String(err)}`);
      }
    }
  });
});
