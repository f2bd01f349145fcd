import { ManualClock } from '@s3-scheduler/core/testing';
import { MemoryStore } from '@s3-scheduler/storage';
import { GatedStore } from '@s3-scheduler/storage/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { SchedulerPlugin } from './scheduler-plugin.js';
import { stopAll } from './test-support/stop-all.js';

const START = Date.parse('2026-03-01T00:00:00Z');
const MINUTE = 60_000;
const live: SchedulerPlugin[] = [];
let currentClock: ManualClock | undefined;

afterEach(() => stopAll(live, currentClock));

/** Three instances with default options (but the clock), a job every minute. */
async function cluster() {
  const clock = new ManualClock({ now: START });
  currentClock = clock;
  const shared = new MemoryStore();
  const runs: Array<{ slot: string; workerId: string; trigger: string }> = [];
  const missed: string[] = [];
  const instances: Array<{ plugin: SchedulerPlugin; store: GatedStore }> = [];
  for (let i = 0; i < 3; i++) {
    const store = new GatedStore(shared);
    const plugin = new SchedulerPlugin({
      store,
      clock,
      workerId: `w${i}`,
      logger: null,
      jobs: {
        minutely: {
          schedule: '* * * * *',
          action: (_db, context) =>
            void runs.push({ slot: context.slot!, workerId: context.workerId, trigger: context.trigger }),
        },
      },
    });
    plugin.on('plg:scheduler:job-skipped', (event) => {
      if (event.reason === 'missed') missed.push(String(event.slot));
    });
    live.push(plugin);
    instances.push({ plugin, store });
    await plugin.start();
    await clock.advance(1000);
  }
  return { clock, instances, runs, missed };
}

describe('leader loss with default options (issue 20)', () => {
  // Kill phases relative to a slot: well before it, in the last lease before it, just before it,
  // and just after it fired.
  for (const beforeSlotMs of [40_000, 13_000, 9_000, 5_000, 1_000, -500]) {
    it(`a leader killed ${beforeSlotMs} ms before a slot loses no slot: the next leader runs it late, as catch-up`, async () => {
      const { clock, instances, runs, missed } = await cluster();
      await clock.advance(3 * MINUTE);
      const leader = instances.find(({ plugin }) => plugin.isLeader())!;
      expect(leader).toBeDefined();
      // To `beforeSlotMs` before the next whole minute.
      const now = clock.now();
      const nextSlot = Math.ceil((now + 1) / MINUTE) * MINUTE + MINUTE;
      await clock.advance(nextSlot - beforeSlotMs - now);
      leader.store.kill();
      live.splice(live.indexOf(leader.plugin), 1); // a dead process is never stopped
      await clock.advance(3 * MINUTE);
      const survivors = instances.filter(({ plugin }) => plugin !== leader.plugin && plugin.isLeader());
      expect(survivors).toHaveLength(1);
      // Every minute from the first slot to the last ran exactly once, none reported missed.
      const slots = runs.map((run) => run.slot);
      expect(new Set(slots).size).toBe(slots.length);
      const first = Date.parse(slots[0]!);
      const last = Date.parse(slots.at(-1)!);
      expect(slots.length).toBe((last - first) / MINUTE + 1);
      expect(last).toBeGreaterThanOrEqual(nextSlot + MINUTE);
      expect(missed).toEqual([]);
      // A slot due while nobody led (within a lease of the kill) ran late on the new leader.
      const fromSurvivor = runs.filter((run) => run.workerId !== leader.plugin.workerId);
      const gap = runs.find((run) => run.slot === new Date(nextSlot).toISOString())!;
      expect(gap).toBeDefined();
      if (beforeSlotMs > 0 && beforeSlotMs < 12_000) {
        expect(gap).toMatchObject({ workerId: fromSurvivor[0]!.workerId, trigger: 'catch-up' });
      }
    });
  }
});
