import { ManualClock } from '@s3-scheduler/core/testing';
import {
  ForwardingStore,
  MemoryStore,
  type ObjectStore,
  type StoreOperation,
  storeUnavailable,
} from '@s3-scheduler/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { SchedulerPlugin } from './scheduler-plugin.js';
import { at, iso } from './test-support/instants.js';
import { SlowStore } from './test-support/slow-store.js';
import { stopAll } from './test-support/stop-all.js';
import type { JobConfig } from './types.js';

const live: SchedulerPlugin[] = [];
let clock: ManualClock;

afterEach(() => stopAll(live, clock));

function plugin(store: ObjectStore, jobs: Record<string, JobConfig>): SchedulerPlugin {
  const instance = new SchedulerPlugin({ store, clock, enableCoordinator: false, logger: null, jobs });
  live.push(instance);
  return instance;
}

/** A first leader runs 00:00:01–00:00:03 and stops; 00:00:04 and 00:00:05 pass with nobody leading. */
async function gap(memory: MemoryStore, job: Omit<JobConfig, 'action'>, promoteAt = at(5) + 500) {
  const first = plugin(memory, { tick: { ...job, action: () => undefined } });
  await first.start();
  await clock.advanceTo(at(3) + 500);
  await stopAll([first], clock);
  live.splice(live.indexOf(first), 1);
  await clock.advanceTo(promoteAt);
}

/**
 * The second leader of `gap`, its writes slow (`putMs`) from its start on (the catch-up's claims
 * and buffer writes, as on S3); its runs last `runMs` (or until cancelled). `started`: each run's
 * slot and start instant (ms).
 */
function promoteSlowly(memory: MemoryStore, job: Omit<JobConfig, 'action'>, runMs: number, putMs = 300) {
  const started: Array<{ slot: string; at: number }> = [];
  const events: string[] = [];
  const slow = new SlowStore(memory, clock);
  const second = plugin(slow, {
    tick: {
      ...job,
      action: async (_db, ctx) => {
        started.push({ slot: ctx.slot!, at: clock.now() });
        await clock.sleep(runMs, ctx.signal).catch(() => undefined);
      },
    },
  });
  second.on('scheduler_started', () => {
    slow.putDelayMs = putMs;
  });
  second.on('plg:scheduler:job-buffered', (e) => void events.push(`buffered ${e.slot}`));
  second.on('plg:scheduler:job-skipped', (e) => void events.push(`skipped ${e.slot} ${e.reason}`));
  const starting = second.start();
  return { second, started, events, starting };
}

