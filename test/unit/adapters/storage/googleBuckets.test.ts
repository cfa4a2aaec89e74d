// ensureBucket against a scripted local HTTP server that answers like the Cloud Storage JSON API, to prove
// which answers lead to creation and which are thrown.
import { afterAll, beforeAll, beforeEach, describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBuckets } from '../../../../src/adapters/storage/index.js';
import { isBatchError } from '../../../../src/ports/errors.js';

interface Seen {
  method: string;
  url: string;
}

let server: Server;
let endpoint: string;
let seen: Seen[] = [];
let answers: { get: number; post: number } = { get: 404, post: 200 };

function reply(status: number, body: object): { status: number; body: string } {
  return { status, body: JSON.stringify(body) };
}

beforeAll(async () => {
  delete process.env.STORAGE_EMULATOR_HOST;
  server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '' });
    const status = req.method === 'POST' ? answers.post : answers.get;
    const { body } =
      status === 200
        ? reply(200, { kind: 'storage#bucket', name: 'results' })
        : reply(status, { error: { code: status, message: `status ${status}` } });
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen = [];
});

describe('GoogleBuckets.ensureBucket', () => {
  it('reports an existing bucket without creating it', async () => {
    answers = { get: 200, post: 500 };
    assert.equal(await createBuckets({ emulatorHost: endpoint }).ensureBucket('results', 'p1'), 'exists');
    assert.deepEqual(
      seen.map((s) => s.method),
      ['GET'],
    );
  });

  it('creates the bucket in the given project after a definite not-found', async () => {
    answers = { get: 404, post: 200 };
    assert.equal(await createBuckets({ emulatorHost: endpoint }).ensureBucket('results', 'p1'), 'created');
    const post = seen.find((s) => s.method === 'POST');
    assert.ok(post, 'a create request was sent');
    assert.match(post.url, /project=p1/);
  });

  it('throws PermissionDenied on 403 and never tries to create', async () => {
    answers = { get: 403, post: 200 };
    await assert.rejects(createBuckets({ emulatorHost: endpoint }).ensureBucket('results', 'p1'), (err) =>
      isBatchError(err, 'PermissionDenied'),
    );
    assert.equal(
      seen.some((s) => s.method === 'POST'),
      false,
    );
  });

  it('treats a lost creation race (409) as existing', async () => {
    answers = { get: 404, post: 409 };
    assert.equal(await createBuckets({ emulatorHost: endpoint }).ensureBucket('results', 'p1'), 'exists');
  });

  it('throws when the creation is refused', async () => {
    answers = { get: 404, post: 403 };
    await assert.rejects(createBuckets({ emulatorHost: endpoint }).ensureBucket('results', 'p1'), (err) =>
      isBatchError(err, 'PermissionDenied'),
    );
  });

  it('rejects an invalid name without any request', async () => {
    await assert.rejects(
      createBuckets({ emulatorHost: endpoint }).ensureBucket('results/run1', 'p1'),
      (err) => isBatchError(err, 'InvalidArgument'),
    );
    assert.equal(seen.length, 0);
  });

  it('throws Unavailable when nothing listens', async () => {
    const closed = createBuckets({ emulatorHost: 'http://127.0.0.1:1' });
    await assert.rejects(closed.ensureBucket('results', 'p1'), (err) => isBatchError(err, 'Unavailable'));
  });
});
