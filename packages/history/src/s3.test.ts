import { createNonce } from '@s3-scheduler/core';
import { ManualClock } from '@s3-scheduler/core/testing';
import { CountingStore, s3TestEnv, s3TestStore } from '@s3-scheduler/storage/testing';
import { describe, expect, it } from 'vitest';
import { HistoryStore } from './history-store.js';
import { seedHistory } from './testing/seed-history.js';

// Throws on CI without S3_ENDPOINT, so these tests fail there instead of being skipped.
const env = s3TestEnv();
const NEWEST = Date.UTC(2026, 0, 10, 12);
const HOUR = 3_600_000;
const slotOf = (i: number) => new Date(NEWEST - i * HOUR).toISOString();

describe.runIf(env)('HistoryStore on the real S3 server', () => {
  it('lets exactly one of several instances claim a slot, and fences a stale holder', async () => {
    const store = (await s3TestStore())!;
    const instances = Array.from({ length: 6 }, () => new HistoryStore({ store }));
    const claims = await Promise.all(
      instances.map((history, i) => history.claim({ job: 'race', slot: slotOf(0), workerId: `w${i}` })),
    );
    const winners = claims.filter((claim) => claim.claimed);
    expect(winners).toHaveLength(1);
    const winner = winners[0]!;
    if (!winner.claimed) return;
    for (const claim of claims) if (!claim.claimed) expect(claim.existing?.etag).toBe(winner.run.etag);

    const recovery = instances[1]!;
    const seen = (await recovery.read(winner.run.key))!;
    await recovery.finish(seen, { status: 'abandoned' });
    await expect(instances[0]!.finish(winner.run, { status: 'completed' })).rejects.toMatchObject({
      code: 'PRECONDITION_FAILED',
      metadata: { currentStatus: 'abandoned' },
    });
    const rerun = await recovery.reclaim((await recovery.read(winner.run.key))!, { workerId: 'rerun' });
    const done = await recovery.finish(rerun, { status: 'completed', result: { ok: true } });
    expect(done.record).toMatchObject({
      status: 'completed',
      attempts: 2,
      workerId: 'rerun',
      result: { ok: true },
    });
    expect((await recovery.query('race', { status: 'abandoned' })).runs).toEqual([]);
    expect((await recovery.query('race', { status: 'success' })).runs.map((run) => run.key)).toEqual([
      winner.run.key,
    ]);
  });

  it('agrees on one layout record when instances start at once on older history, and reads both layouts', async () => {
    const store = (await s3TestStore())!;
    await seedHistory(store, { job: 'old', count: 6, newestSlotMs: NEWEST, spacingMs: HOUR, keys: 'legacy' });
    const clock = new ManualClock({ now: NEWEST + HOUR });
    const instances = Array.from({ length: 6 }, () => new HistoryStore({ store, clock }));
    await Promise.all(instances.map((history) => history.open()));
    const record = JSON.parse(new TextDecoder().decode((await store.get('history/layout.json'))!.body));
    const shardedFrom = Date.UTC(2026, 0, 12);
    expect(record.shardedFrom).toBe(new Date(shardedFrom).toISOString());
    // Before the switch the old key (an older version claims the same), from it the sharded one.
    const claims = await Promise.all(
      instances.map((history) => history.claim({ job: 'old', slot: shardedFrom - HOUR })),
    );
    expect(claims.filter((claim) => claim.claimed)).toHaveLength(1);
    expect(claims[0]!.claimed ? claims[0]!.run.key : claims[0]!.key).toMatch(/^history\/runs\/old\//);
    const sharded = await instances[0]!.claim({ job: 'old', slot: shardedFrom });
    expect(sharded.claimed && sharded.run.key.startsWith('history/runs-by-shard/')).toBe(true);
    const all = await instances[1]!.query('old', { limit: 3 });
    const rest = await instances[2]!.query('old', { limit: 10, cursor: all.cursor! });
    expect([...all.runs, ...rest.runs].map((run) => run.slot)).toEqual([
      new Date(shardedFrom).toISOString(),
      new Date(shardedFrom - HOUR).toISOString(),
      ...[0, 1, 2, 3, 4, 5].map(slotOf),
    ]);
  });

  it('queries newest first by status with cursors, reporting a corrupted record', async () => {
    const store = (await s3TestStore())!;
    await seedHistory(store, { job: 'etl', count: 30, newestSlotMs: NEWEST, spacingMs: HOUR });
    const history = new HistoryStore({ store });
    const broken = history.runKey('etl', { slot: slotOf(2) });
    await store.put(broken, `{"broken": "${createNonce()}"`);

    const first = await history.query('etl', { limit: 4 });
    expect(first.runs.map((run) => run.slot)).toEqual([0, 1, 3, 4].map(slotOf));
    expect(first.errors.map((error) => [error.code, error.metadata.key])).toEqual([
      ['STORE_CORRUPTED', broken],
    ]);
    const second = await history.query('etl', { limit: 4, cursor: first.cursor! });
    expect(second.runs.map((run) => run.slot)).toEqual([5, 6, 7, 8].map(slotOf));

    const failed = await history.query('etl', { status: 'failed', before: slotOf(9), limit: 10 });
    expect(failed.runs.map((run) => run.slot)).toEqual([19, 29].map(slotOf));
    expect(failed.cursor).toBeUndefined();
  });

  it('costs the same number of requests at 25 and at 250 stored runs', async () => {
    const measure = async (count: number) => {
      const inner = (await s3TestStore())!;
      await seedHistory(inner, {
        job: 'size',
        count,
        newestSlotMs: NEWEST,
        spacingMs: 60_000,
        status: (i) => (i % 2 ? 'failed' : 'completed'),
      });
      const store = new CountingStore(inner);
      const history = new HistoryStore({ store });
      await history.open(); // the bucket's layout record, once per store
      store.reset();
      const page = await history.query('size', { status: 'failed', limit: 10 });
      return { runs: page.runs.length, ...store.snapshot() };
    };
    const small = await measure(25);
    const large = await measure(250);
    expect(small).toMatchObject({ runs: 10, list: 1, get: 10, total: 11 });
    expect(large).toEqual(small);
  });

  it('keeps statistics exact under concurrent flushes and cleans up from two instances at once', async () => {
    const store = (await s3TestStore())!;
    const instances = Array.from({ length: 3 }, () => new HistoryStore({ store, statsBatchSize: 1 }));
    await Promise.all(
      instances.map(async (history, n) => {
        for (let i = 0; i < 4; i++) {
          const claim = await history.claim({ job: 'stats', slot: NEWEST - (n * 4 + i) * 7 * HOUR });
          if (claim.claimed)
            await history.finish(claim.run, { status: i === 0 ? 'failed' : 'completed', durationMs: 10 });
        }
      }),
    );
    expect(await instances[0]!.statistics('stats')).toMatchObject({
      total: 12,
      completed: 9,
      failed: 3,
      averageDurationMs: 10,
    });

    // Runs and status-index entries: what cleanup deletes (layout and statistics stay).
    const partitionKeys = async () =>
      (await store.list('history/', {})).objects
        .map((object) => object.key)
        .filter((key) => key.includes('runs-by-shard/') || key.includes('idx-by-shard/'));
    const stored = (await partitionKeys()).length;
    expect(stored).toBeGreaterThanOrEqual(12);
    const results = await Promise.all(
      instances
        .slice(0, 2)
        .map((history) => history.cleanup({ olderThan: NEWEST + 2 * 86_400_000, batchSize: 5 })),
    );
    // Each key is deleted by one instance or both: how the two split the work depends on timing.
    expect(results[0]!.deleted + results[1]!.deleted).toBeGreaterThanOrEqual(stored);
    expect(await partitionKeys()).toEqual([]);
    expect((await instances[2]!.query('stats', { limit: 100 })).runs).toEqual([]);
    expect((await instances[2]!.statistics('stats')).total).toBe(12);
  });
});
