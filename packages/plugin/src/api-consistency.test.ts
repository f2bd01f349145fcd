import { inspect } from 'node:util';
import { isSchedulerError, type SchedulerError } from '@s3-scheduler/core';
import { ManualClock } from '@s3-scheduler/core/testing';
import { MemoryStore } from '@s3-scheduler/storage';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SchedulerPlugin } from './scheduler-plugin.js';
import { stopAll } from './test-support/stop-all.js';
import type { SchedulerPluginOptions } from './types.js';

/**
 * Issue 23 item 7 and the newcomer's findings: one name and one unit for each fact, whichever
 * method reports it, and options checked where they are written.
 */

const START = Date.parse('2026-03-01T00:00:30Z');
const live: SchedulerPlugin[] = [];
let clock: ManualClock;

beforeEach(() => {
  clock = new ManualClock({ now: START });
});
afterEach(() => stopAll(live, clock));

function plugin(options: SchedulerPluginOptions = {}): SchedulerPlugin {
  const created = new SchedulerPlugin({
    store: new MemoryStore(),
    clock,
    workerId: 'w0',
    skipColdStart: true,
    logger: null,
    ...options,
  });
  live.push(created);
  return created;
}

function caught(run: () => unknown): SchedulerError {
  try {
    run();
  } catch (error) {
    if (isSchedulerError(error)) return error;
    throw error;
  }
  throw new Error('expected a SchedulerError');
}

/** A job whose run ends when the test says, so its duration can be any fraction of a ms. */
function heldJob() {
  const finishers: Array<() => void> = [];
  return {
    finishers,
    config: {
      schedule: null,
      action: () => new Promise<string>((resolve) => finishers.push(() => resolve('done'))),
    },
  };
}

describe('history records carry the names the spec reads', () => {
  it('has started_at (alias of startTime) in getJobHistory and describe().recentRuns', async () => {
    const scheduler = plugin({ jobs: { j: { schedule: '* * * * *', action: () => 'ok' } } });
    await scheduler.start();
    await clock.advanceTo(Date.parse('2026-03-01T00:02:00Z'));
    const history = await scheduler.getJobHistory('j');
    expect(history.map((entry) => entry.started_at)).toEqual([
      '2026-03-01T00:02:00.000Z',
      '2026-03-01T00:01:00.000Z',
    ]);
    for (const entry of history) expect(entry.started_at).toBe(entry.startTime);
    // It is a plain field: it survives JSON and spreading, as the spec's code uses records.
    expect(JSON.parse(JSON.stringify(history[0])).started_at).toBe('2026-03-01T00:02:00.000Z');
    expect({ ...history[0] }.started_at).toBe('2026-03-01T00:02:00.000Z');
    expect((await scheduler.describe('j')).recentRuns[0]!.started_at).toBe('2026-03-01T00:02:00.000Z');
  });
});

describe('durations are whole milliseconds', () => {
  it('in runJob(), the events, history, getJobStatus() and getJobStatistics()', async () => {
    const held = heldJob();
    // As in production: wall time in whole ms (Date.now()), monotonic time with fractions
    // (performance.now()).
    const manual = clock;
    const systemLike = {
      now: () => Math.floor(manual.now()),
      monotonic: () => manual.monotonic(),
      sleep: (ms: number, signal?: AbortSignal) => manual.sleep(ms, signal),
    };
    const scheduler = plugin({ jobs: { j: held.config }, clock: systemLike });
    const durations: number[] = [];
    scheduler.on('plg:scheduler:job-completed', (event) => {
      durations.push(event.duration);
    });
    await scheduler.start();
    const run = scheduler.runJob('j');
    await clock.advance(1193.973); // a monotonic clock reads fractions, as performance.now() does
    expect(held.finishers).toHaveLength(1);
    held.finishers[0]!();
    const result = await run;
    expect(result.durationMs).toBe(1194);
    expect(durations).toEqual([1194]);
    const [entry] = await scheduler.getJobHistory('j');
    expect(entry!.duration).toBe(1194);
    const status = scheduler.getJobStatus('j')!;
    expect(status.statistics.averageDurationMs).toBe(1194);
    expect(status.statistics.avgDuration).toBe(1194);
    await scheduler.stop();
    const statistics = await scheduler.getJobStatistics('j');
    expect(statistics.averageDurationMs).toBe(1194);
    expect(statistics.lastRun?.durationMs).toBe(1194);
  });
});

