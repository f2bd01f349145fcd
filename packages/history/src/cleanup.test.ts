import { ManualClock } from '@s3-scheduler/core/testing';
import { listAll, MemoryStore } from '@s3-scheduler/storage';
import { CountingStore } from '@s3-scheduler/storage/testing';
import { describe, expect, it } from 'vitest';
import { HistoryStore } from './history-store.js';
import { seedHistory } from './testing/seed-history.js';
import { DAY_MS } from './time.js';

const NEWEST = Date.UTC(2026, 0, 10, 18);

/**
 * Ten days of runs, four a day (every 6 h), for two jobs; every 10th failed. Written in the
 * layout of earlier versions (an index entry for every run): cleanup still handles it.
 */
async function seeded() {
  const memory = new MemoryStore();
  for (const job of ['a', 'b/c'])
    await seedHistory(memory, {
      job,
      count: 40,
      newestSlotMs: NEWEST,
      spacingMs: 6 * 3_600_000,
      layout: 'v1',
    });
  return memory;
}

async function keysUnder(store: MemoryStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of listAll(store, prefix)) keys.push(object.key);
  return keys;
}

describe('cleanup', () => {
  it('deletes whole day partitions older than the cutoff, runs and index alike', async () => {
    const memory = await seeded();
    const store = new CountingStore(memory);
    const history = new HistoryStore({ store, clock: new ManualClock({ now: NEWEST }) });
    const cutoff = Date.UTC(2026, 0, 5, 12); // mid-day: Jan 5 stays whole, Jan 1–4 go
    const result = await history.cleanup({ olderThan: cutoff, batchSize: 3 });
    // 4 days × 4 runs × 2 jobs records + as many index entries. Partitions per job: 4 run days,
    // 4 `completed` days and 2 `failed` days (failures fall on Jan 1 and Jan 3).
    expect(result).toEqual({ deleted: 64, partitions: 20, jobs: 2 });
    for (const job of ['a', 'b/c']) {
      const runs = await history.query(job, { limit: 1000 });
      expect(runs.runs).toHaveLength(24);
      expect(runs.runs.at(-1)!.slot).toBe('2026-01-05T00:00:00.000Z');
      const failed = await history.query(job, { status: 'failed', limit: 1000 });
      expect(failed.runs.every((run) => Date.parse(run.slot!) >= Date.UTC(2026, 0, 5))).toBe(true);
    }
    const left = await keysUnder(memory, 'history/');
    // What remains, and the bucket's layout record (never deleted).
    expect(left).toHaveLength(2 * 2 * 24 + 1);
    expect(left).toContain('history/layout.json');
  });

  it('is idempotent and cheap when nothing is old', async () => {
    const memory = await seeded();
    const store = new CountingStore(memory);
    const history = new HistoryStore({ store });
    await history.cleanup({ olderThan: Date.UTC(2026, 0, 8) });
    store.reset();
    expect(await history.cleanup({ olderThan: Date.UTC(2026, 0, 8) })).toEqual({
      deleted: 0,
      partitions: 0,
      jobs: 2,
    });
    // Legacy job listings (runs, idx) + per job: runs days + statuses + each status's days;
    // and, since this bucket also has the sharded layout, its two (empty) job listings.
    expect(store.snapshot()).toMatchObject({ delete: 0, total: 2 + 2 + 2 * (1 + 1 + 2) });
  });

  it('runs safely from two instances at once', async () => {
    const memory = await seeded();
    const a = new HistoryStore({ store: memory });
    const b = new HistoryStore({ store: memory });
    const [first, second] = await Promise.all([
      a.cleanup({ olderThan: NEWEST + DAY_MS, batchSize: 2 }),
      b.cleanup({ olderThan: NEWEST + DAY_MS, batchSize: 5 }),
    ]);
    expect(first.deleted + second.deleted).toBeGreaterThanOrEqual(160);
    expect(await keysUnder(memory, 'history/')).toEqual(['history/layout.json']);
  });

  it('limits itself to the jobs given and keeps statistics documents', async () => {
    const memory = await seeded();
    const history = new HistoryStore({ store: memory, statsBatchSize: 1 });
    const claim = await history.claim({ job: 'a', slot: NEWEST + 1000 });
    if (claim.claimed) await history.finish(claim.run, { status: 'completed' });
    const result = await history.cleanup({ olderThan: NEWEST + 2 * DAY_MS, jobs: ['b/c'] });
    expect(result).toMatchObject({ deleted: 80, jobs: 1 });
    expect((await history.query('b/c')).runs).toEqual([]);
    expect((await history.query('a', { limit: 100 })).runs).toHaveLength(41);
    expect((await history.statistics('a')).completed).toBe(1);
  });

  it('rejects a missing or invalid cutoff', async () => {
    const history = new HistoryStore({ store: new MemoryStore() });
    await expect(history.cleanup({ olderThan: 'last week' })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
    await expect(history.cleanup({ olderThan: 0, batchSize: 0 })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
  });
});
