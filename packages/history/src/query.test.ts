import { isSchedulerError, type SchedulerError } from '@s3-scheduler/core';
import { ManualClock } from '@s3-scheduler/core/testing';
import { MemoryStore } from '@s3-scheduler/storage';
import { CountingStore } from '@s3-scheduler/storage/testing';
import { describe, expect, it } from 'vitest';
import { HistoryStore } from './history-store.js';
import type { RunStatus } from './run-record.js';
import { seedHistory } from './testing/seed-history.js';
import { DAY_MS } from './time.js';

const NEWEST = Date.UTC(2026, 0, 10, 12);
const HOUR = 3_600_000;

/** 100 runs, one per hour, over about four days: every 10th failed, every 25th timed out. */
async function seeded() {
  const memory = new MemoryStore();
  const store = new CountingStore(memory);
  const errors: SchedulerError[] = [];
  const history = new HistoryStore({
    store,
    clock: new ManualClock({ now: NEWEST + HOUR }),
    onError: (error) => errors.push(error),
  });
  await seedHistory(memory, {
    job: 'etl',
    count: 100,
    newestSlotMs: NEWEST,
    spacingMs: HOUR,
    status: (i) => (i % 25 === 24 ? 'timeout' : i % 10 === 9 ? 'failed' : 'completed'),
  });
  // The bucket's layout record is read (here: created) once per store, not per query.
  await history.open();
  store.reset();
  return { memory, store, history, errors };
}

const slotOf = (i: number) => new Date(NEWEST - i * HOUR).toISOString();

async function rejection(promise: Promise<unknown>): Promise<SchedulerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isSchedulerError(error)) throw new Error(`expected a SchedulerError, got ${String(error)}`);
  return error;
}

