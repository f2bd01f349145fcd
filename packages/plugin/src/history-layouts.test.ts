import { ManualClock } from '@s3-scheduler/core/testing';
import { seedHistory } from '@s3-scheduler/history/testing';
import { listAll, MemoryStore, PrefixedStore } from '@s3-scheduler/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_LAYOUT } from './layout.js';
import { ClusterReadModel } from './read-model/cluster-read-model.js';
import { SchedulerPlugin } from './scheduler-plugin.js';
import { stopAll } from './test-support/stop-all.js';

const MINUTE = 60_000;
/** The bucket's layout record says the sharded keys began at this day boundary. */
const SHARDED_FROM = Date.parse('2026-03-01T00:00:00Z');
const START = SHARDED_FROM + 30_000;
const plugins: SchedulerPlugin[] = [];
let clockOfTest: ManualClock | undefined;

afterEach(async () => {
  await stopAll(plugins, clockOfTest);
});

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * A bucket upgraded at `SHARDED_FROM`: 30 minutely runs before it in the keys of older versions
 * (every 10th failed), then a plugin of this version running the same job for a few minutes.
 */
async function upgradedBucket() {
  const clock = new ManualClock({ now: START });
  clockOfTest = clock;
  const bucket = new MemoryStore({ clock });
  const scheduler = new PrefixedStore(bucket, DEFAULT_LAYOUT.prefix);
  await seedHistory(scheduler, {
    job: 'minutely',
    count: 30,
    newestSlotMs: SHARDED_FROM - MINUTE,
    spacingMs: MINUTE,
    prefix: DEFAULT_LAYOUT.history,
    keys: 'legacy',
  });
  await scheduler.put(
    DEFAULT_LAYOUT.historyKeys.layoutRecord,
    JSON.stringify({ v: 1, shardedFrom: iso(SHARDED_FROM) }),
  );
  const plugin = new SchedulerPlugin({
    store: bucket,
    clock,
    workerId: 'worker-0',
    heartbeatInterval: 5_000,
    coldStartObservationWindow: 10_000,
    logger: null,
    jobs: {
      minutely: { schedule: '* * * * *', catchUp: 'none', action: (_db, context) => context.slot },
    },
  });
  plugins.push(plugin);
  return { clock, bucket, plugin };
}

describe('history written by older versions, next to the sharded keys of this one', () => {
  it('is read by the plugin and the read model: newest first, by status, page after page', async () => {
    const { clock, bucket, plugin } = await upgradedBucket();
    const model = new ClusterReadModel(bucket, { keyPrefix: DEFAULT_LAYOUT.prefix, clock });
    await plugin.start();
    for (let i = 0; i < 60 && !plugin.isLeader(); i++) await clock.advance(1_000);
    expect(plugin.isLeader()).toBe(true);
    await clock.advance(5 * MINUTE);

    const runs = (await model.runs('minutely', { limit: 1000 })).runs;
    const newSlots = runs.filter((run) => Date.parse(run.slot!) >= SHARDED_FROM).map((run) => run.slot);
    expect(newSlots.length).toBeGreaterThanOrEqual(4);
    const oldSlots = Array.from({ length: 30 }, (_, i) => iso(SHARDED_FROM - (i + 1) * MINUTE));
    expect(runs.map((run) => run.slot)).toEqual([...newSlots, ...oldSlots]);
    expect([...newSlots].sort().reverse()).toEqual(newSlots);

    // The new runs are in the sharded keys, the old ones where they were.
    const keys: string[] = [];
    for await (const object of listAll(bucket, `${DEFAULT_LAYOUT.prefix}${DEFAULT_LAYOUT.history}`))
      keys.push(object.key.slice(DEFAULT_LAYOUT.prefix.length));
    const runKeys = keys.filter((key) => key.endsWith('.s'));
    expect(runKeys.filter((key) => key.startsWith(DEFAULT_LAYOUT.historyKeys.runsRoot))).toHaveLength(
      newSlots.length,
    );
    expect(runKeys.filter((key) => key.startsWith('history/runs/minutely/'))).toHaveLength(30);

    // Pages of 7 through the read model's cursors: the same runs, none twice.
    const paged: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 20; page++) {
      const result = await model.runs('minutely', { limit: 7, ...(cursor ? { cursor } : {}) });
      paged.push(...result.runs.map((run) => run.slot!));
      cursor = result.cursor;
      if (!cursor) break;
    }
    expect(paged).toEqual([...newSlots, ...oldSlots]);

    // By status: the old failed runs (status index of the older keys) and the new completed ones.
    expect((await model.runs('minutely', { status: 'failed' })).runs.map((run) => run.slot)).toEqual(
      [9, 19, 29].map((i) => oldSlots[i]),
    );
    const completed = await plugin.getJobHistory('minutely', { status: 'completed', limit: 1000 });
    expect(completed).toHaveLength(newSlots.length + 27);
    // Bounded by time across the switch, through the plugin.
    const around = await plugin.getJobHistory('minutely', {
      after: SHARDED_FROM - 3 * MINUTE - 1,
      before: SHARDED_FROM + 2 * MINUTE + 1,
    });
    expect(around.map((run) => run.slot)).toEqual(
      [2, 1, -1, -2, -3].map((i) => iso(SHARDED_FROM + i * MINUTE)).filter((slot) => paged.includes(slot)),
    );
    expect(around.length).toBeGreaterThanOrEqual(4);
  });
});
