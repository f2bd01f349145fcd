import { ManualClock } from '@s3-scheduler/core/testing';
import { MemoryStore, type ObjectStore } from '@s3-scheduler/storage';
import { FaultyStore } from '@s3-scheduler/storage/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { SchedulerPlugin } from './scheduler-plugin.js';
import { stopAll } from './test-support/stop-all.js';
import type { JobConfig } from './types.js';

const START = Date.parse('2026-03-01T00:00:30Z');
const MINUTE = 60_000;
const live: SchedulerPlugin[] = [];
let currentClock: ManualClock | undefined;

afterEach(() => stopAll(live, currentClock));

function instances(
  count: number,
  jobs: Record<string, JobConfig>,
  clock = new ManualClock({ now: START }),
  store: ObjectStore = new MemoryStore(),
) {
  currentClock = clock;
  const plugins = Array.from({ length: count }, (_, i) => {
    const plugin = new SchedulerPlugin({
      store,
      clock,
      workerId: `w${i}`,
      jobs,
      heartbeatInterval: 5_000,
      skipColdStart: i === 0,
      coldStartObservationWindow: 1_000,
      logger: null,
    });
    live.push(plugin);
    return plugin;
  });
  return { clock, plugins, store };
}

const iso = (ms: number) => new Date(ms).toISOString();
const minute = (n: number) => iso(Date.parse('2026-03-01T00:00:00Z') + n * MINUTE);