describe('one statistics shape', () => {
  it('getJobStatus().statistics and getJobStatistics() have the same fields and the same aliases', async () => {
    let calls = 0;
    const scheduler = plugin({
      jobs: {
        j: {
          schedule: null,
          action: async () => {
            calls++;
            await clock.sleep(calls * 100);
            if (calls === 3) throw new Error('third fails');
            return calls;
          },
        },
      },
    });
    await scheduler.start();
    for (let i = 0; i < 3; i++) {
      const run = scheduler.runJob('j');
      await clock.advance(1_000);
      await run;
    }
    await scheduler.stop(); // flushes the stored statistics
    const local = scheduler.getJobStatus('j')!.statistics;
    const stored = await scheduler.getJobStatistics('j');
    const expected = {
      job: 'j',
      total: 3,
      completed: 2,
      failed: 1,
      timeouts: 0,
      cancelled: 0,
      abandoned: 0,
      skipped: 0,
      averageDurationMs: 150,
      totalRuns: 3,
      totalSuccesses: 2,
      totalErrors: 1,
      avgDuration: 150,
    };
    expect(local).toMatchObject(expected);
    expect(stored).toMatchObject(expected);
    expect(local.successRate).toBeCloseTo(200 / 3, 10);
    expect(stored.successRate).toBeCloseTo(200 / 3, 10);
    expect(local.lastError).toMatchObject({ name: 'Error', message: 'third fails', status: 'failed' });
    expect(stored.lastError).toMatchObject({ name: 'Error', message: 'third fails', status: 'failed' });
    expect(local.lastRun?.status).toBe('failed');
    expect(local.lastSuccess).toBe(stored.lastSuccess);
    // getJobStatus() adds only what this instance alone sees; every other key is shared.
    const extra = Object.keys(local).filter((key) => !(key in stored));
    expect(extra.sort()).toEqual(['missed', 'skippedOverlap']);
    expect(Object.keys(stored).filter((key) => !(key in local))).toEqual([]);
    expect((await scheduler.describe('j')).statistics).toMatchObject(expected);
  });

  it('is all zeros (and null averages) before the first run', async () => {
    const scheduler = plugin({ jobs: { j: { schedule: null, action: () => 1 } } });
    expect(scheduler.getJobStatus('j')!.statistics).toMatchObject({
      total: 0,
      totalRuns: 0,
      successRate: 0,
      averageDurationMs: null,
      avgDuration: null,
      lastRun: null,
      lastError: null,
      updatedAt: null,
    });
    expect(await scheduler.getJobStatistics('j')).toMatchObject({
      total: 0,
      totalRuns: 0,
      avgDuration: null,
    });
  });
});

