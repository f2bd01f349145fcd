import { type SchedulerError, seededRandom } from '@s3-scheduler/core';
import { ManualClock } from '@s3-scheduler/core/testing';
import { MemoryStore, type ObjectStore } from '@s3-scheduler/storage';
import { CountingStore } from '@s3-scheduler/storage/testing';
import { describe, expect, it } from 'vitest';
import { HistoryStore, type HistoryStoreOptions } from './history-store.js';
import { type FinalStatus, RUN_STATUSES, type RunRecord } from './run-record.js';
import { addDelta, addRun, deltaOfRun, emptyDelta } from './statistics.js';

const START = Date.UTC(2026, 0, 1);

async function runOnce(
  history: HistoryStore,
  clock: ManualClock,
  slot: number,
  status: FinalStatus,
  ms = 100,
) {
  const claim = await history.claim({ job: 'j', slot });
  if (!claim.claimed) throw new Error('claim lost');
  await clock.advance(ms);
  return history.finish(claim.run, {
    status,
    ...(status === 'failed' ? { error: new Error(`boom ${slot}`) } : {}),
  });
}

function make(memory: MemoryStore, clock: ManualClock, options: Partial<HistoryStoreOptions> = {}) {
  return new HistoryStore({ store: memory, clock, ...options });
}

describe('statistics', () => {
  it('counts outcomes, success rate, average duration and the latest runs', async () => {
    const clock = new ManualClock({ now: START });
    const history = make(new MemoryStore(), clock, { statsBatchSize: 1 });
    const outcomes: Array<[FinalStatus, number]> = [
      ['completed', 100],
      ['completed', 300],
      ['failed', 50],
      ['timeout', 1000],
      ['completed', 200],
      ['skipped', 0],
    ];
    for (const [i, [status, ms]] of outcomes.entries()) {
      if (status === 'skipped')
        await history.claim({ job: 'j', slot: START + i * 60_000, status: 'skipped' });
      else await runOnce(history, clock, START + i * 60_000, status, ms);
    }
    const stats = await history.statistics('j');
    expect(stats).toMatchObject({
      job: 'j',
      total: 5,
      completed: 3,
      failed: 1,
      timeouts: 1,
      skipped: 1,
      cancelled: 0,
      abandoned: 0,
      successRate: 60,
      averageDurationMs: 200,
    });
    expect(stats.lastRun).toMatchObject({ status: 'completed', durationMs: 200 });
    expect(stats.lastSuccess).toBe(new Date(clock.now()).toISOString());
    expect(stats.lastError).toMatchObject({ status: 'timeout', message: 'timeout' });
    expect(stats.updatedAt).not.toBeNull();
  });

  it('is empty for a job that never ran, in one request', async () => {
    const store = new CountingStore(new MemoryStore());
    const history = new HistoryStore({ store });
    expect(await history.statistics('never')).toMatchObject({
      total: 0,
      successRate: 0,
      averageDurationMs: null,
      lastRun: null,
      lastSuccess: null,
      lastError: null,
      updatedAt: null,
    });
    expect(store.total).toBe(1);
  });

  it('shows local unflushed runs at once and flushes every statsBatchSize runs', async () => {
    const clock = new ManualClock({ now: START });
    const memory = new MemoryStore();
    const writer = make(memory, clock, { statsBatchSize: 4, statsFlushIntervalMs: 3_600_000 });
    const reader = make(memory, clock);
    for (let i = 0; i < 3; i++) await runOnce(writer, clock, START + i * 60_000, 'completed');
    expect(writer.pendingStatistics).toBe(3);
    expect((await writer.statistics('j')).completed).toBe(3);
    expect((await reader.statistics('j')).completed).toBe(0);
    await runOnce(writer, clock, START + 3 * 60_000, 'completed');
    expect(writer.pendingStatistics).toBe(0);
    expect((await reader.statistics('j')).completed).toBe(4);
    await runOnce(writer, clock, START + 4 * 60_000, 'failed');
    await writer.flushStatistics();
    expect(await reader.statistics('j')).toMatchObject({ completed: 4, failed: 1, total: 5 });
    expect((await reader.statistics('j')).lastError?.message).toBe(`boom ${START + 4 * 60_000}`);
  });

  it('flushes at a finish once the oldest pending run is statsFlushIntervalMs old', async () => {
    const clock = new ManualClock({ now: START });
    const memory = new MemoryStore();
    const writer = make(memory, clock, { statsBatchSize: 100, statsFlushIntervalMs: 60_000 });
    await runOnce(writer, clock, START, 'completed');
    await clock.advance(30_000);
    await runOnce(writer, clock, START + 60_000, 'completed');
    expect(writer.pendingStatistics).toBe(2);
    await clock.advance(30_000);
    await runOnce(writer, clock, START + 120_000, 'completed');
    expect(writer.pendingStatistics).toBe(0);
    expect((await make(memory, clock).statistics('j')).completed).toBe(3);
  });

  it('stays exact when several instances flush the same job concurrently', async () => {
    const clock = new ManualClock({ now: START });
    const memory = new MemoryStore();
    const instances = Array.from({ length: 5 }, () => make(memory, clock, { statsBatchSize: 1 }));
    await Promise.all(
      instances.map(async (history, n) => {
        for (let i = 0; i < 8; i++)
          await runOnce(
            history,
            clock,
            START + (n * 8 + i) * 60_000,
            i % 4 === 3 ? 'failed' : 'completed',
            10,
          );
      }),
    );
    await Promise.all(instances.map((history) => history.flushStatistics()));
    expect(await make(memory, clock).statistics('j')).toMatchObject({
      total: 40,
      completed: 30,
      failed: 10,
      successRate: 75,
    });
  });

  it('keeps a delta that could not be written and writes it on the next flush', async () => {
    const clock = new ManualClock({ now: START });
    const memory = new MemoryStore();
    let failWrites = false;
    const flaky: ObjectStore = {
      description: 'flaky',
      get: (key) => memory.get(key),
      head: (key) => memory.head(key),
      list: (prefix, options) => memory.list(prefix, options),
      delete: (key, options) => memory.delete(key, options),
      put: (key, body, options) => {
        if (failWrites && key.includes('/stats/')) return Promise.reject(new Error('network down'));
        return memory.put(key, body, options);
      },
    };
    const errors: SchedulerError[] = [];
    const history = new HistoryStore({
      store: flaky,
      clock,
      statsBatchSize: 1,
      onError: (e) => errors.push(e),
    });
    failWrites = true;
    await runOnce(history, clock, START, 'completed');
    expect(errors.map((error) => error.message)).toEqual(['network down']);
    expect(history.pendingStatistics).toBe(1);
    await expect(history.flushStatistics()).rejects.toThrow('network down');
    failWrites = false;
    await history.flushStatistics();
    expect((await make(memory, clock).statistics('j')).completed).toBe(1);
  });

  it('reports a corrupted statistics document and replaces it on the next flush', async () => {
    const clock = new ManualClock({ now: START });
    const memory = new MemoryStore();
    const errors: SchedulerError[] = [];
    const history = make(memory, clock, { statsBatchSize: 1, onError: (e) => errors.push(e) });
    await memory.put(history.keys.stats('j'), 'not json');
    expect((await history.statistics('j')).total).toBe(0);
    expect(errors[0]).toMatchObject({ code: 'STORE_CORRUPTED', metadata: { key: history.keys.stats('j') } });
    await runOnce(history, clock, START, 'completed');
    expect((await make(memory, clock).statistics('j')).completed).toBe(1);
  });
});