describe('backfill', () => {
  it('leaves slots after now to the schedule: they run at their time, not at once (a newcomer found both)', async () => {
    const slots: string[] = [];
    const { clock, plugins } = instances(1, {
      hourly: { schedule: '0 * * * *', action: (_db, ctx) => void slots.push(`${ctx.trigger}:${ctx.slot}`) },
    });
    const [plugin] = plugins as [SchedulerPlugin];
    await plugin.start();
    await clock.advanceTo(Date.parse('2026-03-01T00:30:00Z'));
    const result = await plugin.backfill('hourly', {
      from: '2026-02-28T23:00:00Z',
      to: '2026-03-01T05:00:00Z',
    });
    expect(result).toMatchObject({ slots: 2, ran: 2, alreadyRan: 0 });
    await clock.advanceTo(Date.parse('2026-03-01T02:00:30Z'));
    expect(slots).toEqual([
      'backfill:2026-02-28T23:00:00.000Z',
      'backfill:2026-03-01T00:00:00.000Z',
      'schedule:2026-03-01T01:00:00.000Z',
      'schedule:2026-03-01T02:00:00.000Z',
    ]);
  });

  it('runs past slots once; slots that already ran are not run again', async () => {
    const slots: string[] = [];
    const { clock, plugins } = instances(1, {
      hourly: { schedule: '0 * * * *', action: (_db, ctx) => void slots.push(`${ctx.trigger}:${ctx.slot}`) },
    });
    const [plugin] = plugins as [SchedulerPlugin];
    await plugin.start();
    await clock.advanceTo(Date.parse('2026-03-01T02:00:00Z')); // 01:00 and 02:00 ran on schedule
    const result = await plugin.backfill('hourly', {
      from: '2026-02-28T22:00:00Z',
      to: '2026-03-01T02:00:00Z',
    });
    expect(result).toMatchObject({ slots: 5, ran: 3, alreadyRan: 2 });
    expect(slots).toEqual([
      'schedule:2026-03-01T01:00:00.000Z',
      'schedule:2026-03-01T02:00:00.000Z',
      'backfill:2026-02-28T22:00:00.000Z',
      'backfill:2026-02-28T23:00:00.000Z',
      'backfill:2026-03-01T00:00:00.000Z',
    ]);
    const again = await plugin.backfill('hourly', {
      from: '2026-02-28T22:00:00Z',
      to: '2026-03-01T02:00:00Z',
      overlap: 'allow',
    });
    expect(again).toMatchObject({ slots: 5, ran: 0, alreadyRan: 5 });
    await expect(plugin.backfill('hourly', { from: '2026-03-02', to: '2026-03-01' })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
  });
});

describe('pauseOnFailure, maxRuns, startAt/endAt, jitter', () => {
  it('pauses a job after N consecutive failures, with a note, until resumed — on every instance', async () => {
    let fail = true;
    let runs = 0;
    const { clock, plugins } = instances(2, {
      fragile: {
        schedule: '* * * * *',
        pauseOnFailure: 3,
        action: () => {
          runs++;
          if (fail) throw new Error('database down');
        },
      },
    });
    const paused: string[] = [];
    for (const plugin of plugins) {
      plugin.on('plg:scheduler:job-paused', ({ note }) => paused.push(note));
      await plugin.start();
    }
    await clock.advance(6 * MINUTE);
    expect(runs).toBe(3);
    expect(paused).toEqual(['Paused after 3 consecutive failed runs; last error: database down']);
    await clock.advance(10_000);
    // The follower took the pause up from the store within a heartbeat.
    const follower = plugins.find((plugin) => !plugin.isLeader())!;
    expect(follower.getJobStatus('fragile')).toMatchObject({ paused: true });
    expect((await follower.describe('fragile')).pausedNote).toContain('3 consecutive failed runs');
    fail = false;
    await follower.resumeJob('fragile');
    await clock.advance(2 * MINUTE);
    expect(runs).toBe(5);
    expect(plugins.every((plugin) => plugin.getJobStatus('fragile')!.paused === false)).toBe(true);
  });

  it('maxRuns stops a job after N scheduled runs, across a leader change', async () => {
    let runs = 0;
    const { clock, plugins } = instances(2, {
      limited: { schedule: '* * * * *', maxRuns: 3, action: () => void runs++ },
    });
    for (const plugin of plugins) await plugin.start();
    await clock.advance(2 * MINUTE);
    expect(runs).toBe(2);
    await stopAll([plugins[0]!], clock); // hand over to w1, which knows 2 of 3 runs were taken
    await clock.advance(5 * MINUTE);
    expect(runs).toBe(3);
    expect((await plugins[1]!.describe('limited')).counters.runsTaken).toBe(3);
  });

  it('startAt and endAt bound the slots', async () => {
    const slots: string[] = [];
    const { clock, plugins } = instances(1, {
      bounded: {
        schedule: '* * * * *',
        startAt: minute(3),
        endAt: new Date(Date.parse(minute(5))),
        action: (_db, ctx) => void slots.push(ctx.slot!),
      },
    });
    await plugins[0]!.start();
    expect(plugins[0]!.getJobStatus('bounded')!.nextRun).toBe(minute(3));
    await clock.advance(10 * MINUTE);
    expect(slots).toEqual([minute(3), minute(4), minute(5)]);
    expect(plugins[0]!.getJobStatus('bounded')!.nextRun).toBeNull();
  });

  it('jitter delays each run deterministically, never past the next slot, and keeps the slot identity', async () => {
    const fired: Array<{ slot: string; delay: number }> = [];
    const { clock, plugins } = instances(1, {
      spread: {
        schedule: '* * * * *',
        jitter: 20_000,
        action: (_db, ctx) =>
          void fired.push({ slot: ctx.slot!, delay: clock.now() - Date.parse(ctx.slot!) }),
      },
    });
    await plugins[0]!.start();
    const planned = (await plugins[0]!.describe('spread', { count: 5 })).nextRuns;
    await clock.advance(5 * MINUTE + 30_000);
    expect(fired.map((run) => run.slot)).toEqual(planned.map((run) => run.slot));
    expect(fired.map((run) => run.delay)).toEqual(
      planned.map((run) => Date.parse(run.fireAt) - Date.parse(run.slot)),
    );
    for (const run of fired) {
      expect(run.delay).toBeGreaterThanOrEqual(0);
      expect(run.delay).toBeLessThanOrEqual(20_000);
    }
    expect(new Set(fired.map((run) => run.delay)).size).toBeGreaterThan(1);
    // A jitter larger than the interval is capped before the next slot.
    const capped = new SchedulerPlugin({
      jobs: { x: { schedule: '* * * * * *', jitter: 5_000, action: () => 1 } },
    });
    const next = (await capped.describe('x', { count: 3 })).nextRuns;
    for (const run of next) expect(Date.parse(run.fireAt) - Date.parse(run.slot)).toBeLessThan(1000);
  });
});

describe('runtime changes replicate', () => {
  it('updateJob, disableJob and enableJob on a follower are taken up by the leader', async () => {
    const slots: string[] = [];
    const { clock, plugins } = instances(3, {
      report: {
        schedule: '*/10 * * * *',
        action: (_db, ctx) => void slots.push(`${ctx.workerId}:${ctx.slot}`),
      },
    });
    for (const plugin of plugins) await plugin.start();
    await clock.advance(5_000);
    const leader = plugins.find((plugin) => plugin.isLeader())!;
    const follower = plugins.find((plugin) => !plugin.isLeader())!;
    await follower.updateJob('report', { schedule: '* * * * *' });
    await clock.advance(10_000); // one heartbeat later the leader has it
    expect(leader.getJobStatus('report')!.schedule).toBe('* * * * *');
    await clock.advanceTo(Date.parse(minute(3)));
    expect(slots).toEqual([
      `${leader.workerId}:${minute(1)}`,
      `${leader.workerId}:${minute(2)}`,
      `${leader.workerId}:${minute(3)}`,
    ]);
    await follower.disableJob('report');
    await clock.advance(MINUTE);
    expect(slots).toHaveLength(3);
    expect(leader.getJobStatus('report')!.enabled).toBe(false);
    await follower.enableJob('report');
    await clock.advanceTo(Date.parse(minute(6)));
    expect(slots.at(-1)).toBe(`${leader.workerId}:${minute(6)}`);
  });

  it('an updateJob that cannot be stored (outage) is reported, and no instance keeps running it', async () => {
    // Simulation seeds 211 and 215: the instance that made the change ran it while the store and
    // every other instance kept the stored definition.
    const slots: string[] = [];
    const clock = new ManualClock({ now: START });
    const faulty = new FaultyStore(new MemoryStore(), { clock });
    const { plugins } = instances(
      2,
      { report: { schedule: '*/10 * * * *', action: (_db, ctx) => void slots.push(ctx.slot!) } },
      clock,
      faulty,
    );
    for (const plugin of plugins) await plugin.start();
    await clock.advance(5_000);
    const leader = plugins.find((plugin) => plugin.isLeader())!;
    const follower = plugins.find((plugin) => !plugin.isLeader())!;
    faulty.outage = true;
    const outcome = leader.updateJob('report', { schedule: '* * * * *' }).then(
      () => 'stored',
      (error: { code?: string }) => error.code,
    );
    await clock.advance(20_000);
    faulty.outage = false;
    expect(await outcome).toBe('STORE_UNAVAILABLE');
    await clock.advance(10_000); // a heartbeat's sync reads what is stored
    expect(leader.getJobStatus('report')!.schedule).toBe('*/10 * * * *');
    expect(follower.getJobStatus('report')!.schedule).toBe('*/10 * * * *');
    await clock.advanceTo(Date.parse(minute(21)));
    expect(slots).toEqual([minute(10), minute(20)]);
  });

  it('after a refused updateJob the timer fires the definition the job has (seed 219: it kept the old one)', async () => {
    // Simulation seed 219: the refused change stayed applied but the timer was not rescheduled,
    // so it waited for the next slot of the previous (daily) schedule while the job ran */20:
    // only promotions' catch-ups ever ran it.
    const clock = new ManualClock({ now: START });
    const faulty = new FaultyStore(new MemoryStore(), { clock });
    const { plugins } = instances(1, { nightly: { schedule: '0 2 * * *', action: () => 1 } }, clock, faulty);
    const [plugin] = plugins as [SchedulerPlugin];
    await plugin.start();
    await clock.advance(5_000);
    faulty.outage = true;
    const outcome = plugin.updateJob('nightly', { schedule: '*/20 * * * *' }).catch(() => 'refused');
    await clock.advance(20_000);
    faulty.outage = false;
    expect(await outcome).toBe('refused');
    await clock.advance(10_000);
    const status = plugin.getJobStatus('nightly')!;
    expect([status.schedule, status.nextRun]).toEqual(['0 2 * * *', '2026-03-01T02:00:00.000Z']);
  });

  it('an updateJob whose answer is lost but which was stored is kept, on every instance', async () => {
    const clock = new ManualClock({ now: START });
    const faulty = new FaultyStore(new MemoryStore(), { clock });
    const { plugins } = instances(
      2,
      { report: { schedule: '*/10 * * * *', action: () => 1 } },
      clock,
      faulty,
    );
    for (const plugin of plugins) await plugin.start();
    await clock.advance(5_000);
    const [first, second] = plugins as [SchedulerPlugin, SchedulerPlugin];
    faulty.rates = { lostResponse: 1 }; // every write lands, and its answer is lost
    const outcome = first.updateJob('report', { schedule: '* * * * *' }).then(
      () => 'stored',
      (error: { code?: string }) => error.code ?? 'error',
    );
    await clock.advance(20_000);
    faulty.rates = {};
    await outcome;
    await clock.advance(10_000);
    expect(first.getJobStatus('report')!.schedule).toBe('* * * * *');
    expect(second.getJobStatus('report')!.schedule).toBe('* * * * *');
  });

  it('a change another instance stored is taken up although this instance wrote the document since', async () => {
    // The leader's own write of the document (a failure counted for pauseOnFailure) read the
    // follower's new overrides and remembered that version: its sync then saw nothing new.
    const clock = new ManualClock({ now: START });
    const { plugins } = instances(
      2,
      {
        flaky: {
          schedule: '* * * * *',
          pauseOnFailure: 100,
          action: () => {
            throw new Error('flaky');
          },
        },
      },
      clock,
    );
    for (const plugin of plugins) await plugin.start();
    await clock.advance(5_000);
    const leader = plugins.find((plugin) => plugin.isLeader())!;
    const follower = plugins.find((plugin) => !plugin.isLeader())!;
    await clock.advanceTo(Date.parse('2026-03-01T00:00:58Z'));
    await follower.updateJob('flaky', { schedule: '*/2 * * * *' }); // just before 00:01 fails
    await clock.advanceTo(Date.parse(minute(3)));
    expect(leader.getJobStatus('flaky')!.schedule).toBe('*/2 * * * *');
  });

  it('instances booting at once with the same jobs converge, with nothing duplicated or lost', async () => {
    const clock = new ManualClock({ now: START });
    const first = instances(1, {}, clock);
    // A stored change exists before the cluster boots.
    const seed = new SchedulerPlugin({
      store: first.store,
      clock,
      workerId: 'seed',
      logger: null,
      jobs: { a: { schedule: '0 * * * *', action: () => 1 } },
    });
    await seed.updateJob('a', { schedule: '*/15 * * * *', retries: 2 });
    const store = first.store;
    const booted = await Promise.all(
      ['x', 'y', 'z'].map(async (workerId) => {
        const plugin = new SchedulerPlugin({
          store,
          clock,
          workerId,
          skipColdStart: true,
          logger: null,
          jobs: {
            a: { schedule: '0 * * * *', action: () => 1 },
            b: { schedule: '0 0 * * *', action: () => 2 },
          },
        });
        live.push(plugin);
        await plugin.start();
        return plugin;
      }),
    );
    for (const plugin of booted) {
      expect(plugin.listJobs().map((job) => [job.name, job.schedule])).toEqual([
        ['a', '*/15 * * * *'],
        ['b', '0 0 * * *'],
      ]);
    }
    const keys = await store.list('plugin=scheduler/jobs/');
    expect(keys.objects.map((object) => object.key)).toEqual(['plugin=scheduler/jobs/a.json']);
  });
});

describe('describe', () => {
  it('tells schedule, zone, DST policy, next runs, recent and running runs, counters and pause', async () => {
    const { clock, plugins } = instances(
      1,
      {
        nightly: {
          schedule: '30 2 * * *',
          timezone: 'America/New_York',
          timeout: 0,
          action: () => clock.sleep(10 * MINUTE),
        },
      },
      new ManualClock({ now: Date.parse('2026-03-08T06:50:00Z') }),
    );
    const [plugin] = plugins as [SchedulerPlugin];
    await plugin.start();
    await clock.advanceTo(Date.parse('2026-03-08T07:05:00Z')); // the spring-forward day: 02:30 does not exist
    const described = await plugin.describe('nightly', { count: 2 });
    expect(described).toMatchObject({
      name: 'nightly',
      schedule: '30 2 * * *',
      timezone: 'America/New_York',
      dst: { gap: 'shift', overlap: 'first' },
      enabled: true,
      paused: false,
      nextRuns: [
        { slot: '2026-03-09T06:30:00.000Z', fireAt: '2026-03-09T06:30:00.000Z' },
        { slot: '2026-03-10T06:30:00.000Z', fireAt: '2026-03-10T06:30:00.000Z' },
      ],
      running: [{ slot: '2026-03-08T07:00:00.000Z', workerId: 'w0', epoch: 1 }],
    });
    // 02:30 fell in the gap and ran at 03:00 EDT (07:00Z) — the first valid instant after it.
    expect(described.recentRuns[0]).toMatchObject({ slot: '2026-03-08T07:00:00.000Z', status: 'running' });
    expect(described.counters).toMatchObject({ skippedForOverlap: 0, abandoned: 0 });
  });
});
