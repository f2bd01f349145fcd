import { isSchedulerError } from '@s3-scheduler/core';
import { ManualClock } from '@s3-scheduler/core/testing';
import { MemoryStore } from '@s3-scheduler/storage';
import { FaultyStore, GatedStore } from '@s3-scheduler/storage/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SchedulerPlugin } from '../scheduler-plugin.js';
import { stopAll } from '../test-support/stop-all.js';
import type { JobConfig, SchedulerPluginOptions } from '../types.js';

const START = Date.parse('2026-03-01T00:00:30Z');
const live: SchedulerPlugin[] = [];
let clock: ManualClock;

afterEach(() => stopAll(live, clock));

/** A logger that keeps its lines by level. */
function recorder() {
  const lines: Record<'debug' | 'info' | 'warn' | 'error', string[]> = {
    debug: [],
    info: [],
    warn: [],
    error: [],
  };
  const logger = {
    debug: (line: string) => void lines.debug.push(line),
    info: (line: string) => void lines.info.push(line),
    warn: (line: string) => void lines.warn.push(line),
    error: (line: string) => void lines.error.push(line),
  };
  return { lines, logger };
}

async function single(jobs: Record<string, JobConfig>, extra: Partial<SchedulerPluginOptions> = {}) {
  clock = new ManualClock({ now: START });
  const faulty = new FaultyStore(new MemoryStore(), { clock });
  const { lines, logger } = recorder();
  const plugin = new SchedulerPlugin({
    store: faulty,
    clock,
    enableCoordinator: false,
    logger,
    jobs,
    ...extra,
  });
  live.push(plugin);
  await plugin.start();
  return { plugin, faulty, lines };
}

const failing: JobConfig = {
  schedule: '* * * * *',
  retries: 1,
  backoff: { initialMs: 100, maxMs: 100, jitter: 'none' },
  action: () => {
    throw new Error('boom from s3://AKIAEXAMPLE:very-secret-password@bucket/prefix');
  },
};

describe('the default logging', () => {
  it('logs a failed run once at warn when nobody listens to job-failed, naming job, slot and attempts, without secrets', async () => {
    const { lines } = await single({ flaky: failing });
    await clock.advanceTo(Date.parse('2026-03-01T00:01:30Z'));
    expect(lines.warn).toHaveLength(1);
    expect(lines.warn[0]).toMatch(
      /^\[s3-scheduler\] job 'flaky' slot 2026-03-01T00:01:00.000Z \(run .+, schedule, epoch 0\) failed after 2 attempts: boom/,
    );
    expect(lines.warn[0]).not.toContain('very-secret-password');
    // The retry is a debug line naming the attempt that failed and the one that follows.
    expect(lines.debug.filter((line) => line.includes('attempt 1 failed'))).toHaveLength(1);
    expect(lines.debug.find((line) => line.includes('attempt 1 failed'))).toMatch(/attempt 2 in 100 ms/);
    expect(lines.debug.join('\n')).not.toContain('very-secret-password');
  });

  it('stays quiet about failed runs when job-failed (or jobFailed) has a listener', async () => {
    const { plugin, lines } = await single({ flaky: failing });
    const failed: string[] = [];
    plugin.on('jobFailed', (event) => void failed.push(event.jobName));
    await clock.advanceTo(Date.parse('2026-03-01T00:01:30Z'));
    expect(failed).toEqual(['flaky']);
    expect(lines.warn).toEqual([]);
  });

  it('logs store trouble at warn with back-off: a ten-minute outage gives a handful of lines, not one per request', async () => {
    const { plugin, faulty, lines } = await single({
      tick: { schedule: '* * * * *', action: () => undefined },
    });
    faulty.outage = true;
    await clock.advance(10 * 60_000);
    faulty.outage = false;
    await clock.advance(60_000);
    expect(lines.warn.length).toBeGreaterThanOrEqual(2);
    // First line at once, then windows of 10 s, 20 s, 40 s … 10 min: at most 7 lines per kind
    // of error in ten minutes (per operation and code).
    const kinds = new Set(lines.warn.map((line) => line.replace(/:.*/s, '')));
    expect(lines.warn.length).toBeLessThanOrEqual(7 * kinds.size);
    expect(lines.warn.some((line) => /similar errors? not logged/.test(line))).toBe(true);
    // The same outage, heard: every error reaches the listener (none is held back there).
    const heard: string[] = [];
    plugin.on('plg:scheduler:error', (event) => void heard.push(event.operation));
    const before = lines.warn.length;
    faulty.outage = true;
    await clock.advance(10 * 60_000);
    faulty.outage = false;
    expect(lines.warn.length).toBe(before);
    expect(heard.length).toBeGreaterThan(7 * kinds.size);
  });

  it('says at debug why a slot did not run: overlap (policy, holder, epoch), missed', async () => {
    const { plugin, lines } = await single(
      {
        slow: { schedule: '* * * * *', overlap: 'skip', timeout: 0, action: () => clock.sleep(90_000) },
        late: { schedule: '* * * * *', catchUp: 'none', action: () => undefined },
      },
      { workerId: 'w-1' },
    );
    await clock.advanceTo(Date.parse('2026-03-01T00:02:30Z'));
    expect(lines.debug).toContainEqual(
      "[s3-scheduler] job 'slow' slot 2026-03-01T00:02:00.000Z skipped: a run is still going on w-1 (overlap 'skip', epoch 0)",
    );
    // Down for three minutes: with catchUp 'none' the slots of the gap are reported missed.
    await plugin.stop();
    await clock.advanceTo(Date.parse('2026-03-01T00:05:30Z'));
    await plugin.start();
    await clock.advance(1_000);
    expect(
      lines.debug.some((line) => /job 'late' slot 2026-03-01T00:05:00.000Z missed: .*catchUp/.test(line)),
    ).toBe(true);
  });

  it('says at debug why a slot waited or a run was cancelled: buffered (policy, waiting, epoch), cancelled by a newer slot', async () => {
    const { lines } = await single({
      slow: {
        schedule: '* * * * *',
        overlap: 'cancel-other',
        timeout: 0,
        action: (_db, ctx) =>
          new Promise<void>((resolve) => {
            ctx.signal.addEventListener('abort', () => resolve());
            void clock.sleep(90_000).then(resolve);
          }),
      },
    });
    await clock.advanceTo(Date.parse('2026-03-01T00:02:30Z'));
    expect(lines.debug).toContainEqual(
      "[s3-scheduler] job 'slow' slot 2026-03-01T00:02:00.000Z buffered behind the running run (overlap 'cancel-other', 1 waiting, epoch 0)",
    );
    expect(
      lines.debug.some((line) =>
        /^\[s3-scheduler\] job 'slow' slot 2026-03-01T00:01:00.000Z \(run .+\) cancelled: Run cancelled by a newer slot/.test(
          line,
        ),
      ),
    ).toBe(true);
    // A cancelled run is not a failure: no warn line.
    expect(lines.warn).toEqual([]);
  });

  it('sends no debug lines to the implicit console, and its warn line once per failed run', async () => {
    const debug = vi.spyOn(console, 'debug').mockImplementation(() => undefined);
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      clock = new ManualClock({ now: START });
      const plugin = new SchedulerPlugin({
        store: new MemoryStore(),
        clock,
        enableCoordinator: false,
        jobs: { flaky: failing },
      });
      live.push(plugin);
      await plugin.start();
      await clock.advanceTo(Date.parse('2026-03-01T00:01:30Z'));
      expect(debug).not.toHaveBeenCalled();
      expect(log).not.toHaveBeenCalled();
      expect(warn.mock.calls.filter(([line]) => String(line).includes("job 'flaky'"))).toHaveLength(1);
    } finally {
      debug.mockRestore();
      log.mockRestore();
      warn.mockRestore();
    }
  });
});

