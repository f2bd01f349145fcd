import { ManualClock } from '@s3-scheduler/core/testing';
import {
  ForwardingStore,
  MemoryStore,
  type ObjectStore,
  type StoreOperation,
  storeUnavailable,
} from '@s3-scheduler/storage';
import { FaultyStore, RefusedWrites } from '@s3-scheduler/storage/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { SchedulerPlugin } from './scheduler-plugin.js';
import { stopAll } from './test-support/stop-all.js';
import type { JobConfig } from './types.js';

const START = Date.parse('2026-03-01T00:00:30Z');
const live: SchedulerPlugin[] = [];
let clock: ManualClock;

afterEach(() => stopAll(live, clock));

async function single(jobs: Record<string, JobConfig>) {
  clock = new ManualClock({ now: START });
  const faulty = new FaultyStore(new MemoryStore(), { clock });
  const plugin = new SchedulerPlugin({ store: faulty, clock, enableCoordinator: false, logger: null, jobs });
  live.push(plugin);
  await plugin.start();
  return { plugin, faulty };
}

/**
 * Run records (`history/runs…`): the next `lostPuts` puts are applied and their answer lost, and
 * reads fail until `failGetsUntil` (ms on the clock), as on a store answering 503 to most requests.
 */
class FlakyRunRecords extends ForwardingStore {
  lostPuts = 0;
  failGetsUntil = 0;

  constructor(
    inner: ObjectStore,
    private readonly clock: ManualClock,
  ) {
    super(inner);
  }

  protected override async around<T>(operation: StoreOperation, key: string, request: () => Promise<T>) {
    if (!key.includes('/runs')) return request();
    if (operation === 'put' && this.lostPuts > 0) {
      this.lostPuts--;
      await request();
      throw storeUnavailable('put', key, { reason: 'response lost' });
    }
    if (operation === 'get' && this.clock.now() < this.failGetsUntil) {
      throw storeUnavailable('get', key, { statusCode: 503 });
    }
    return request();
  }
}

