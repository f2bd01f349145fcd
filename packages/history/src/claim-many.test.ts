import { createRunId, isSchedulerError } from '@s3-scheduler/core';
import { ManualClock } from '@s3-scheduler/core/testing';
import { MemoryStore, type ObjectStore } from '@s3-scheduler/storage';
import { CountingStore } from '@s3-scheduler/storage/testing';
import { describe, expect, it } from 'vitest';
import { type ClaimInput, type ClaimResult, HistoryStore } from './history-store.js';
import { encodeRecord, type RunRecord } from './run-record.js';

const NOW = Date.parse('2026-01-01T03:00:05.000Z');
const SLOT = Date.parse('2026-01-01T03:00:00.000Z');

function setup(store: ObjectStore = new MemoryStore()) {
  const clock = new ManualClock({ now: NOW });
  return { clock, history: new HistoryStore({ store, clock }) };
}

function value(result: PromiseSettledResult<ClaimResult> | undefined): ClaimResult {
  if (result?.status !== 'fulfilled') throw new Error(`expected a fulfilled claim, got ${String(result)}`);
  return result.value;
}

describe('claimMany', () => {
  it('claims each input as claim() does, results in input order, each settled on its own', async () => {
    const { history } = setup();
    await history.open();
    const taken = await history.claim({ job: 'c', slot: SLOT, workerId: 'other', epoch: 1 });
    const runId = createRunId(NOW);
    const inputs: ClaimInput[] = [
      { job: 'a', slot: SLOT, workerId: 'w', epoch: 2 },
      { job: 'b', slot: SLOT - 1000, trigger: 'catch-up', workerId: 'w', epoch: 2, startedAt: NOW - 1 },
      { job: 'c', slot: SLOT, workerId: 'w', epoch: 2 },
      { job: '', slot: SLOT },
      { job: 'd', runId, workerId: 'w' },
      { job: 'e', slot: SLOT, status: 'skipped', workerId: 'w' },
    ];
    const results = await history.claimMany(inputs);
    expect(results.map((result) => result.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    const [a, b, c, , d, e] = results.map((result) => (result.status === 'fulfilled' ? result.value : null));
    // Every field as written: slot and start differ, so neither stands in for the other.
    for (const [claim, job, slot, startedAt, trigger] of [
      [a, 'a', SLOT, NOW, 'schedule'],
      [b, 'b', SLOT - 1000, NOW - 1, 'catch-up'],
    ] as const) {
      expect(claim?.claimed).toBe(true);
      if (!claim?.claimed) continue;
      expect(claim.run.record).toMatchObject({
        job,
        slot: new Date(slot).toISOString(),
        startedAt: new Date(startedAt).toISOString(),
        updatedAt: new Date(NOW).toISOString(),
        status: 'running',
        trigger,
        workerId: 'w',
        epoch: 2,
        attempts: 1,
      });
      expect(await history.read(claim.run.key)).toEqual(claim.run);
      expect(claim.run.key).toBe(history.runKey(job, { slot }));
    }
    expect(c).toEqual({
      claimed: false,
      key: taken.claimed && taken.run.key,
      existing: taken.claimed && taken.run,
    });
    const invalid = results[3] as PromiseRejectedResult;
    expect(isSchedulerError(invalid.reason) && invalid.reason.code).toBe('INVALID_OPTION');
    expect(d?.claimed && d.run.record).toMatchObject({ runId, slot: null, trigger: 'manual' });
    expect(e?.claimed && e.run.record).toMatchObject({
      status: 'skipped',
      finishedAt: new Date(NOW).toISOString(),
    });
    // The skipped slot got its index entry, as with claim().
    expect((await history.query('e', { status: 'skipped' })).runs).toHaveLength(1);
  });

  it('sends the batch as one store call on MemoryStore, one create-only put per claim on other stores', async () => {
    const memory = new MemoryStore();
    let batches = 0;
    const createMany = memory.createMany.bind(memory);
    memory.createMany = (entries, options) => {
      batches++;
      return createMany(entries, options);
    };
    const { history } = setup(memory);
    await history.open();
    const inputs = Array.from({ length: 50 }, (_, i) => ({ job: `job-${i}`, slot: SLOT }));
    expect((await history.claimMany(inputs)).every((result) => value(result).claimed)).toBe(true);
    expect(batches).toBe(1);

    const counting = new CountingStore(new MemoryStore());
    const other = setup(counting).history;
    await other.open();
    counting.reset();
    expect((await other.claimMany(inputs)).every((result) => value(result).claimed)).toBe(true);
    expect(counting.snapshot()).toMatchObject({ put: 50, total: 50 });
  });

  it('fails every claim of the batch, never the call, when the store fails', async () => {
    const memory = new MemoryStore();
    const { history } = setup(memory);
    await history.open();
    memory.createMany = () => Promise.reject(new Error('store down'));
    const results = await history.claimMany([
      { job: 'a', slot: SLOT },
      { job: 'b', slot: SLOT },
    ]);
    expect(results).toEqual([
      { status: 'rejected', reason: new Error('store down') },
      { status: 'rejected', reason: new Error('store down') },
    ]);
    expect(await history.claimMany([])).toEqual([]);
  });
});

describe('encodeRecord', () => {
  const record: RunRecord = {
    key: 'history/runs/a"\\b/1.s',
    job: 'a"\\b',
    slot: '2026-01-01T03:00:00.000Z',
    runId: 'r',
    status: 'completed',
    trigger: 'schedule',
    epoch: 3,
    workerId: null,
    attempts: 2,
    startedAt: '2026-01-01T03:00:00.001Z',
    finishedAt: '2026-01-01T03:00:01.000Z',
    durationMs: 999,
    result: { rows: [1, 'two'] },
    resultTruncated: { reason: 'too-large', bytes: 70_000 },
    error: null,
    updatedAt: '2026-01-01T03:00:01.000Z',
  };
  const expected = (fields: object) => {
    const { key: _key, ...rest } = fields as RunRecord;
    return { v: 1, ...rest, nonce: 'n"1' };
  };

  it('stores every field but the key, with v and the nonce, fields of newer versions too', () => {
    const newer = { ...record, fromANewerVersion: { x: 1 } };
    expect(JSON.parse(encodeRecord(record, 'n"1'))).toEqual(expected(record));
    expect(JSON.parse(encodeRecord(newer, 'n"1'))).toEqual(expected(newer));
  });

  it('gives the same body when the key is not the first field', () => {
    const { key, ...rest } = record;
    const keyLast = { ...rest, key } as RunRecord;
    expect(JSON.parse(encodeRecord(keyLast, 'n"1'))).toEqual(expected(record));
  });
});
