import { createRunId, isSchedulerError, type SchedulerError } from '@s3-scheduler/core';
import { ManualClock } from '@s3-scheduler/core/testing';
import { MemoryStore, ResolvingStore } from '@s3-scheduler/storage';
import { CountingStore, FaultyStore } from '@s3-scheduler/storage/testing';
import { describe, expect, it } from 'vitest';
import { HistoryStore } from './history-store.js';

const SLOT = '2026-01-01T03:00:00.000Z';

function setup(options: { statsBatchSize?: number } = {}) {
  const clock = new ManualClock({ now: Date.parse(SLOT) });
  const memory = new MemoryStore();
  const store = new CountingStore(memory);
  const history = new HistoryStore({ store, clock, ...options });
  return { clock, memory, store, history };
}

/**
 * Pays the one-time cost of a store's first use (the bucket's layout record: a read, two lists
 * of the legacy prefixes and a create-only write in a fresh bucket; see layouts.test.ts) and
 * resets the counts, so that what a test counts is what each run costs.
 */
async function openOnce(history: HistoryStore, store: CountingStore): Promise<void> {
  await history.open();
  expect(store.snapshot()).toMatchObject({ get: 1, list: 2, put: 1, total: 4 });
  store.reset();
}

async function rejection(promise: Promise<unknown>): Promise<SchedulerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isSchedulerError(error)) throw new Error(`expected a SchedulerError, got ${String(error)}`);
  return error;
}

describe('claim', () => {
  it('creates a running record keyed by job and slot', async () => {
    const { history, clock } = setup();
    const claim = await history.claim({ job: 'report', slot: SLOT, workerId: 'w1', epoch: 3 });
    expect(claim.claimed).toBe(true);
    if (!claim.claimed) return;
    expect(claim.run.key).toBe(history.runKey('report', { slot: SLOT }));
    expect(claim.run.record).toMatchObject({
      job: 'report',
      slot: SLOT,
      status: 'running',
      trigger: 'schedule',
      epoch: 3,
      workerId: 'w1',
      attempts: 1,
      startedAt: new Date(clock.now()).toISOString(),
      finishedAt: null,
      durationMs: null,
      error: null,
    });
    expect((await history.read(claim.run.key))?.record).toEqual(claim.run.record);
    expect((await history.readRun('report', { slot: Date.parse(SLOT) }))?.etag).toBe(claim.run.etag);
  });

  it('lets exactly one of many racing instances win a slot; the others see the winner', async () => {
    const memory = new MemoryStore();
    const instances = Array.from({ length: 12 }, () => new HistoryStore({ store: memory }));
    const claims = await Promise.all(
      instances.map((history, i) => history.claim({ job: 'j', slot: SLOT, workerId: `w${i}` })),
    );
    const winners = claims.filter((claim) => claim.claimed);
    expect(winners).toHaveLength(1);
    const winner = winners[0]!;
    if (!winner.claimed) return;
    for (const claim of claims) {
      if (claim.claimed) continue;
      expect(claim.key).toBe(winner.run.key);
      expect(claim.existing?.record.workerId).toBe(winner.run.record.workerId);
    }
  });

  it('keys manual runs by run id and needs a ULID for them', async () => {
    const { history } = setup();
    const runId = createRunId(Date.parse(SLOT));
    const claim = await history.claim({ job: 'j', runId });
    expect(claim.claimed && claim.run.record).toMatchObject({ slot: null, trigger: 'manual', runId });
    expect(claim.claimed && claim.run.key).toBe(history.runKey('j', { runId }));
    const again = await history.claim({ job: 'j', runId });
    expect(again.claimed).toBe(false);
    expect((await rejection(history.claim({ job: 'j', runId: 'not-a-ulid' }))).code).toBe('INVALID_OPTION');
    const generated = await history.claim({ job: 'j', trigger: 'run-on-start' });
    expect(generated.claimed && generated.run.record.trigger).toBe('run-on-start');
  });

  it('refuses bad input with INVALID_OPTION naming the option', async () => {
    const { history } = setup();
    for (const [input, option] of [
      [{ job: '' }, 'job'],
      [{ job: 'j', slot: 'yesterday' }, 'slot'],
      [{ job: 'j', slot: SLOT, trigger: 'cron' }, 'trigger'],
      [{ job: 'j', slot: SLOT, status: 'completed' }, 'status'],
      [{ job: 'j', slot: SLOT, attempts: 0 }, 'attempts'],
      [{ job: 'j', slot: SLOT, epoch: -1 }, 'epoch'],
    ] as const) {
      const error = await rejection(history.claim(input as never));
      expect(error.code).toBe('INVALID_OPTION');
      expect(error.metadata.option).toBe(option);
    }
  });

  it('records an overlap-skipped slot in one request plus its index entry', async () => {
    const { history, store } = setup({ statsBatchSize: 100 });
    await openOnce(history, store);
    const claim = await history.claim({ job: 'j', slot: SLOT, status: 'skipped' });
    expect(claim.claimed && claim.run.record.status).toBe('skipped');
    expect(store.snapshot()).toMatchObject({ put: 2, total: 2 });
    expect((await history.query('j', { status: 'skipped' })).runs).toHaveLength(1);
    expect((await history.statistics('j')).skipped).toBe(1);
  });
});

