// The Cloud Storage adapter against fake-gcs-server: bucket lookup and creation through the real client.
import { afterAll, beforeAll, describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { createBuckets } from '../../src/adapters/storage/index.js';
import { isBatchError } from '../../src/ports/errors.js';
import { startFakeGcs, type FakeGcs } from '../support/fakeGcs.js';

let gcs: FakeGcs;

beforeAll(async () => {
  gcs = await startFakeGcs();
});

afterAll(async () => {
  await gcs?.stop();
});

async function bucketNames(): Promise<string[]> {
  const res = await fetch(`${gcs.storageEmulatorHost}/storage/v1/b?project=p1`);
  const body = (await res.json()) as { items?: { name: string }[] };
  return (body.items ?? []).map((b) => b.name);
}

describe('storage adapter against fake-gcs-server', () => {
  it('creates a missing bucket once and then finds it', async () => {
    const buckets = createBuckets({ emulatorHost: gcs.storageEmulatorHost });
    assert.equal(await buckets.ensureBucket('stage-out-results', 'p1'), 'created');
    assert.ok((await bucketNames()).includes('stage-out-results'));
    assert.equal(await buckets.ensureBucket('stage-out-results', 'p1'), 'exists');
  });

  it('finds a bucket someone else created', async () => {
    const res = await fetch(`${gcs.storageEmulatorHost}/storage/v1/b?project=p1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'made-elsewhere' }),
    });
    assert.ok(res.ok);
    assert.equal(
      await createBuckets({ emulatorHost: gcs.storageEmulatorHost }).ensureBucket('made-elsewhere', 'p1'),
      'exists',
    );
  });

  it('looks a bucket up without creating it', async () => {
    const buckets = createBuckets({ emulatorHost: gcs.storageEmulatorHost });
    assert.equal(await buckets.bucketExists('never-made', 'p1'), false);
    assert.equal(await buckets.bucketExists('never-made', 'p1'), false, 'and the lookup made none');
    await buckets.ensureBucket('made-now', 'p1');
    assert.equal(await buckets.bucketExists('made-now', 'p1'), true);
  });

  it('refuses a bucket name with a path', async () => {
    await assert.rejects(
      createBuckets({ emulatorHost: gcs.storageEmulatorHost }).ensureBucket('results/run1', 'p1'),
      (err) => isBatchError(err, 'InvalidArgument'),
    );
  });
});
