import { isSchedulerError, type SchedulerError } from '@s3-scheduler/core';
import { ManualClock } from '@s3-scheduler/core/testing';
import { listAll, MemoryStore, type StoreOperation } from '@s3-scheduler/storage';
import { CountingStore } from '@s3-scheduler/storage/testing';
import { describe, expect, it } from 'vitest';
import { HistoryStore } from './history-store.js';
import { HistoryKeys } from './keys.js';
import type { RunRecord } from './run-record.js';
import { seedHistory } from './testing/seed-history.js';
import { DAY_MS } from './time.js';

const HOUR = 3_600_000;
/** When the first version with the sharded layout starts on a bucket of older versions. */
const UPGRADE = Date.UTC(2026, 0, 10, 12);
/** The start of the UTC day after the next: from there on runs are written sharded. */
const SHARDED_FROM = Date.UTC(2026, 0, 12);
const keys = new HistoryKeys('history/');

/** Counts requests and remembers the prefix of every list. */
class ListingStore extends CountingStore {
  readonly listed: string[] = [];
  protected override around<T>(
    operation: StoreOperation,
    key: string,
    request: () => Promise<T>,
  ): Promise<T> {
    if (operation === 'list') this.listed.push(key);
    return super.around(operation, key, request);
  }
}

async function allKeys(memory: MemoryStore): Promise<string[]> {
  const found: string[] = [];
  for await (const object of listAll(memory, 'history/')) found.push(object.key);
  return found;
}

/** Every page of a query, by cursor; fails on a repeated run. */
async function everyPage(
  history: HistoryStore,
  job: string,
  query: Parameters<HistoryStore['query']>[1] = {},
): Promise<RunRecord[]> {
  const runs: RunRecord[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const result = await history.query(job, { ...query, ...(cursor === undefined ? {} : { cursor }) });
    runs.push(...result.runs);
    cursor = result.cursor;
    if (cursor === undefined) break;
  }
  expect(new Set(runs.map((run) => run.key)).size).toBe(runs.length);
  return runs;
}

const slotsOf = (runs: RunRecord[]) => runs.map((run) => run.slot);
const statusOf = (i: number) => (i % 5 === 4 ? 'failed' : i % 7 === 6 ? 'timeout' : 'completed');

/**
 * A bucket written by versions before the sharded layout (48 hourly runs of `etl` up to the
 * upgrade, with their markers and index entries, and 10 runs of `v1` as the first versions
 * wrote them), then the upgrade: runs until `SHARDED_FROM` still go to the legacy keys, later
 * ones to the sharded keys.
 */
async function mixed() {
  const memory = new MemoryStore();
  await seedHistory(memory, {
    job: 'etl',
    count: 48,
    newestSlotMs: UPGRADE - HOUR,
    spacingMs: HOUR,
    status: statusOf,
    keys: 'legacy',
  });
  await seedHistory(memory, {
    job: 'v1',
    count: 10,
    newestSlotMs: UPGRADE - HOUR,
    spacingMs: HOUR,
    layout: 'v1',
  });
  const legacyKeys = await allKeys(memory);
  const clock = new ManualClock({ now: UPGRADE });
  const store = new ListingStore(memory);
  const history = new HistoryStore({ store, clock, statsBatchSize: 1_000_000 });
  // Hourly runs from the upgrade on, across the switch: 12 + 24 legacy, then 24 sharded.
  const slots: number[] = [];
  for (let i = 0; i < 60; i++) slots.push(UPGRADE + i * HOUR);
  for (const [i, slot] of slots.entries()) {
    await clock.advance(Math.max(0, slot - clock.now()));
    const claim = await history.claim({ job: 'etl', slot });
    if (!claim.claimed) throw new Error('claim lost');
    await history.finish(claim.run, { status: statusOf(i + 100) });
  }
  store.reset();
  store.listed.length = 0;
  return { memory, store, clock, history, legacyKeys, slots };
}