describe('finish and fencing', () => {
  it('finishes by compare-and-swap with result, error and duration', async () => {
    const { history, clock } = setup();
    const claim = await history.claim({ job: 'j', slot: SLOT });
    if (!claim.claimed) throw new Error('claim lost');
    await clock.advance(1500);
    const done = await history.finish(claim.run, { status: 'success', result: { rows: 3 } });
    expect(done.record).toMatchObject({
      status: 'completed',
      durationMs: 1500,
      result: { rows: 3 },
      error: null,
    });
    expect(done.etag).not.toBe(claim.run.etag);

    const second = await history.claim({ job: 'j', slot: Date.parse(SLOT) + 60_000 });
    if (!second.claimed) throw new Error('claim lost');
    const failed = await history.finish(second.run, {
      status: 'failed',
      error: Object.assign(new Error('db down'), { code: 'ECONNREFUSED' }),
      attempts: 3,
      durationMs: 42,
    });
    expect(failed.record).toMatchObject({
      status: 'failed',
      attempts: 3,
      durationMs: 42,
      error: { name: 'Error', message: 'db down', code: 'ECONNREFUSED' },
    });
  });

  it('caps large results in the stored record', async () => {
    const { history } = setup();
    const claim = await history.claim({ job: 'j', slot: SLOT });
    if (!claim.claimed) throw new Error('claim lost');
    await history.finish(claim.run, { status: 'completed', result: 'z'.repeat(100_000) });
    const stored = await history.read(claim.run.key);
    expect(stored?.record.resultTruncated).toEqual({ reason: 'too-large', bytes: 100_002 });
    expect(JSON.stringify(stored?.record).length).toBeLessThan(2000);
  });

  it('fences out a holder whose record was marked abandoned by a recovery', async () => {
    const { history, memory } = setup();
    const claim = await history.claim({ job: 'j', slot: SLOT, workerId: 'crashed' });
    if (!claim.claimed) throw new Error('claim lost');
    const recovery = new HistoryStore({ store: memory });
    const seen = await recovery.read(claim.run.key);
    await recovery.finish(seen!, { status: 'abandoned', error: new Error('lease expired') });

    const error = await rejection(history.finish(claim.run, { status: 'completed', result: 1 }));
    expect(error.code).toBe('PRECONDITION_FAILED');
    expect(error.metadata).toMatchObject({
      key: claim.run.key,
      wanted: 'completed',
      currentStatus: 'abandoned',
    });
    expect((await history.read(claim.run.key))?.record.status).toBe('abandoned');
    expect((await history.query('j', { status: 'completed' })).runs).toHaveLength(0);
  });

  it('refuses transitions out of a final status', async () => {
    const { history } = setup();
    const claim = await history.claim({ job: 'j', slot: SLOT });
    if (!claim.claimed) throw new Error('claim lost');
    const done = await history.finish(claim.run, { status: 'completed' });
    const error = await rejection(history.finish(done, { status: 'failed' }));
    expect(error.code).toBe('PRECONDITION_FAILED');
    expect(error.metadata).toMatchObject({ from: 'completed', to: 'failed' });
    expect((await rejection(history.update(done, { attempts: 2 }))).code).toBe('PRECONDITION_FAILED');
    expect((await rejection(history.finish(claim.run, { status: 'running' as never }))).code).toBe(
      'INVALID_OPTION',
    );
  });

  it('updates a running run and fences the stale handle', async () => {
    const { history } = setup();
    const claim = await history.claim({ job: 'j', slot: SLOT });
    if (!claim.claimed) throw new Error('claim lost');
    const updated = await history.update(claim.run, { attempts: 2, epoch: 9 });
    expect(updated.record).toMatchObject({ attempts: 2, epoch: 9, status: 'running' });
    expect((await rejection(history.update(claim.run, { attempts: 3 }))).code).toBe('PRECONDITION_FAILED');
  });

  it('reclaims an abandoned run once, with attempt + 1, and drops it from the abandoned index', async () => {
    const { history, memory, clock } = setup({ statsBatchSize: 1 });
    const claim = await history.claim({ job: 'j', slot: SLOT });
    if (!claim.claimed) throw new Error('claim lost');
    const abandoned = await history.finish(claim.run, { status: 'abandoned' });
    expect((await history.query('j', { status: 'abandoned' })).runs).toHaveLength(1);
    await clock.advance(10_000);

    const a = new HistoryStore({ store: memory, clock });
    const b = new HistoryStore({ store: memory, clock });
    const outcomes = await Promise.allSettled([
      a.reclaim(abandoned, { workerId: 'a' }),
      b.reclaim(abandoned, { workerId: 'b' }),
    ]);
    const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    expect(won).toHaveLength(1);
    const rerun = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<HistoryStore['reclaim']>>>).value;
    expect(rerun.record).toMatchObject({ status: 'running', attempts: 2, finishedAt: null });
    expect(rerun.record.startedAt).toBe(new Date(clock.now()).toISOString());
    expect((await history.query('j', { status: 'abandoned' })).runs).toHaveLength(0);

    const finished = await (rerun.record.workerId === 'a' ? a : b).finish(rerun, { status: 'completed' });
    expect(finished.record.attempts).toBe(2);
    await a.flushStatistics();
    await b.flushStatistics();
    const stats = await history.statistics('j');
    expect(stats).toMatchObject({ total: 1, completed: 1, abandoned: 0 });
  });

  it('settles lost responses through ResolvingStore: one winner, no duplicate, finish succeeds', async () => {
    const memory = new MemoryStore();
    const faulty = new FaultyStore(memory, { seed: 7, rates: { lostResponse: 0.5 } });
    const instances = Array.from(
      { length: 4 },
      () => new HistoryStore({ store: new ResolvingStore(faulty) }),
    );
    for (let slot = 0; slot < 20; slot++) {
      const at = Date.parse(SLOT) + slot * 60_000;
      const claims = await Promise.all(instances.map((history) => history.claim({ job: 'j', slot: at })));
      const winners = claims.filter((claim) => claim.claimed);
      expect(winners).toHaveLength(1);
      const winner = winners[0]!;
      if (winner.claimed) await instances[0]!.finish(winner.run, { status: 'completed' });
    }
    expect(faulty.injected.lostResponse).toBeGreaterThan(5);
    const page = await instances[1]!.query('j', { limit: 100 });
    expect(page.runs).toHaveLength(20);
    expect(page.runs.every((run) => run.status === 'completed')).toBe(true);
  });
});

