import { ManualClock } from '@s3-scheduler/core/testing';
import { HistoryKeys } from '@s3-scheduler/history';
import { MemoryStore, type ObjectStore } from '@s3-scheduler/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_LAYOUT } from '../layout.js';
import { SchedulerPlugin } from '../scheduler-plugin.js';
import { SlowStore } from '../test-support/slow-store.js';
import { stopAll } from '../test-support/stop-all.js';
import type { JobConfig } from '../types.js';

const MINUTE = 60_000;
const T0 = Date.parse('2026-03-01T00:00:00Z');
const at = (minutes: number, seconds = 0) => T0 + minutes * MINUTE + seconds * 1000;
const iso = (ms: number) => new Date(ms).toISOString();
const live: SchedulerPlugin[] = [];
let clock: ManualClock;

afterEach(() => stopAll(live, clock));

function plugin(store: ObjectStore, jobs: Record<string, JobConfig>): SchedulerPlugin {
  const instance = new SchedulerPlugin({ store, clock, enableCoordinator: false, logger: null, jobs });
  live.push(instance);
  return instance;
}

describe('promotion catch-up', () => {
  it('anchors on the newest slot up to the promotion, not on one its timer claimed meanwhile (seeds 214, 223)', async () => {
    clock = new ManualClock({ now: at(0, 30) });
    const memory = new MemoryStore();
    const slots: string[] = [];
    const jobs: Record<string, JobConfig> = {
      tick: {
        schedule: '* * * * *',
        catchUp: 'all',
        catchUpWindow: 60 * MINUTE,
        action: (_db, ctx) => void slots.push(ctx.slot!),
      },
    };
    // A first instance runs 00:01, then goes away: 00:02–00:05 pass with nobody leading.
    const first = plugin(memory, jobs);
    await first.start();
    await clock.advanceTo(at(1, 30));
    await stopAll([first], clock);
    live.splice(live.indexOf(first), 1);
    expect(slots).toEqual([iso(at(1))]);
    await clock.advanceTo(at(5, 50));
    // The next leader is promoted at 00:05:50; its first read takes 30 s, so its timer has claimed
    // 00:06 by the time the catch-up reads the job's newest runs.
    const second = plugin(new SlowStore(memory, clock, 0, 30_000), jobs);
    await second.start();
    await clock.advanceTo(at(7, 30));
    expect([...slots].sort()).toEqual([1, 2, 3, 4, 5, 6, 7].map((minute) => iso(at(minute))));
  });

  it("a slot due while the catch-up reads is the timer's: dispatched once, never skipped for overlapping itself (s3db-host)", async () => {
    // On RGW a new leader's first reads took 200 ms, and the catch-up, planning up to the end of
    // its reads, dispatched the timer's slot too; the second dispatch found the job admitted by
    // the first and recorded the slot skipped for overlap, which won its key: the slot never ran.
    clock = new ManualClock({ now: at(0, 0) + 500 });
    const memory = new MemoryStore();
    const slots: string[] = [];
    const skipped: string[] = [];
    const jobs: Record<string, JobConfig> = {
      // Default overlap ('skip'): a slot due while a caught-up slot is claimed or runs is skipped.
      tick: { schedule: '* * * * * *', catchUp: 'all', action: (_db, ctx) => void slots.push(ctx.slot!) },
    };
    const first = plugin(memory, jobs);
    await first.start();
    await clock.advanceTo(at(0, 3) + 500);
    await stopAll([first], clock);
    live.splice(live.indexOf(first), 1);
    await clock.advanceTo(at(0, 5) + 500);
    // Started at 00:00:05.5 (slots 4 and 5 passed with nobody leading); its first read ends
    // exactly when a slot is due, before the timer fires it, so the catch-up planned that slot
    // while the timer's claim of it was still to come; each write takes 20 ms. A forwarding store
    // has no createMany, so claims go one by one, as on S3. Then the same with reads ending mid-slot.
    const toTheSecond = (now: number) => Math.ceil(now / 1000) * 1000 + 1000 - now;
    const puts = new Map<string, number>();
    for (const delayMs of [toTheSecond, 2_200, 700]) {
      const store = new SlowStore(memory, clock, 20, delayMs);
      const second = plugin(store, jobs);
      second.on('plg:scheduler:job-skipped', (event) => {
        expect(event.reason).toBe('overlap');
        skipped.push(String(event.slot));
      });
      // Its start writes too (and every write waits on the clock): time moves while it starts.
      const started = second.start();
      await clock.advanceTo(clock.now() + 4_000);
      await started;
      await stopAll([second], clock);
      live.splice(live.indexOf(second), 1);
      for (const [key, n] of store.puts) puts.set(key, (puts.get(key) ?? 0) + n);
      await clock.advanceTo(Math.ceil(clock.now() / 1000) * 1000 + 1_500);
    }
    // Every second from the first run to the last ran once or was skipped once, not both.
    const all = [...slots, ...skipped].sort();
    const from = Date.parse(all[0]!);
    expect(all).toEqual(all.map((_, i) => iso(from + i * 1000)));
    // Dispatched once: a run's record was written twice (claim, final write), a skipped slot's
    // once (its skipped record; no claim of the same slot lost to it).
    const keys = new HistoryKeys(DEFAULT_LAYOUT.inBucket(DEFAULT_LAYOUT.history));
    const written = (slot: string) => puts.get(keys.run('tick', { slotMs: Date.parse(slot) })) ?? 0;
    const ranHere = slots.filter((slot) => Date.parse(slot) >= at(0, 4));
    expect(ranHere.filter((slot) => written(slot) !== 2)).toEqual([]);
    expect(skipped.filter((slot) => written(slot) !== 1)).toEqual([]);
  });
});