describe('flushStatistics({ pendingForMs })', () => {
  it('writes only the deltas that have waited long enough', async () => {
    const { createRunId } = await import('@s3-scheduler/core');
    const clock = new ManualClock({ now: Date.parse('2026-03-01T00:00:00Z') });
    const store = new MemoryStore();
    const history = new HistoryStore({ store, clock, statsBatchSize: 100 });
    const reader = new HistoryStore({ store, clock }); // sees only what was written
    const finishOne = async (job: string) => {
      const claim = await history.claim({ job, runId: createRunId(clock.now()) });
      if (!claim.claimed) throw new Error('claim lost');
      await history.finish(claim.run, { status: 'completed' });
    };
    await finishOne('old');
    await clock.advance(120_000);
    await finishOne('new');
    await history.flushStatistics({ pendingForMs: 60_000 });
    expect((await reader.statistics('old')).total).toBe(1);
    expect((await reader.statistics('new')).total).toBe(0);
    await history.flushStatistics();
    expect((await reader.statistics('new')).total).toBe(1);
  });
});

describe('statistics of older versions', () => {
  it('folds per-job documents into the shared ones once, even from two instances at once', async () => {
    const clock = new ManualClock({ now: START });
    const memory = new MemoryStore();
    const legacy = {
      v: 1,
      job: 'old/job',
      completed: 7,
      failed: 2,
      timeouts: 0,
      cancelled: 0,
      abandoned: 0,
      skipped: 1,
      completedDurationSumMs: 700,
      completedDurationCount: 7,
      lastRun: null,
      lastSuccess: '2025-12-31T00:00:00.000Z',
      lastError: null,
      updatedAt: '2025-12-31T00:00:00.000Z',
      nonce: 'n',
    };
    await memory.put('history/stats/old%2Fjob.json', JSON.stringify(legacy));
    const a = make(memory, clock);
    const b = make(memory, clock);
    await runOnce(a, clock, START, 'completed');
    await Promise.all([a.flushStatistics(), b.flushStatistics()]);
    expect(await make(memory, clock).statistics('old/job')).toMatchObject({
      completed: 7,
      failed: 2,
      skipped: 1,
      total: 9,
      averageDurationMs: 100,
      lastSuccess: '2025-12-31T00:00:00.000Z',
    });
    expect(await make(memory, clock).statistics('j')).toMatchObject({ completed: 1 });
    expect(await memory.get('history/stats/old%2Fjob.json')).toBeNull();
  });
});

describe('addRun', () => {
  it('sums a run into a delta exactly as addDelta(delta, deltaOfRun(run)) does', () => {
    const random = seededRandom(7);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    // Few distinct instants and run ids, so ties (same instant, order by run id) come up often.
    const instants = [
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T00:00:01.000Z',
      '2026-01-01T00:00:02.000Z',
      '2026-01-01T00:00:01Z',
    ];
    const run = (): RunRecord => ({
      key: 'k',
      job: 'j',
      slot: pick([null, instants[0]!]),
      runId: pick(['a', 'b', 'c']),
      status: pick(RUN_STATUSES),
      trigger: 'schedule',
      epoch: null,
      workerId: null,
      attempts: 1,
      startedAt: pick(instants),
      finishedAt: pick([null, ...instants]),
      durationMs: pick([null, 0, 5, 20]),
      result: null,
      error: pick([null, { name: 'E', message: 'boom', code: 'X' }]),
      updatedAt: instants[0]!,
    });
    for (let sequence = 0; sequence < 500; sequence++) {
      const viaDeltas = emptyDelta();
      const viaRuns = emptyDelta();
      for (let i = 0; i < 8; i++) {
        const next = run();
        addDelta(viaDeltas, deltaOfRun(next));
        addRun(viaRuns, next);
        expect(viaRuns).toEqual(viaDeltas);
      }
    }
  });
});