describe('the layout record', () => {
  it('is created once in a bucket with legacy runs: sharded from the start of the day after the next', async () => {
    const { memory, legacyKeys } = await mixed();
    const record = await memory.get('history/layout.json');
    expect(JSON.parse(new TextDecoder().decode(record!.body))).toEqual({
      v: 1,
      shardedFrom: new Date(SHARDED_FROM).toISOString(),
      createdAt: new Date(UPGRADE).toISOString(),
    });
    // Nothing written before was moved or lost.
    const now = await allKeys(memory);
    for (const key of legacyKeys) expect(now).toContain(key);
    // Runs before the switch went to the legacy keys, later ones to the sharded keys.
    const etl = now.filter((key) => key.endsWith('.s') && key.includes('etl/'));
    expect(etl.filter((key) => key.startsWith('history/runs/etl/'))).toHaveLength(48 + 36);
    expect(etl.filter((key) => key.startsWith(keys.runs('etl')))).toHaveLength(24);
  });

  it('says "every run sharded" in a fresh bucket, whose queries and cleanup never list the legacy prefixes', async () => {
    const memory = new MemoryStore();
    const store = new ListingStore(memory);
    const clock = new ManualClock({ now: UPGRADE });
    const history = new HistoryStore({ store, clock, statsBatchSize: 1_000_000 });
    // The one-time cost: a read, two lists of the legacy prefixes (empty) and a create-only write.
    await history.open();
    expect(store.snapshot()).toMatchObject({ get: 1, list: 2, put: 1, total: 4 });
    expect(
      JSON.parse(new TextDecoder().decode((await memory.get('history/layout.json'))!.body)),
    ).toMatchObject({
      v: 1,
      shardedFrom: null,
    });
    for (let i = 0; i < 30; i++) {
      const claim = await history.claim({ job: 'etl', slot: UPGRADE - i * HOUR });
      if (!claim.claimed) throw new Error('claim lost');
      await history.finish(claim.run, { status: statusOf(i) });
    }
    store.reset();
    store.listed.length = 0;
    // Requests per query as before the sharded layout: one list, one read per run.
    expect((await history.query('etl', { limit: 10 })).runs).toHaveLength(10);
    expect(store.snapshot()).toMatchObject({ list: 1, get: 10, total: 11 });
    store.reset();
    expect((await history.query('etl', { limit: 5, status: 'failed' })).runs).toHaveLength(5);
    expect(store.snapshot()).toMatchObject({ list: 1, get: 5, total: 6 });
    await everyPage(history, 'etl', { limit: 7 });
    await history.cleanup({ olderThan: UPGRADE - DAY_MS });
    expect(store.listed.filter((prefix) => !prefix.includes('-by-shard/'))).toEqual([]);
    expect((await allKeys(memory)).filter((key) => /^history\/(runs|idx)\//.test(key))).toEqual([]);
  });

  it('is the same for many instances starting at once, in a fresh and in an older bucket', async () => {
    for (const seed of [false, true]) {
      const memory = new MemoryStore();
      if (seed) await seedHistory(memory, { job: 'etl', count: 3, newestSlotMs: UPGRADE, keys: 'legacy' });
      const clock = new ManualClock({ now: UPGRADE });
      const instances = Array.from({ length: 12 }, () => new HistoryStore({ store: memory, clock }));
      await Promise.all(instances.map((history) => history.open()));
      const keysOf = instances.map((history) => history.runKey('etl', { slot: SHARDED_FROM - 1 }));
      expect(new Set(keysOf).size).toBe(1);
      expect(keysOf[0]!.startsWith(seed ? 'history/runs/etl/' : keys.runs('etl'))).toBe(true);
      // The same slot claimed by all: one winner.
      const claims = await Promise.all(
        instances.map((history) => history.claim({ job: 'etl', slot: UPGRADE + HOUR })),
      );
      expect(claims.filter((claim) => claim.claimed)).toHaveLength(1);
    }
  });

  it('keeps the claim of a slot before the switch exclusive with an older version still running', async () => {
    const memory = new MemoryStore();
    await seedHistory(memory, { job: 'etl', count: 1, newestSlotMs: UPGRADE - HOUR, keys: 'legacy' });
    const history = new HistoryStore({ store: memory, clock: new ManualClock({ now: UPGRADE }) });
    await history.open();
    // An older version claims the next slot at its (legacy) key, as it always did.
    const slot = UPGRADE + HOUR;
    await memory.put(keys.run('etl', { slotMs: slot }, 'legacy'), '{}', { ifNoneMatch: '*' });
    const claim = await history.claim({ job: 'etl', slot });
    expect(claim).toMatchObject({ claimed: false, key: keys.run('etl', { slotMs: slot }, 'legacy') });
  });

  it('is never created by a read-only store, which reads the legacy layout until a writer creates it', async () => {
    const memory = new MemoryStore();
    await seedHistory(memory, {
      job: 'etl',
      count: 5,
      newestSlotMs: UPGRADE - HOUR,
      spacingMs: HOUR,
      keys: 'legacy',
    });
    const store = new CountingStore(memory);
    const reader = new HistoryStore({ store, readOnly: true });
    expect((await reader.query('etl')).runs).toHaveLength(5);
    expect(store.snapshot()).toMatchObject({ get: 1 + 5, list: 1, put: 0 });
    expect(await memory.get('history/layout.json')).toBeNull();
    const clock = new ManualClock({ now: Date.UTC(2026, 0, 20) });
    const writer = new HistoryStore({ store: memory, clock });
    const claim = await writer.claim({ job: 'etl', slot: Date.UTC(2026, 0, 20) });
    if (!claim.claimed) throw new Error('claim lost');
    expect(claim.run.key.startsWith('history/runs/etl/')).toBe(true); // before Jan 22: legacy
    await clock.advance(2 * DAY_MS);
    const sharded = await writer.claim({ job: 'etl', slot: clock.now() });
    if (!sharded.claimed) throw new Error('claim lost');
    expect(sharded.run.key.startsWith(keys.runs('etl'))).toBe(true);
    expect(slotsOf((await reader.query('etl')).runs)).toEqual([
      new Date(Date.UTC(2026, 0, 22)).toISOString(),
      new Date(Date.UTC(2026, 0, 20)).toISOString(),
      ...Array.from({ length: 5 }, (_, i) => new Date(UPGRADE - (i + 1) * HOUR).toISOString()),
    ]);
    expect(() => new HistoryStore({ store: memory, readOnly: 'yes' as never })).toThrow(/readOnly/);
  });

  it('refuses an unreadable record with STORE_CORRUPTED naming its key', async () => {
    for (const body of ['{', '{"v":2}', '{"v":1,"shardedFrom":"soon"}']) {
      const memory = new MemoryStore();
      await memory.put('history/layout.json', body);
      const error = await new HistoryStore({ store: memory }).query('etl').then(
        () => undefined,
        (e: unknown) => e as SchedulerError,
      );
      expect(isSchedulerError(error) && error.code).toBe('STORE_CORRUPTED');
      expect(error!.message).toContain('history/layout.json');
    }
  });
});

describe('a bucket with runs in both layouts', () => {
  it('returns every run newest first, across the switch, page after page', async () => {
    const { history, slots } = await mixed();
    const expected = [
      ...[...slots].reverse(),
      ...Array.from({ length: 48 }, (_, i) => UPGRADE - (i + 1) * HOUR),
    ].map((ms) => new Date(ms).toISOString());
    expect(slotsOf(await everyPage(history, 'etl', { limit: 1000 }))).toEqual(expected);
    for (const limit of [1, 7, 24, 25, 50]) {
      expect(slotsOf(await everyPage(history, 'etl', { limit }))).toEqual(expected);
    }
    // Statuses: the index (failed, timeout) and the markers (completed) of both layouts.
    const all = await everyPage(history, 'etl', { limit: 1000 });
    for (const status of ['failed', 'timeout', 'completed'] as const) {
      const wanted = slotsOf(all.filter((run) => run.status === status));
      expect(wanted.length).toBeGreaterThan(3);
      expect(slotsOf(await everyPage(history, 'etl', { status, limit: 1000 }))).toEqual(wanted);
      expect(slotsOf(await everyPage(history, 'etl', { status, limit: 3 }))).toEqual(wanted);
    }
    // Time bounds on either side of the switch and across it.
    for (const [after, before] of [
      [SHARDED_FROM - 5 * HOUR, SHARDED_FROM + 5 * HOUR],
      [SHARDED_FROM, SHARDED_FROM + 2 * HOUR],
      [SHARDED_FROM - 3 * HOUR, SHARDED_FROM],
      [SHARDED_FROM - 1, SHARDED_FROM + 1],
      [UPGRADE - 10 * HOUR, UPGRADE + HOUR],
    ] as const) {
      const wanted = slotsOf(
        all.filter((run) => Date.parse(run.slot!) > after && Date.parse(run.slot!) < before),
      );
      expect(wanted.length).toBeGreaterThan(0);
      expect(slotsOf(await everyPage(history, 'etl', { after, before, limit: 2 }))).toEqual(wanted);
    }
    // Runs of the first versions (index entries for every status, no markers) are read too.
    expect(await everyPage(history, 'v1', { limit: 4 })).toHaveLength(10);
    expect(await everyPage(history, 'v1', { status: 'failed' })).toHaveLength(1);
  });

  it('costs one list while the newest runs fill the page, one more where a page crosses the switch', async () => {
    const { history, store } = await mixed();
    expect((await history.query('etl', { limit: 20 })).runs).toHaveLength(20);
    expect(store.snapshot()).toMatchObject({ list: 1, get: 20, total: 21 });
    store.reset();
    const crossing = await history.query('etl', { limit: 30 });
    expect(crossing.runs).toHaveLength(30);
    expect(store.snapshot()).toMatchObject({ list: 2, get: 30, total: 32 });
    store.reset();
    // Older pages (the cursor is in the legacy partition) list only that one.
    await history.query('etl', { limit: 30, cursor: crossing.cursor! });
    expect(store.snapshot()).toMatchObject({ list: 1, get: 30, total: 31 });
    store.listed.length = 0;
    await history.query('etl', { before: SHARDED_FROM, limit: 5 });
    expect(store.listed).toEqual([keys.runs('etl', 'legacy')]);
  });

  it('takes the cursor of a page an older version returned', async () => {
    const memory = new MemoryStore();
    await seedHistory(memory, {
      job: 'etl',
      count: 30,
      newestSlotMs: UPGRADE - HOUR,
      spacingMs: HOUR,
      keys: 'legacy',
    });
    const before = await new HistoryStore({ store: memory, readOnly: true }).query('etl', { limit: 10 });
    const history = new HistoryStore({ store: memory, clock: new ManualClock({ now: UPGRADE }) });
    const next = await history.query('etl', { limit: 10, cursor: before.cursor! });
    expect(slotsOf(next.runs)).toEqual(
      Array.from({ length: 10 }, (_, i) => new Date(UPGRADE - (i + 11) * HOUR).toISOString()),
    );
  });

  it('deletes whole day partitions of both layouts, and nothing newer', async () => {
    const { history, memory, store } = await mixed();
    const all = await everyPage(history, 'etl', { limit: 1000 });
    const olderThan = SHARDED_FROM + 12 * HOUR; // every legacy day goes, Jan 12 stays
    const result = await history.cleanup({ olderThan });
    expect(result.jobs).toBe(2);
    expect(result.partitions).toBeGreaterThan(0);
    const kept = all.filter((run) => Date.parse(run.slot!) >= SHARDED_FROM);
    expect(slotsOf(await everyPage(history, 'etl', { limit: 7 }))).toEqual(slotsOf(kept));
    expect(slotsOf(await everyPage(history, 'etl', { status: 'failed', limit: 7 }))).toEqual(
      slotsOf(kept.filter((run) => run.status === 'failed')),
    );
    expect((await allKeys(memory)).filter((key) => /^history\/(runs|idx)\//.test(key))).toEqual([]);
    // A second pass finds nothing, in either layout.
    store.reset();
    expect(await history.cleanup({ olderThan })).toMatchObject({ deleted: 0, partitions: 0 });
    expect(await history.cleanup({ olderThan, jobs: ['etl'] })).toMatchObject({ deleted: 0, jobs: 1 });
  });
});