describe('nextRun before start()', () => {
  it('is what describe() says and what start() queues, also after stop()', async () => {
    const scheduler = plugin({
      jobs: {
        hourly: { schedule: '0 * * * *', action: () => 1 },
        jittered: { schedule: '0 * * * *', jitter: 60_000, action: () => 1 },
        off: { schedule: '0 * * * *', enabled: false, action: () => 1 },
        manual: { schedule: null, action: () => 1 },
      },
    });
    const before = scheduler.getAllJobsStatus();
    expect(before.hourly!.nextRun).toBe('2026-03-01T01:00:00.000Z');
    expect(before.jittered!.nextRun).toBe((await scheduler.describe('jittered')).nextRuns[0]!.fireAt);
    expect(before.off!.nextRun).toBeNull();
    expect(before.manual!.nextRun).toBeNull();
    expect(scheduler.listJobs().map((job) => job.nextRun)).toEqual(
      Object.values(before).map((job) => job.nextRun),
    );
    await scheduler.start();
    const started = scheduler.getAllJobsStatus();
    for (const name of Object.keys(before)) expect(started[name]!.nextRun).toBe(before[name]!.nextRun);
    await scheduler.stop();
    await clock.advanceTo(Date.parse('2026-03-01T01:30:00Z'));
    expect(scheduler.getJobStatus('hourly')!.nextRun).toBe('2026-03-01T02:00:00.000Z');
  });

  it('follows addJob() and updateJob() before start()', async () => {
    const scheduler = plugin();
    await scheduler.addJob('later', { schedule: '30 6 * * *', timezone: 'Europe/Paris', action: () => 1 });
    expect(scheduler.getJobStatus('later')!.nextRun).toBe('2026-03-01T05:30:00.000Z');
    await scheduler.updateJob('later', { schedule: '0 7 * * *' });
    expect(scheduler.getJobStatus('later')!.nextRun).toBe('2026-03-01T06:00:00.000Z');
    await scheduler.disableJob('later');
    expect(scheduler.getJobStatus('later')!.nextRun).toBeNull();
  });
});

describe('a date-only startAt / endAt is midnight in the job zone', () => {
  it('starts a New York job at New York midnight, not UTC midnight', async () => {
    // From before UTC midnight: read as UTC, the bound would let the 00:00Z slot fire.
    clock = new ManualClock({ now: Date.parse('2026-03-01T23:30:00Z') });
    const fired: string[] = [];
    const scheduler = plugin({
      enableCoordinator: false, // nothing here is about leadership: no lease renewals to simulate
      jobs: {
        ny: {
          schedule: '0 * * * *',
          timezone: 'America/New_York',
          startAt: '2026-03-02',
          endAt: '2026-03-02T02:00',
          action: (_db, context) => {
            fired.push(context.slot!);
          },
        },
      },
    });
    const policies = (await scheduler.describe('ny')).policies;
    expect(policies.startAt).toBe('2026-03-02T05:00:00.000Z'); // 00:00 EST
    expect(policies.endAt).toBe('2026-03-02T07:00:00.000Z'); // 02:00 EST
    expect(scheduler.getJobStatus('ny')!.nextRun).toBe('2026-03-02T05:00:00.000Z');
    await scheduler.start();
    await clock.advanceTo(Date.parse('2026-03-02T09:00:00Z'));
    expect(fired).toEqual([
      '2026-03-02T05:00:00.000Z',
      '2026-03-02T06:00:00.000Z',
      '2026-03-02T07:00:00.000Z',
    ]);
  });

  it('reads the bound again in the new zone when updateJob() changes the zone', async () => {
    const scheduler = plugin({
      jobs: { j: { schedule: '0 * * * *', timezone: 'Asia/Tokyo', startAt: '2026-03-02', action: () => 1 } },
    });
    expect((await scheduler.describe('j')).policies.startAt).toBe('2026-03-01T15:00:00.000Z');
    await scheduler.updateJob('j', { timezone: 'UTC' });
    expect((await scheduler.describe('j')).policies.startAt).toBe('2026-03-02T00:00:00.000Z');
  });

  it('keeps an explicit offset, a Date and epoch ms as given', async () => {
    const at = Date.parse('2026-03-02T10:00:00Z');
    for (const startAt of ['2026-03-02T10:00:00Z', '2026-03-02T11:00:00+01:00', new Date(at), at]) {
      const scheduler = plugin({
        jobs: { j: { schedule: '0 * * * *', timezone: 'America/New_York', startAt, action: () => 1 } },
      });
      expect((await scheduler.describe('j')).policies.startAt).toBe('2026-03-02T10:00:00.000Z');
    }
  });
});

