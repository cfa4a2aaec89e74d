// `drmaa2-batch translate` as a user runs it: a child process on temp files and stdin.
import { afterAll, beforeAll, describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAll } from 'js-yaml';
import type { CreateJobRequest } from '../../../src/api/batch.js';

const BIN = fileURLToPath(new URL('../../../bin/drmaa2-batch.js', import.meta.url));
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'drmaa2-translate-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function run(args: string[], input?: string) {
  const env = { ...process.env };
  delete env.DRMAA2_PROJECT;
  delete env.DRMAA2_LOCATION;
  delete env.DRMAA2_SESSION;
  const res = spawnSync(process.execPath, [BIN, 'translate', ...args], {
    input,
    encoding: 'utf8',
    timeout: 60_000,
    env,
  });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

const manifest = (name: string, template: string) => `apiVersion: drmaa2.io/v1alpha1
kind: Drmaa2Job
metadata:
  name: ${name}
  namespace: genomics
spec:
  jobTemplate:
${template}
`;

const VALID = manifest(
  'hello',
  `    remoteCommand: echo hello
    jobCategory: $script$
    candidateMachines: [e2-standard-2]`,
);
const INVALID = manifest(
  'broken',
  `    remoteCommand: echo broken
    candidateMachines: [e2-standard-2]`,
);

// Each test starts the CLI as a child process, allowed as long as the spawn's own limit.
describe('drmaa2-batch translate', { timeout: 60_000 }, () => {
  it('prints the CreateJobRequest of a manifest as YAML', () => {
    const res = run(['-f', file('valid.yaml', VALID)]);
    assert.equal(res.code, 0, res.stderr);
    const docs = loadAll(res.stdout) as CreateJobRequest[];
    assert.equal(docs.length, 1);
    assert.equal(docs[0]?.parent, 'projects/my-project/locations/us-central1');
    assert.ok(docs[0]?.jobId);
  });

  it('is deterministic for a manifest without a uid', () => {
    const path = file('same.yaml', VALID);
    assert.equal(run(['-f', path]).stdout, run(['-f', path]).stdout);
  });

  it('takes project, location and session from flags', () => {
    const res = run([
      '-f',
      file('flags.yaml', VALID),
      '-o',
      'json',
      '--project',
      'proj-x',
      '--location',
      'europe-west4',
      '--session',
      'night',
    ]);
    assert.equal(res.code, 0, res.stderr);
    const request = JSON.parse(res.stdout) as CreateJobRequest;
    assert.equal(request.parent, 'projects/proj-x/locations/europe-west4');
    assert.equal(request.job.labels?.drmaa2session, 'night');
  });

  it('prints the valid documents and path-qualified errors for the invalid ones, exiting 1', () => {
    const res = run(['-f', file('mixed.yaml', `${VALID}---\n${INVALID}---\nfoo: bar\n`), '-o', 'json']);
    assert.equal(res.code, 1);
    const request = JSON.parse(res.stdout) as CreateJobRequest;
    assert.equal(request.parent, 'projects/my-project/locations/us-central1');
    assert.match(res.stderr, /^error: document 2 \(genomics\/broken\): spec\.jobTemplate\.jobCategory: /m);
    assert.match(res.stderr, /^error: document 3: neither a Drmaa2Job manifest/m);
  });

  it('reads bare job templates in JSON from stdin', () => {
    const template = JSON.stringify({
      remoteCommand: 'date',
      jobCategory: '$script$',
      jobName: 'from-stdin',
      candidateMachines: ['e2-standard-2'],
    });
    const res = run(['-f', '-', '-o', 'yaml'], template);
    assert.equal(res.code, 0, res.stderr);
    const [request] = loadAll(res.stdout) as CreateJobRequest[];
    assert.equal(request?.jobId, 'from-stdin');
  });

  it('names the fields of a bare template as the template spells them', () => {
    const res = run(['-f', file('bare.yaml', 'remoteCommand: date\njobCategory: $script$\n')]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /^error: document 1: candidateMachines: /m);
    assert.equal(res.stdout, '');
  });

  it('prints several requests as a YAML stream and as a JSON array', () => {
    const second = manifest(
      'again',
      `    remoteCommand: echo again
    jobCategory: $script$
    candidateMachines: [e2-standard-2]`,
    );
    const path = file('two.yaml', `${VALID}---\n${second}`);
    assert.equal((loadAll(run(['-f', path]).stdout) as unknown[]).length, 2);
    const json = JSON.parse(run(['-f', path, '-o', 'json']).stdout) as unknown[];
    assert.ok(Array.isArray(json));
    assert.equal(json.length, 2);
  });

  it('writes warnings to stderr', () => {
    const path = file(
      'warn.yaml',
      manifest(
        'warn',
        `    remoteCommand: echo hi
    jobCategory: $script$
    candidateMachines: [e2-standard-2]
    workingDirectory: /tmp`,
      ),
    );
    const res = run(['-f', path]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /^warning: spec\.jobTemplate\.workingDirectory: /m);
  });

  it('fails on an unreadable file and on an unknown output format', () => {
    assert.equal(run(['-f', join(dir, 'missing.yaml')]).code, 1);
    assert.equal(run(['-f', file('fmt.yaml', VALID), '-o', 'xml']).code, 2);
  });
});

describe('--profile', () => {
  const profile = (level: string) => `apiVersion: drmaa2.io/v1alpha1
kind: BatchProfile
metadata:
  name: genomics
spec:
  namespaceSelector: {}
  project: genomics-project
  location: europe-west4
  serviceAccount:
    email: vms@genomics-project.iam.gserviceaccount.com
  securityLevel: ${level}
`;
  const script = manifest(
    'align',
    `    jobCategory: $script$
    remoteCommand: echo hi
    candidateMachines: [e2-standard-2]`,
  );

  it("shows the violations with their fields under a profile's rules, and exits 1", () => {
    const res = run(['-f', '-', '--profile', file('restricted.yaml', profile('restricted'))], script);
    assert.equal(res.code, 1);
    assert.equal(res.stdout, '');
    assert.match(res.stderr, /spec\.jobTemplate\.jobCategory/);
    assert.match(res.stderr, /genomics/);
    assert.match(res.stderr, /restricted/);
  });

  it('shows what a manifest becomes under a profile: its project, session and VM identity', () => {
    const res = run(
      ['-f', '-', '--profile', file('baseline.yaml', profile('baseline')), '-o', 'json'],
      script,
    );
    assert.equal(res.code, 0, res.stderr);
    const request = JSON.parse(res.stdout) as CreateJobRequest;
    assert.equal(request.parent, 'projects/genomics-project/locations/europe-west4');
    assert.equal(request.job.labels?.drmaa2session, 'genomics');
    assert.equal(
      request.job.allocationPolicy?.serviceAccount?.email,
      'vms@genomics-project.iam.gserviceaccount.com',
    );
  });

  it('refuses a profile that is not a valid BatchProfile, naming the field', () => {
    const res = run(
      ['-f', '-', '--profile', file('bad.yaml', profile('restricted').replace('genomics-project', ''))],
      script,
    );
    assert.equal(res.code, 2);
    assert.match(res.stderr, /project/);
  });
});