describe('the default logging in a cluster', () => {
  it('says at debug who found a run orphaned by a dead instance, whose it was, and under which epoch', async () => {
    clock = new ManualClock({ now: START });
    const shared = new MemoryStore();
    const { lines, logger } = recorder();
    const instances: Array<{ plugin: SchedulerPlugin; store: GatedStore }> = [];
    for (const workerId of ['w0', 'w1']) {
      const store = new GatedStore(shared);
      const plugin = new SchedulerPlugin({
        store,
        clock,
        workerId,
        logger,
        skipColdStart: workerId === 'w0',
        jobs: {
          long: {
            schedule: '* * * * *',
            overlap: 'skip',
            timeout: 0,
            action: () => clock.sleep(10 * 60_000),
          },
        },
      });
      live.push(plugin);
      instances.push({ plugin, store });
      await plugin.start();
      await clock.advance(1000);
    }
    await clock.advanceTo(Date.parse('2026-03-01T00:01:10Z')); // w0 leads and runs slot 00:01
    const leader = instances.find(({ plugin }) => plugin.isLeader())!;
    expect(leader.plugin.workerId).toBe('w0');
    leader.store.kill();
    live.splice(live.indexOf(leader.plugin), 1); // a dead process is never stopped
    await clock.advance(3 * 60_000);
    const successor = instances[1]!.plugin;
    expect(successor.isLeader()).toBe(true);
    const line = lines.debug.find((text) => text.includes('no longer alive'));
    expect(line).toMatch(
      new RegExp(
        `job 'long' slot 2026-03-01T00:01:00.000Z: run .+ of w0, which is no longer alive, recorded abandoned \\(by w1, epoch ${successor.getEpoch()}\\)`,
      ),
    );
    expect(lines.debug.some((text) => text.includes(`leader is w1, epoch ${successor.getEpoch()}`))).toBe(
      true,
    );
  });
});

describe('the logger and telemetry options', () => {
  it.each([
    ['logger', {}],
    ['logger', 5],
    ['telemetry', 'yes'],
    ['telemetry', { tracer: {} }],
    ['telemetry', { meter: { createCounter: () => undefined } }],
    ['telemetry', {}],
    ['telemetry', { tracer: { startSpan: () => undefined }, extra: 1 }],
  ])('refuses %s: %o with INVALID_OPTION, the value and a suggestion', (option, value) => {
    let error: unknown;
    try {
      new SchedulerPlugin({ [option]: value } as SchedulerPluginOptions);
    } catch (caught) {
      error = caught;
    }
    expect(isSchedulerError(error)).toBe(true);
    if (!isSchedulerError(error)) return;
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.metadata).toMatchObject({ option });
    expect(error.metadata?.value).toBeDefined();
    expect(error.suggestion).toBeTruthy();
  });

  it('accepts console, a pino-like logger (methods need `this`) and telemetry: false', () => {
    const pinoLike = {
      lines: [] as string[],
      warn(this: { lines: string[] }, line: string) {
        this.lines.push(line);
      },
      error(this: { lines: string[] }, line: string) {
        this.lines.push(line);
      },
    };
    expect(() => new SchedulerPlugin({ logger: console, telemetry: false })).not.toThrow();
    expect(() => new SchedulerPlugin({ logger: pinoLike })).not.toThrow();
  });
});
