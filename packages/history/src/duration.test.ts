import { ManualClock } from '@s3-scheduler/core/testing';
import { MemoryStore } from '@s3-scheduler/storage';
import { describe, expect, it } from 'vitest';
import { HistoryStore } from './history-store.js';

const SLOT = '2026-01-01T03:00:00.000Z';

describe('durations are whole milliseconds', () => {
  it('rounds a fractional durationMs given to finish(), in the record and in the statistics', async () => {
    const clock = new ManualClock({ now: Date.parse(SLOT) });
    const history = new HistoryStore({ store: new MemoryStore(), clock });
    const durations: number[] = [];
    for (const [i, given] of [1.1939729999999145, 2.5, 1000.4].entries()) {
      const claim = await history.claim({ job: 'j', slot: Date.parse(SLOT) + i * 60_000 });
      if (!claim.claimed) throw new Error('claim lost');
      const done = await history.finish(claim.run, { status: 'completed', durationMs: given });
      durations.push(done.record.durationMs!);
      expect((await history.read(done.key))?.record.durationMs).toBe(done.record.durationMs);
    }
    expect(durations).toEqual([1, 3, 1000]);
    await history.flushStatistics();
    const statistics = await history.statistics('j');
    expect(statistics.averageDurationMs).toBe(Math.round((1 + 3 + 1000) / 3));
    expect(Number.isInteger(statistics.lastRun?.durationMs)).toBe(true);
  });
});