describe('query', () => {
  it('returns the newest runs first across day partitions, 20 by default', async () => {
    const { history } = await seeded();
    const page = await history.query('etl');
    expect(page.runs.map((run) => run.slot)).toEqual(Array.from({ length: 20 }, (_, i) => slotOf(i)));
    expect(page.cursor).toBeTypeOf('string');
    expect(page.errors).toEqual([]);
  });

  it('pages with the cursor through every run exactly once', async () => {
    const { history } = await seeded();
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await history.query('etl', { limit: 7, ...(cursor ? { cursor } : {}) });
      seen.push(...page.runs.map((run) => run.slot!));
      cursor = page.cursor;
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => slotOf(i)));
  });

  it('filters by status through the status index, with success meaning completed', async () => {
    const { history } = await seeded();
    const failed = await history.query('etl', { status: 'failed', limit: 100 });
    const expected = Array.from({ length: 100 }, (_, i) => i).filter((i) => i % 10 === 9 && i % 25 !== 24);
    expect(failed.runs.map((run) => run.slot)).toEqual(expected.map(slotOf));
    expect(failed.cursor).toBeUndefined();
    const timeouts = await history.query('etl', { status: 'timeout' });
    expect(timeouts.runs.map((run) => run.slot)).toEqual([24, 49, 74, 99].map(slotOf));
    const success = await history.query('etl', { status: 'success', limit: 3 });
    expect(success.runs.map((run) => [run.slot, run.status])).toEqual([
      [slotOf(0), 'completed'],
      [slotOf(1), 'completed'],
      [slotOf(2), 'completed'],
    ]);
    expect((await history.query('etl', { status: 'cancelled' })).runs).toEqual([]);
  });

  it('honours before and after as strict bounds, also with a cursor', async () => {
    const { history } = await seeded();
    const page = await history.query('etl', { before: slotOf(10), after: slotOf(20), limit: 100 });
    expect(page.runs.map((run) => run.slot)).toEqual(Array.from({ length: 9 }, (_, i) => slotOf(11 + i)));
    expect(page.cursor).toBeUndefined();
    const first = await history.query('etl', {
      before: new Date(slotOf(10)),
      after: Date.parse(slotOf(20)),
      limit: 5,
    });
    const second = await history.query('etl', { after: slotOf(20), limit: 5, cursor: first.cursor! });
    expect([...first.runs, ...second.runs].map((run) => run.slot)).toEqual(
      Array.from({ length: 9 }, (_, i) => slotOf(11 + i)),
    );
    const failedBefore = await history.query('etl', { status: 'failed', before: slotOf(30), limit: 2 });
    expect(failedBefore.runs.map((run) => run.slot)).toEqual([slotOf(39), slotOf(59)]);
  });

  it('lists running runs from the newest records', async () => {
    const { history } = await seeded();
    const claim = await history.claim({ job: 'etl', slot: NEWEST + HOUR });
    expect(claim.claimed).toBe(true);
    const running = await history.query('etl', { status: 'running', limit: 5 });
    expect(running.runs.map((run) => run.slot)).toEqual([new Date(NEWEST + HOUR).toISOString()]);
    expect(running.cursor).toBeTypeOf('string');
  });

  it('reports a corrupted record with its key and returns the others', async () => {
    const { history, memory, errors } = await seeded();
    const broken = history.runKey('etl', { slot: slotOf(1) });
    await memory.put(broken, '{"v":1,"job":');
    const wrongShape = history.runKey('etl', { slot: slotOf(3) });
    await memory.put(wrongShape, JSON.stringify({ v: 1, job: 'etl', status: 'exploded' }));
    await memory.put(`${history.keys.runs('etl')}stray-object`, 'x');
    const page = await history.query('etl', { limit: 5 });
    // The two unreadable records are skipped and the page is filled from the next list page.
    expect(page.runs.map((run) => run.slot)).toEqual([0, 2, 4, 5, 6].map(slotOf));
    expect(page.errors.map((error) => [error.code, error.metadata.key])).toEqual([
      ['STORE_CORRUPTED', broken],
      ['STORE_CORRUPTED', wrongShape],
    ]);
    expect(errors).toEqual(page.errors);
    expect((await history.query('etl', { status: 'failed', limit: 1 })).runs).toHaveLength(1);
    const all = await history.query('etl', { limit: 1000 });
    expect(all.runs).toHaveLength(98);
    expect(all.errors.map((error) => error.metadata.key)).toContain(
      `${history.keys.runs('etl')}stray-object`,
    );
    expect((await rejection(history.read(broken))).code).toBe('STORE_CORRUPTED');
  });

  it('skips stale index entries and entries whose record is gone', async () => {
    const { history, memory } = await seeded();
    // Index entry claims "failed" but the record says completed; another points at nothing.
    await memory.put(
      history.keys.indexEntry('etl', history.runKey('etl', { slot: slotOf(0) }), 'failed'),
      '',
    );
    await memory.delete(history.runKey('etl', { slot: slotOf(9) }));
    const page = await history.query('etl', { status: 'failed', limit: 2 });
    expect(page.runs.map((run) => run.slot)).toEqual([slotOf(19), slotOf(29)]);
    expect(page.errors).toEqual([]);
  });

  it('rejects bad options with INVALID_OPTION', async () => {
    const { history } = await seeded();
    const other = await history.query('etl', { status: 'failed', limit: 1 });
    for (const [query, option] of [
      [{ limit: 0 }, 'limit'],
      [{ limit: 1001 }, 'limit'],
      [{ limit: 2.5 }, 'limit'],
      [{ status: 'bogus' as RunStatus }, 'status'],
      [{ before: 'soon' }, 'before'],
      [{ after: Number.NaN }, 'after'],
      [{ cursor: 'garbage' }, 'cursor'],
      [{ cursor: other.cursor! }, 'cursor'],
    ] as const) {
      const error = await rejection(history.query('etl', query));
      expect(error.code).toBe('INVALID_OPTION');
      expect(error.metadata.option).toBe(option);
    }
    expect((await rejection(history.query(''))).code).toBe('INVALID_OPTION');
  });

  it('rejects unknown, prototype and non-object options, showing the value truthfully', async () => {
    const { history } = await seeded();
    expect((await rejection(history.query('etl', { overlap: 'bogus' } as never))).code).toBe(
      'UNKNOWN_OPTION',
    );
    expect((await rejection(history.query('etl', JSON.parse('{"__proto__":1}')))).code).toBe(
      'UNKNOWN_OPTION',
    );
    expect((await rejection(history.query('etl', null as never))).code).toBe('INVALID_OPTION');
    expect((await rejection(history.query('etl', { limit: Number.NaN }))).message).toContain('got NaN');
    expect((await rejection(history.query('etl', { before: 1e20 }))).message).toContain(
      'got 100000000000000000000',
    );
    const long = await rejection(history.query('x'.repeat(40_000)));
    expect(long.code).toBe('INVALID_OPTION');
    expect(long.message.length).toBeLessThan(400);
  });

  it('returns nothing for an unknown job, in one request', async () => {
    const { history, store } = await seeded();
    store.reset();
    expect(await history.query('nobody')).toEqual({ runs: [], errors: [] });
    expect(store.total).toBe(1);
  });
});