describe('requests per scheduled run', () => {
  // Issue 22 lowered these from 3 per run plus a statistics write per 10 runs (the assertions
  // were `put: 150` for 50 runs and `put: 310, get: 1` for 100): a completed run is now exactly
  // its claim and its final write.
  it('is exactly 2 for a completed run (claim, finish), statistics included', async () => {
    const { history, store } = setup({ statsBatchSize: 1000 });
    await openOnce(history, store);
    for (let i = 0; i < 50; i++) {
      const claim = await history.claim({ job: 'j', slot: Date.parse(SLOT) + i * 60_000 });
      if (!claim.claimed) throw new Error('claim lost');
      await history.finish(claim.run, { status: 'completed' });
    }
    expect(store.snapshot()).toMatchObject({ put: 100, total: 100 });
  });

  it('writes statistics on a timer, one write per shard, never per run or per batch of runs', async () => {
    const { history, store, clock } = setup();
    await openOnce(history, store);
    for (let i = 0; i < 100; i++) {
      const claim = await history.claim({ job: 'j', slot: Date.parse(SLOT) + i * 60_000 });
      if (!claim.claimed) throw new Error('claim lost');
      await history.finish(claim.run, { status: 'completed' });
    }
    expect(store.snapshot()).toMatchObject({ put: 200, total: 200 });
    expect(history.pendingStatistics).toBe(100);
    // The plugin's heartbeat: a flush of what waited long enough (here: nothing yet). The first
    // one lists older per-job documents to fold them in (one list, once per instance).
    await history.flushStatistics({ pendingForMs: 300_000 });
    expect(history.pendingStatistics).toBe(100);
    expect(store.snapshot()).toMatchObject({ put: 200, list: 1, total: 201 });
    await clock.advance(300_000);
    store.reset();
    await history.flushStatistics({ pendingForMs: 300_000 });
    // One write of the shard document (and, the first time, one read of it).
    expect(store.snapshot()).toMatchObject({ put: 1, get: 1, total: 2 });
    expect(await history.statistics('j')).toMatchObject({ completed: 100, total: 100 });
  });

  it('adds an index entry and a marker for a rare status, an index entry for a skipped slot', async () => {
    const { history, store } = setup({ statsBatchSize: 1000 });
    await openOnce(history, store);
    const failed = await history.claim({ job: 'j', slot: SLOT });
    if (!failed.claimed) throw new Error('claim lost');
    await history.finish(failed.run, { status: 'failed', error: new Error('boom') });
    expect(store.snapshot()).toMatchObject({ put: 4, total: 4 });
    store.reset();
    await history.claim({ job: 'j', slot: Date.parse(SLOT) + 60_000, status: 'skipped' });
    expect(store.snapshot()).toMatchObject({ put: 2, total: 2 });
  });
});

