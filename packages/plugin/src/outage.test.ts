import { ManualClock } from '@s3-scheduler/core/testing';
import { MemoryStore } from '@s3-scheduler/storage';
import { FaultyStore } from '@s3-scheduler/storage/testing';
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

describe('a store outage', () => {
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