describe('query cost does not grow with history', () => {
  async function cost(count: number) {
    const memory = new MemoryStore();
    const status = (i: number) => (i % 3 === 2 ? 'failed' : 'completed');
    await seedHistory(memory, { job: 'big', count, newestSlotMs: NEWEST, spacingMs: 60_000, status });
    await seedHistory(memory, { job: 'big-other', count: 50, newestSlotMs: NEWEST });
    const store = new CountingStore(memory);
    const history = new HistoryStore({ store });
    await history.open();
    const measure = async (query: Parameters<HistoryStore['query']>[1]) => {
      store.reset();
      const page = await history.query('big', query);
      return { runs: page.runs.length, ...store.snapshot() };
    };
    return {
      latest: await measure({ limit: 20 }),
      failed: await measure({ limit: 20, status: 'failed' }),
      completed: await measure({ limit: 20, status: 'success' }),
      deepPage: await measure({ limit: 20, status: 'failed', before: NEWEST - (count - 70) * 60_000 }),
    };
  }

  it('costs 1 list + 20 gets at 100 and at 50,000 records', async () => {
    const small = await cost(100);
    const large = await cost(50_000);
    for (const measured of [small, large]) {
      for (const page of [measured.latest, measured.failed, measured.completed, measured.deepPage]) {
        expect(page).toMatchObject({ runs: 20, list: 1, get: 20, total: 21 });
      }
    }
    expect(large).toEqual(small);
  });
});

describe('query across days', () => {
  it('needs no listing of day partitions', async () => {
    const memory = new MemoryStore();
    await seedHistory(memory, { job: 'daily', count: 400, newestSlotMs: NEWEST, spacingMs: DAY_MS });
    const store = new CountingStore(memory);
    const history = new HistoryStore({ store });
    await history.open();
    store.reset();
    const page = await history.query('daily', { limit: 50, status: 'failed' });
    expect(page.runs).toHaveLength(40);
    expect(page.runs[0]!.slot).toBe(new Date(NEWEST - 9 * DAY_MS).toISOString());
    expect(store.snapshot()).toMatchObject({ list: 1, get: 40 });
  });
});

describe('history written by earlier versions', () => {
  it('is read as before: an index entry for every status, no markers', async () => {
    const memory = new MemoryStore();
    const status = (i: number) => (i % 3 === 2 ? 'failed' : 'completed');
    await seedHistory(memory, {
      job: 'old',
      count: 30,
      newestSlotMs: NEWEST,
      spacingMs: HOUR,
      status,
      layout: 'v1',
    });
    const history = new HistoryStore({ store: memory });
    const completed = await history.query('old', { status: 'completed', limit: 5 });
    expect(completed.runs.map((run) => run.slot)).toEqual([0, 1, 3, 4, 6].map(slotOf));
    const failed = await history.query('old', { status: 'failed', limit: 3 });
    expect(failed.runs.map((run) => run.slot)).toEqual([2, 5, 8].map(slotOf));
    expect((await history.query('old', { limit: 100 })).runs).toHaveLength(30);
  });
});