describe('marked runs', () => {
  it('let a query for completed runs skip the others without reading them', async () => {
    const { history, store } = setup({ statsBatchSize: 1000 });
    const statuses = ['completed', 'failed', 'timeout', 'completed', 'cancelled', 'abandoned', 'completed'];
    for (const [i, status] of statuses.entries()) {
      const claim = await history.claim({ job: 'j', slot: Date.parse(SLOT) - i * 60_000 });
      if (!claim.claimed) throw new Error('claim lost');
      await history.finish(claim.run, { status: status as 'completed' });
    }
    store.reset();
    const page = await history.query('j', { status: 'completed' });
    expect(page.runs.map((run) => Date.parse(run.slot!))).toEqual(
      [0, 3, 6].map((i) => Date.parse(SLOT) - i * 60_000),
    );
    expect(store.snapshot()).toMatchObject({ list: 1, get: 3, total: 4 });
    const all = await history.query('j', { limit: 4 });
    expect(all.runs.map((run) => run.status)).toEqual(statuses.slice(0, 4));
    const rest = await history.query('j', { limit: 4, cursor: all.cursor! });
    expect(rest.runs.map((run) => run.status)).toEqual(statuses.slice(4));
    expect(rest.cursor).toBeUndefined();
  });

  it('are dropped with the abandoned index entry when the run is reclaimed', async () => {
    const { history, memory } = setup({ statsBatchSize: 1000 });
    const claim = await history.claim({ job: 'j', slot: SLOT });
    if (!claim.claimed) throw new Error('claim lost');
    const abandoned = await history.finish(claim.run, { status: 'abandoned' });
    expect(await memory.head(history.keys.marker(abandoned.key, 'abandoned'))).not.toBeNull();
    const rerun = await history.reclaim(abandoned);
    expect(await memory.head(history.keys.marker(abandoned.key, 'abandoned'))).toBeNull();
    await history.finish(rerun, { status: 'completed' });
    expect((await history.query('j', { status: 'completed' })).runs).toHaveLength(1);
  });
});