describe('a store outage', () => {
  it('keeps a retry per refused claim without Node warning of a listener leak (12 jobs owed at once)', async () => {
    // Each retry waits on the plugin's stop signal: twelve jobs' claims refused at once made
    // Node print a MaxListenersExceededWarning (simulation seeds 207–214).
    clock = new ManualClock({ now: START });
    let refusing = true;
    const store = new RefusedWrites(new MemoryStore(), (key) => refusing && key.includes('/runs'));
    const jobs: Record<string, JobConfig> = {};
    const ran: string[] = [];
    for (let i = 0; i < 12; i++)
      jobs[`job-${i}`] = { schedule: '* * * * *', action: (_db, ctx) => void ran.push(ctx.jobName) };
    const warnings: string[] = [];
    const onWarning = (warning: Error) => void warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      const plugin = new SchedulerPlugin({ store, clock, enableCoordinator: false, logger: null, jobs });
      live.push(plugin);
      await plugin.start();
      await clock.advance(40_000); // 00:01 is due; its twelve claims are refused and owed
      refusing = false;
      await clock.advance(10_000);
      expect(ran).toHaveLength(12);
      // Node emits 'warning' on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it("claims a job's slots in slot order: a later slot waits while an earlier one's claim is tried again", async () => {
    // Chaos run on RGW: a slot's claim was refused during a freeze and tried again later, the next
    // slot's claim landed first, and the leader was killed before the retry. The next leader
    // catches up from the newest claimed slot, so the refused one was never run.
    clock = new ManualClock({ now: START });
    // Every claim of the first run record claimed while `until` is ahead is refused (503, not applied).
    let until = 0;
    let refusedKey: string | undefined;
    const store = new RefusedWrites(new MemoryStore({ clock }), (key) => {
      if (!key.includes('/runs') || clock.now() >= until) return false;
      refusedKey ??= key;
      return key === refusedKey;
    });
    const slots: string[] = [];
    const plugin = new SchedulerPlugin({
      store,
      clock,
      enableCoordinator: false,
      logger: null,
      jobs: { tick: { schedule: '*/2 * * * * *', action: (_db, ctx) => void slots.push(ctx.slot!) } },
    });
    live.push(plugin);
    await plugin.start();
    await clock.advanceTo(Date.parse('2026-03-01T00:00:39.900Z'));
    slots.length = 0;
    // The 00:00:40 slot's claim is refused until 00:00:43.5: its retries go on past 00:00:42.
    until = Date.parse('2026-03-01T00:00:43.500Z');
    await clock.advanceTo(Date.parse('2026-03-01T00:01:10Z'));
    expect(refusedKey).toBeDefined();
    // Every slot ran, in slot order: 00:00:42 and later waited for 00:00:40's claim.
    const expected = Array.from({ length: 15 }, (_, i) =>
      new Date(Date.parse('2026-03-01T00:00:40Z') + 2_000 * i).toISOString(),
    );
    expect(slots.slice(0, 15)).toEqual(expected);
  });

  it('does not drop a slot whose claim failed: it is claimed and run once the store is back', async () => {
    const slots: string[] = [];
    const { plugin, faulty } = await single({
      tick: { schedule: '0 * * * *', action: (_db, ctx) => void slots.push(ctx.slot!) },
    });
    await clock.advanceTo(Date.parse('2026-03-01T00:59:59Z'));
    faulty.outage = true;
    await clock.advanceTo(Date.parse('2026-03-01T01:00:40Z'));
    expect(slots).toEqual([]);
    faulty.outage = false;
    await clock.advance(60_000);
    expect(slots).toEqual(['2026-03-01T01:00:00.000Z']);
    const [record] = await plugin.getJobHistory('tick');
    expect(record).toMatchObject({ slot: '2026-03-01T01:00:00.000Z', status: 'completed' });
  });

  it('a claim whose answer was lost runs its slot even when its record cannot be read at the retry (seed 322)', async () => {
    // Simulation seed 322: the claim of a slot was stored but its answer lost; at the retry the
    // key was taken and reading its record failed, so the slot counted as lost to nobody: the run
    // stayed `running` under its leader, never started, and was not recovered after it died.
    clock = new ManualClock({ now: START });
    const flaky = new FlakyRunRecords(new MemoryStore({ clock }), clock);
    const slots: string[] = [];
    const plugin = new SchedulerPlugin({
      store: flaky,
      clock,
      enableCoordinator: false,
      logger: null,
      jobs: { tick: { schedule: '0 * * * *', action: (_db, ctx) => void slots.push(ctx.slot!) } },
    });
    live.push(plugin);
    await plugin.start();
    await clock.advanceTo(Date.parse('2026-03-01T00:59:59Z'));
    flaky.lostPuts = 1; // the claim: stored, its answer lost
    // Reads of run records fail for 20 s: the claim's outcome cannot be settled, and its retry
    // finds the key taken by a record it cannot read.
    flaky.failGetsUntil = Date.parse('2026-03-01T01:00:20Z');
    await clock.advance(60_000);
    expect(flaky.lostPuts).toBe(0);
    expect(slots).toEqual(['2026-03-01T01:00:00.000Z']);
    const records = await plugin.getJobHistory('tick');
    expect(records.map((record) => [record.slot, record.status])).toEqual([
      ['2026-03-01T01:00:00.000Z', 'completed'],
    ]);
  });

  it('does not leave a run `running` when its final write fails: the write is retried', async () => {
    const { plugin, faulty } = await single({
      slow: { schedule: '0 * * * *', timeout: 0, action: () => clock.sleep(5_000).then(() => 'done') },
    });
    await clock.advanceTo(Date.parse('2026-03-01T01:00:02Z')); // the run has started
    faulty.outage = true;
    await clock.advance(60_000); // it ends during the outage
    faulty.outage = false;
    await clock.advance(120_000);
    const [record] = await plugin.getJobHistory('slow');
    expect(record).toMatchObject({ status: 'completed', result: 'done' });
  });
});
