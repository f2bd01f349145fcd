import { isSchedulerError } from '@s3-scheduler/core';
import { ManualClock } from '@s3-scheduler/core/testing';
import { MemoryStore } from '@s3-scheduler/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { SchedulerPlugin } from './scheduler-plugin.js';
import type { SchedulerPluginOptions } from './types.js';

const START = Date.parse('2026-03-01T00:00:00Z');
const plugins: SchedulerPlugin[] = [];

function makePlugin(options: SchedulerPluginOptions, clock: ManualClock, store = new MemoryStore()) {
  const plugin = new SchedulerPlugin({ store, clock, skipColdStart: true, ...options });
  plugins.push(plugin);
  return plugin;
}

afterEach(async () => {
  await Promise.all(plugins.splice(0).map((plugin) => plugin.stop()));
});

describe('SchedulerPlugin on one instance', () => {
  it('runs a job at each slot, never early, and records history', async () => {
    const clock = new ManualClock({ now: START });
    const seen: Array<{ slot: string | null; now: number }> = [];
    const plugin = makePlugin(
      {
        jobs: {
          every_minute: {
            schedule: '* * * * *',
            action: async (_db, context) => {
              seen.push({ slot: context.slot, now: clock.now() });
              return { ok: true };
            },
          },
        },
      },
      clock,
    );
    await plugin.start();
    expect(plugin.isLeader()).toBe(true);
    await clock.advance(59_999);
    expect(seen).toEqual([]);
    await clock.advance(1);
    expect(seen).toEqual([{ slot: '2026-03-01T00:01:00.000Z', now: START + 60_000 }]);
    await clock.advance(2 * 60_000);
    expect(seen.map((run) => run.slot)).toEqual([
      '2026-03-01T00:01:00.000Z',
      '2026-03-01T00:02:00.000Z',
      '2026-03-01T00:03:00.000Z',
    ]);
    for (const run of seen) expect(run.now).toBeGreaterThanOrEqual(Date.parse(run.slot!));
    const history = await plugin.getJobHistory('every_minute');
    expect(history.map((entry) => [entry.slot, entry.status])).toEqual([
      ['2026-03-01T00:03:00.000Z', 'completed'],
      ['2026-03-01T00:02:00.000Z', 'completed'],
      ['2026-03-01T00:01:00.000Z', 'completed'],
    ]);
    expect(history[0]!.result).toEqual({ ok: true });
    const status = plugin.getJobStatus('every_minute')!;
    expect(status.statistics.totalRuns).toBe(3);
    expect(status.nextRun).toBe('2026-03-01T00:04:00.000Z');
  });

  it('keeps scheduling a job that throws, hangs or never settles, and never crashes', async () => {
    const clock = new ManualClock({ now: START });
    let calls = 0;
    const failures: string[] = [];
    const plugin = makePlugin(
      {
        jobs: {
          throws: {
            schedule: '* * * * *',
            action: () => {
              calls++;
              throw new Error('boom');
            },
          },
          hangs: { schedule: '* * * * *', timeout: 1_000, action: () => new Promise(() => undefined) },
        },
      },
      clock,
    );
    plugin.on('plg:scheduler:job-failed', ({ jobName, status }) => failures.push(`${jobName}:${status}`));
    await plugin.start();
    await clock.advance(3 * 60_000 + 10_000);
    expect(calls).toBe(3);
    expect(failures.filter((entry) => entry === 'throws:failed')).toHaveLength(3);
    expect(failures.filter((entry) => entry === 'hangs:timeout')).toHaveLength(3);
    const hangs = await plugin.getJobHistory('hangs', { status: 'timeout' });
    expect(hangs).toHaveLength(3);
  });

  it('retries with the default back-off and emits job-retry', async () => {
    const clock = new ManualClock({ now: START });
    const attemptsAt: number[] = [];
    const retries: Array<{ attempt: number; delay: number }> = [];
    const plugin = makePlugin(
      {
        jobs: {
          flaky: {
            schedule: null,
            retries: 3,
            action: () => {
              attemptsAt.push(clock.now() - START);
              if (attemptsAt.length < 4) throw new Error('flaky');
              return 'done';
            },
          },
        },
      },
      clock,
    );
    plugin.on('plg:scheduler:job-retry', ({ attempt, delay }) => retries.push({ attempt, delay }));
    const pending = plugin.runJob('flaky');
    await clock.advance(10_000);
    const result = await pending;
    expect(result.status).toBe('completed');
    expect(result.result).toBe('done');
    expect(result.attempts).toBe(4);
    expect(attemptsAt).toEqual([0, 1000, 3000, 7000]);
    expect(retries).toEqual([
      { attempt: 2, delay: 1000 },
      { attempt: 3, delay: 2000 },
      { attempt: 4, delay: 4000 },
    ]);
  });

  it('rejects bad configuration with a SchedulerError naming the job', () => {
    expect(
      () => new SchedulerPlugin({ jobs: { test: { schedule: 'invalid cron', action: async () => {} } } }),
    ).toThrow("Job 'test' has invalid cron expression: invalid cron");
    const attempts: Array<[unknown, string]> = [
      [{ jobs: { a: { schedule: '* * * * *' } } }, 'INVALID_JOB'],
      [{ jobs: { a: { schedule: '* * * * *', action: () => 1, retries: -1 } } }, 'INVALID_OPTION'],
      [{ jobs: { a: { schedule: '* * * * *', action: () => 1, retrys: 2 } } }, 'UNKNOWN_OPTION'],
      [
        { jobs: { a: { schedule: '* * * * *', action: () => 1, timezone: 'Mars/Base' } } },
        'INVALID_TIMEZONE',
      ],
      [{ timezone: 'Nowhere/City' }, 'INVALID_TIMEZONE'],
      [{ heartbeatInterval: -5 }, 'INVALID_OPTION'],
      [{ maxConcurentJobs: 3 }, 'UNKNOWN_OPTION'],
      [{ jobs: { a: { schedule: '0 0 30 2 *', action: () => 1 } } }, 'INVALID_CRON'],
    ];
    for (const [options, code] of attempts) {
      let caught: unknown;
      try {
        new SchedulerPlugin(options as SchedulerPluginOptions);
      } catch (error) {
        caught = error;
      }
      expect(isSchedulerError(caught), JSON.stringify(options)).toBe(true);
      expect((caught as { code: string }).code, JSON.stringify(options)).toBe(code);
      expect((caught as { suggestion?: string }).suggestion).toBeTruthy();
    }
    // One wording for an unknown zone, the plugin's default or a job's (the cron package's check).
    const hint =
      "'Europe/Pariss' — not an IANA time zone name known to this Node.js; did you mean 'Europe/Paris'?";
    expect(() => new SchedulerPlugin({ timezone: 'Europe/Pariss' })).toThrow(`Invalid timezone: ${hint}`);
    expect(
      () =>
        new SchedulerPlugin({
          jobs: { a: { schedule: '* * * * *', action: () => 1, timezone: 'Europe/Pariss' } },
        }),
    ).toThrow(`Job 'a' has invalid timezone: ${hint}`);
  });

  it('manages jobs at runtime: add, update, disable, remove, and says what is wrong', async () => {
    const clock = new ManualClock({ now: START });
    const runs: string[] = [];
    const plugin = makePlugin({}, clock);
    await plugin.start();
    await plugin.addJob('dyn', { schedule: '*/2 * * * *', action: (_db, ctx) => void runs.push(ctx.slot!) });
    await expect(plugin.addJob('dyn', { schedule: '* * * * *', action: () => 1 })).rejects.toMatchObject({
      code: 'JOB_EXISTS',
    });
    await clock.advance(4 * 60_000);
    expect(runs).toEqual(['2026-03-01T00:02:00.000Z', '2026-03-01T00:04:00.000Z']);
    await plugin.updateJob('dyn', { schedule: '* * * * *' });
    await clock.advance(60_000);
    expect(runs.at(-1)).toBe('2026-03-01T00:05:00.000Z');
    await plugin.disableJob('dyn');
    await clock.advance(3 * 60_000);
    expect(runs).toHaveLength(3);
    expect(plugin.getJobStatus('dyn')!.enabled).toBe(false);
    await plugin.enableJob('dyn');
    await clock.advance(60_000);
    expect(runs).toHaveLength(4);
    await plugin.removeJob('dyn');
    await clock.advance(3 * 60_000);
    expect(runs).toHaveLength(4);
    await expect(plugin.runJob('dyn')).rejects.toMatchObject({
      code: 'JOB_NOT_FOUND',
      message: 'Job not found: dyn',
    });
    expect(plugin.getJobStatus('dyn')).toBeNull();
  });

  it('refuses a manual run while the job runs (overlap skip) and allows it with overlap allow', async () => {
    const clock = new ManualClock({ now: START });
    const plugin = makePlugin(
      {
        jobs: {
          slow: { schedule: null, timeout: 0, action: () => clock.sleep(10_000) },
          parallel: { schedule: null, overlap: 'allow', timeout: 0, action: () => clock.sleep(10_000) },
        },
      },
      clock,
    );
    const first = plugin.runJob('slow');
    await clock.settle();
    await expect(plugin.runJob('slow')).rejects.toMatchObject({ code: 'JOB_ALREADY_RUNNING' });
    const a = plugin.runJob('parallel');
    const b = plugin.runJob('parallel');
    await clock.advance(10_000);
    expect((await first).status).toBe('completed');
    expect((await a).status).toBe('completed');
    expect((await b).status).toBe('completed');
  });

  it('stops, hands over and starts again', async () => {
    const clock = new ManualClock({ now: START });
    const runs: string[] = [];
    const plugin = makePlugin(
      { jobs: { tick: { schedule: '* * * * *', action: (_db, ctx) => void runs.push(ctx.slot!) } } },
      clock,
    );
    const events: string[] = [];
    plugin.on('scheduler_started', () => events.push('started'));
    plugin.on('scheduler_stopped', () => events.push('stopped'));
    await plugin.start();
    await clock.advance(60_000);
    await plugin.stop();
    expect(plugin.isLeader()).toBe(false);
    await clock.advance(5 * 60_000);
    expect(runs).toEqual(['2026-03-01T00:01:00.000Z']);
    await plugin.start();
    await clock.advance(60_000);
    expect(events).toEqual(['started', 'stopped', 'started']);
    // The restart caught up the latest slot it missed (00:06) and then ran 00:07.
    expect(runs.slice(1)).toEqual(['2026-03-01T00:06:00.000Z', '2026-03-01T00:07:00.000Z']);
  });
});
