// One poller per place (project, location, session), started and stopped as profiles come and go, seen
// by the reconciler as one JobCache.
import { describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { Job } from '../../../src/api/batch.js';
import { LABEL_NAME, LABEL_NAMESPACE, LABEL_SESSION } from '../../../src/api/drmaa2job.js';
import { SessionPoller } from '../../../src/controller/poller.js';
import { PollerSet, type Place } from '../../../src/controller/pollerSet.js';
import type { JobPage, ListJobsQuery } from '../../../src/ports/batchJobs.js';
import { compileFilter } from '../../../src/emulator/filter.js';
import { FakeBatchJobs, batchError } from '../../support/fakes/fakeBatchJobs.js';
import { FakeClock } from '../../support/fakes/fakeClock.js';

/** Lists with Batch's full filter syntax; `failing` parents answer PERMISSION_DENIED. */
class ListingBatch extends FakeBatchJobs {
  readonly failing = new Set<string>();
  readonly lists: ListJobsQuery[] = [];

  override async listJobs(query: ListJobsQuery): Promise<JobPage> {
    this.lists.push(query);
    if (this.failing.has(query.parent)) throw batchError('PermissionDenied', 'caller lacks batch.jobs.list');
    const matches = compileFilter(query.filter ?? '');
    const jobs = this.names()
      .map((name) => this.job(name)!)
      .filter((job) => job.name!.startsWith(`${query.parent}/jobs/`) && matches(job));
    return { jobs };
  }
}

const A: Place = { parent: 'projects/a/locations/l', session: 'team-a' };
const B: Place = { parent: 'projects/b/locations/l', session: 'team-b' };

function setup(initial: Place[]) {
  const clock = new FakeClock({ start: '2025-01-01T00:00:00Z', auto: false });
  const batch = new ListingBatch({ now: () => clock.now() });
  let places = initial;
  const made: Place[] = [];
  const set = new PollerSet({
    places: () => places,
    make: (place) => {
      made.push(place);
      return new SessionPoller({
        batch,
        parent: place.parent,
        session: place.session,
        intervalMs: 10_000,
        clock,
        logger: pino({ level: 'silent' }),
      });
    },
  });
  const job = (place: Place, id: string): Job & { name: string } => ({
    name: `${place.parent}/jobs/${id}`,
    labels: { [LABEL_SESSION]: place.session, [LABEL_NAMESPACE]: 'ns', [LABEL_NAME]: id },
    status: { state: 'RUNNING' },
    updateTime: clock.now().toISOString(),
  });
  return { clock, batch, set, made, job, setPlaces: (p: Place[]) => (places = p) };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('PollerSet', () => {
  it('polls each place with its own filter and finds a job through the pollers of its parent', async () => {
    const { batch, set, job } = setup([A, B]);
    batch.put(job(A, 'a1'));
    batch.put(job(B, 'b1'));
    const keys: string[] = [];
    set.start((key) => keys.push(key));
    await flush();
    assert.deepEqual(batch.lists.map((q) => q.parent).sort(), [A.parent, B.parent]);
    assert.ok(batch.lists.every((q) => q.filter!.includes(`drmaa2session="team-`)));
    assert.equal(set.get(`${A.parent}/jobs/a1`)?.name, `${A.parent}/jobs/a1`);
    assert.equal(set.get(`${B.parent}/jobs/b1`)?.name, `${B.parent}/jobs/b1`);
    assert.equal(set.get('projects/c/locations/l/jobs/x'), undefined);
    assert.deepEqual(keys.sort(), ['ns/a1', 'ns/b1']);
    await set.stop();
  });

  it('starts a poller for a new place and stops the one of a place that went', async () => {
    const { set, made, setPlaces } = setup([A]);
    set.start(() => undefined);
    assert.deepEqual(made, [A]);
    setPlaces([A, B]);
    set.sync();
    assert.deepEqual(made, [A, B], 'A is kept, B added');
    setPlaces([B]);
    set.sync();
    assert.deepEqual(
      set.health().map((h) => h.place),
      [B],
    );
    await set.stop();
    assert.deepEqual(set.health(), []);
  });

  it('a place with another caller is another poller: a profile that changes its caller gets a new one', async () => {
    const asCaller = { ...A, caller: { serviceAccount: 'caller@a.iam.gserviceaccount.com' } };
    const { set, made, setPlaces, job } = setup([A, asCaller]);
    set.start(() => undefined);
    assert.deepEqual(made, [A, asCaller], 'same parent and session, two callers: two pollers');
    const other = { ...A, caller: { serviceAccount: 'other@a.iam.gserviceaccount.com' } };
    setPlaces([other]);
    set.sync();
    assert.deepEqual(
      set.health().map((h) => h.place),
      [other],
    );
    set.remember(job(A, 'a1'));
    assert.equal(
      set.get(`${A.parent}/jobs/a1`)?.name,
      `${A.parent}/jobs/a1`,
      "remembered in the caller's poller",
    );
    await set.stop();
  });

  it("remembers a job in its session's poller, and says a failing poll's problem for its jobs only", async () => {
    const { batch, set, job, clock } = setup([A, B]);
    set.start(() => undefined);
    await flush();
    set.remember(job(A, 'a2'));
    assert.ok(set.get(`${A.parent}/jobs/a2`));
    batch.failing.add(A.parent);
    for (let i = 0; i < 3; i++) {
      clock.advance(10_000);
      await flush();
    }
    assert.equal(set.problem(`${A.parent}/jobs/x`)?.reason, 'BatchPollFailing');
    assert.equal(set.problem(`${B.parent}/jobs/x`), undefined, 'the other place polls fine');
    assert.equal(set.health().filter((h) => !h.health.ok).length, 1);
    await set.stop();
  });
});