describe('the connection string is checked by the constructor', () => {
  it('also when a store is given (it would win, but a malformed option is still a mistake)', () => {
    const error = caught(() => plugin({ connectionString: 'nope://x' }));
    expect(error.code).toBe('INVALID_CONNECTION_STRING');
  });

  it('accepts a sessionToken with key and secret and never echoes it', () => {
    const token = 'IQoJb3JpZ2luX2Vj-Session-T0ken';
    expect(() =>
      plugin({ connectionString: `s3://AK:secret@bucket/p?region=eu-west-1&sessionToken=${token}` }),
    ).not.toThrow();
    const error = caught(() =>
      plugin({ connectionString: `s3://AK:secret@bucket/p?sessionToken=${token}&regoin=x` }),
    );
    expect(error.code).toBe('INVALID_CONNECTION_STRING');
    for (const text of [error.message, error.stack, JSON.stringify(error), inspect(error)]) {
      expect(text).not.toContain(token);
    }
  });
});

describe('getJobStatus() and the wording of constructor errors', () => {
  it('throws INVALID_JOB for a name no method accepts, and returns null for a job not defined', () => {
    const scheduler = plugin({ jobs: { j: { schedule: null, action: () => 1 } } });
    for (const name of ['', '   ', 'x'.repeat(1025), 42, null, undefined]) {
      const error = caught(() => scheduler.getJobStatus(name as string));
      expect(error.code).toBe('INVALID_JOB');
      expect(error.operation).toBe('getJobStatus');
    }
    expect(scheduler.getJobStatus('nope')).toBeNull();
    expect(scheduler.getJobStatus('j')?.name).toBe('j');
  });

  it('names the constructor as the user wrote it, not an internal function', () => {
    const error = caught(() => plugin({ jbos: {} } as never));
    expect(error.code).toBe('UNKNOWN_OPTION');
    expect(error.message).toBe('Unknown option "jbos" in new SchedulerPlugin()');
    expect(error.operation).toBe('new SchedulerPlugin()');
    expect(error.suggestion).toContain('Did you mean `jobs`?');
    const invalid = caught(() => plugin({ stopTimeout: -1 }));
    expect(invalid.operation).toBe('new SchedulerPlugin()');
    for (const e of [error, invalid]) expect(JSON.stringify(e)).not.toContain('validateConfiguration');
  });
});

describe('stop(): stopTimeout, then a fixed 5 s grace for cancelled runs', () => {
  async function stopTiming(action: (signal: AbortSignal) => Promise<unknown>) {
    const scheduler = plugin({
      enableCoordinator: false,
      stopTimeout: 1_000,
      jobs: { j: { schedule: null, timeout: 0, action: (_db, context) => action(context.signal) } },
    });
    const stopped: Array<{ drained: boolean }> = [];
    scheduler.on('scheduler_stopped', (event) => {
      stopped.push(event);
    });
    await scheduler.start();
    void scheduler.runJob('j');
    await clock.advance(10);
    const from = clock.monotonic();
    let tookMs: number | undefined;
    const stopping = scheduler.stop().then(() => {
      tookMs = clock.monotonic() - from;
    });
    for (let i = 0; i < 40 && tookMs === undefined; i++) await clock.advance(250);
    await stopping;
    return { tookMs, drained: stopped[0]?.drained };
  }

  it('a run that ends 4 s after its signal aborts is waited for', async () => {
    const result = await stopTiming(
      (signal) =>
        new Promise((resolve) =>
          signal.addEventListener('abort', () => void clock.sleep(4_000).then(resolve), { once: true }),
        ),
    );
    expect(result).toEqual({ tookMs: 5_000, drained: true });
  });

  it('a run that ignores its signal is left after stopTimeout + 5 s, reported drained: false', async () => {
    const result = await stopTiming(() => new Promise(() => undefined));
    expect(result).toEqual({ tookMs: 6_000, drained: false });
  });
});