// A new leader's catch-up meets the slots the timer fires meanwhile: each policy decides about a
// slot due while a caught-up slot is claimed or runs as it does about any overlap (written by a
// reviewer to break a change that treated such a slot as one more caught-up slot).
describe('a slot due while a new leader catches its job up', () => {
  it('terminate-other: a slot due during the catch-up terminates the old run and runs, like every later slot', async () => {
    clock = new ManualClock({ now: at(0) + 500 });
    const memory = new MemoryStore();
    const job = { schedule: '* * * * * *', catchUp: 'all', overlap: 'terminate-other' } as const;
    await gap(memory, job);
    const { second, started, starting } = promoteSlowly(memory, job, 10_000);
    await clock.advanceTo(at(20));
    await starting;
    const description = await second.describe('tick');
    // Every slot from 00:00:06 on starts (terminating the one before): 00:00:06 was due while
    // the catch-up of 00:00:04–05 was writing.
    expect(
      started
        .map((run) => run.slot)
        .filter((slot) => slot >= iso(at(6)))
        .slice(0, 5),
    ).toEqual([6, 7, 8, 9, 10].map((s) => iso(at(s))));
    expect(description.buffered).toEqual(expect.anything());
  });

  it('skip (defaults): a timer slot due during the catch-up that overlaps its run is skipped, never left buffered', async () => {
    clock = new ManualClock({ now: at(0) + 500 });
    const memory = new MemoryStore();
    const job = { schedule: '* * * * * *' } as const; // overlap 'skip', catchUp 'latest'
    // Promoted at 00:00:05.9; writes take 300 ms (S3-like); runs take 2.5 s.
    await gap(memory, job, at(5) + 900);
    const { second, events, starting } = promoteSlowly(memory, job, 2_500, 300);
    await clock.advanceTo(at(60));
    await starting;
    const history = await second.getJobHistory('tick', { limit: 100 });
    // 00:00:05 is caught up and runs 2.5 s; 00:00:06 (the timer's, due after the promotion) overlaps
    // it: a `skip` job records it skipped, as it does every later overlapping slot.
    expect({
      six: events.filter((e) => e.includes('T00:00:06')),
      buffered: (await second.describe('tick')).buffered,
      sixRecorded: history.filter((r) => r.slot === iso(at(6))).map((r) => r.status),
    }).toEqual({ six: [`skipped ${iso(at(6))} overlap`], buffered: [], sixRecorded: ['skipped'] });
  });

  it("skip: no slot starts after pauseJob() returned while the catch-up's run goes on", async () => {
    clock = new ManualClock({ now: at(0) + 500 });
    const memory = new MemoryStore();
    const job = { schedule: '* * * * * *' } as const;
    await gap(memory, job);
    const { second, started, starting } = promoteSlowly(memory, job, 10_000, 700);
    await clock.advanceTo(at(8));
    await starting;
    const pausing = second.pauseJob('tick');
    await clock.advance(5_000);
    await pausing;
    const pausedAt = clock.now();
    await clock.advanceTo(at(40));
    expect(started.filter((run) => run.at > pausedAt)).toEqual([]);
  });

  it('cancel-other: a slot due during the catch-up cancels the old run and runs (it is not dropped as skipped)', async () => {
    clock = new ManualClock({ now: at(0) + 500 });
    const memory = new MemoryStore();
    const job = { schedule: '* * * * * *', catchUp: 'all', overlap: 'cancel-other' } as const;
    await gap(memory, job);
    const { started, events, starting } = promoteSlowly(memory, job, 3_000, 300);
    await clock.advanceTo(at(20));
    await starting;
    expect({
      six: started.filter((run) => run.slot === iso(at(6))).length,
      events: events.filter((e) => e.includes('T00:00:06')),
    }).toEqual({ six: 1, events: [`buffered ${iso(at(6))}`] });
  });

  for (const overlap of ['buffer-all', 'buffer-one', 'cancel-other'] as const) {
    it(`${overlap}: a slot due while a claim is in flight (the catch-up's, then each drain's) waits for its run`, async () => {
      clock = new ManualClock({ now: at(0) + 500 });
      const memory = new MemoryStore();
      const job = { schedule: '* * * * * *', catchUp: 'all', overlap } as const;
      // Promoted at 00:00:05.9; writes take 700 ms, so 00:00:06 comes due while the catch-up's
      // first claim is still being written. Runs take 1.5 s.
      await gap(memory, job, at(5) + 900);
      const runs: Array<{ slot: string; from: number; to: number }> = [];
      const slow = new SlowStore(memory, clock);
      const second = plugin(slow, {
        tick: {
          ...job,
          action: async (_db, ctx) => {
            const run = { slot: ctx.slot!, from: clock.now(), to: Number.POSITIVE_INFINITY };
            runs.push(run);
            await clock.sleep(1_500, ctx.signal).catch(() => undefined);
            run.to = clock.now();
          },
        },
      });
      second.on('scheduler_started', () => {
        slow.putDelayMs = 700;
      });
      const starting = second.start();
      await clock.advanceTo(at(30));
      await starting;
      // buffer-all keeps every waiting slot (buffer-one and cancel-other only the newest).
      if (overlap === 'buffer-all') expect(runs.some((run) => run.slot === iso(at(6)))).toBe(true);
      expect(runs.length).toBeGreaterThan(5);
      // No two runs of the job at once: each starts after the one before it ended.
      const overlapping = runs.filter((run, i) => i > 0 && run.from < runs[i - 1]!.to);
      expect(overlapping).toEqual([]);
    });
  }

  it('skip: after a catch-up retried on a store error, overlapping slots are skipped, not buffered', async () => {
    clock = new ManualClock({ now: at(0) + 500 });
    const memory = new MemoryStore();
    const job = { schedule: '* * * * * *', catchUp: 'all' } as const;
    await gap(memory, job);
    let failUntil = 0;
    class FailingReads extends ForwardingStore {
      protected override async around<T>(operation: StoreOperation, key: string, request: () => Promise<T>) {
        if (
          (operation === 'list' || operation === 'get') &&
          key.includes('history') &&
          clock.now() < failUntil
        )
          throw storeUnavailable(operation, key, { statusCode: 503 });
        return request();
      }
    }
    const started: string[] = [];
    const events: string[] = [];
    const second = plugin(new FailingReads(memory), {
      tick: {
        ...job,
        action: async (_db, ctx) => {
          started.push(ctx.slot!);
          await clock.sleep(2_500);
        },
      },
    });
    second.on('scheduler_started', () => {
      failUntil = clock.now() + 2_500;
    });
    second.on('plg:scheduler:job-buffered', (e) => void events.push(`buffered ${e.slot}`));
    second.on('plg:scheduler:job-skipped', (e) => void events.push(`skipped ${e.slot} ${e.reason}`));
    const starting = second.start();
    await clock.advanceTo(at(40));
    await starting;
    // From 00:00:20 on (long after the retried catch-up), overlapping slots are skipped, not buffered.
    const late = events.filter((e) => e.slice(e.indexOf(' ') + 1) >= iso(at(20)));
    expect(late.filter((e) => e.startsWith('buffered'))).toEqual([]);
    expect(late.some((e) => e.endsWith('overlap'))).toBe(true);
    expect((await second.describe('tick')).buffered).toEqual([]);
  });
});
