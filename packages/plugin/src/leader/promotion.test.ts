import type { Clock } from '@s3-scheduler/core';
import { ManualClock } from '@s3-scheduler/core/testing';
import { ForwardingStore, MemoryStore, type ObjectStore, type StoreOperation } from '@s3-scheduler/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_LAYOUT } from '../layout.js';
import { SchedulerPlugin } from '../scheduler-plugin.js';
import { stopAll } from '../test-support/stop-all.js';
import type { JobConfig } from '../types.js';

const MINUTE = 60_000;
const T0 = Date.parse('2026-03-01T00:00:00Z');
const at = (minutes: number, seconds = 0) => T0 + minutes * MINUTE + seconds * 1000;
const iso = (ms: number) => new Date(ms).toISOString();
const live: SchedulerPlugin[] = [];
let clock: ManualClock;

afterEach(() => stopAll(live, clock));

/** Listings of `active/` (the remote runs a promotion reads first) take `delayMs`: a slow store. */
class SlowActiveListing extends ForwardingStore {
  constructor(
    inner: ObjectStore,
    private readonly clock: Clock,
    private readonly delayMs: number,
  ) {
    super(inner);
  }

  protected override async around<T>(operation: StoreOperation, key: string, request: () => Promise<T>) {
    if (operation === 'list' && key.startsWith(DEFAULT_LAYOUT.inBucket(DEFAULT_LAYOUT.active)))
      await this.clock.sleep(this.delayMs);
    return request();
  }
}

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
    const second = plugin(new SlowActiveListing(memory, clock, 30_000), jobs);
    await second.start();
    await clock.advanceTo(at(7, 30));
    expect([...slots].sort()).toEqual([1, 2, 3, 4, 5, 6, 7].map((minute) => iso(at(minute))));
  });
});
