import { inspect } from 'node:util';
import { isSchedulerError, type SchedulerError } from '@s3-scheduler/core';
import { ManualClock } from '@s3-scheduler/core/testing';
import { MemoryStore } from '@s3-scheduler/storage';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SchedulerPlugin } from './scheduler-plugin.js';
import { stopAll } from './test-support/stop-all.js';
import type { JobConfig, SchedulerPluginOptions } from './types.js';

/**
 * Regression tests of issue 17: each input a careless or hostile caller tried that hung,
 * crashed, wedged a job or leaked a secret. Every one must now be a coded `SchedulerError`
 * thrown where the mistake was made, with the value shown truthfully and a suggestion.
 */

const START = Date.parse('2026-03-01T00:00:30Z');
const live: SchedulerPlugin[] = [];
let clock: ManualClock;

beforeEach(() => {
  clock = new ManualClock({ now: START });
});
afterEach(() => stopAll(live, clock));

function plugin(options: SchedulerPluginOptions = {}, store = new MemoryStore()): SchedulerPlugin {
  const created = new SchedulerPlugin({
    store,
    clock,
    workerId: 'w0',
    skipColdStart: true,
    logger: null,
    ...options,
  });
  live.push(created);
  return created;
}

const action = () => 'ok';
const job = (extra: Partial<JobConfig> = {}): JobConfig => ({ schedule: '* * * * *', action, ...extra });

function caught(fn: () => unknown): SchedulerError {
  try {
    fn();
  } catch (error) {
    if (isSchedulerError(error)) return error;
    throw error;
  }
  throw new Error('expected a SchedulerError');
}

async function rejected(promise: Promise<unknown>): Promise<SchedulerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (isSchedulerError(error)) return error;
  throw new Error(`expected a SchedulerError, got ${String(error)}`);
}

/** A Proxy on which every read throws. */
function throwingProxy(): object {
  const trap = () => {
    throw new Error('trap');
  };
  return new Proxy(
    {},
    { get: trap, ownKeys: trap, getOwnPropertyDescriptor: trap, getPrototypeOf: trap, has: trap },
  );
}

/** `count` reads 5 the first time and Infinity afterwards: checked once, it must be used as checked. */
function fickleCount(): object {
  let reads = 0;
  return Object.defineProperty({}, 'count', {
    enumerable: true,
    get: () => (reads++ === 0 ? 5 : Number.POSITIVE_INFINITY),
  });
}

function expectCoded(error: SchedulerError, code: string): void {
  expect(error.code).toBe(code);
  expect(error.suggestion).toMatch(/\S/);
  expect(error.message.length).toBeLessThan(1000);
}

describe('hostile sizes cost linear time', () => {
  it('a 40 KB job name is refused with a short message', async () => {
    const scheduler = plugin();
    const error = await rejected(scheduler.addJob('x'.repeat(40_000), job()));
    expectCoded(error, 'INVALID_JOB');
    expect(error.message).toContain('more characters');
  });

  it('an action throwing a 40 KB message fails the run with the message cut', async () => {
    const scheduler = plugin({ enableCoordinator: false });
    await scheduler.addJob(
      'big',
      job({ schedule: null, action: () => Promise.reject(new Error('y'.repeat(40_000))) }),
    );
    const result = await scheduler.runJob('big');
    expect(result.status).toBe('failed');
    expect(result.error!.message.length).toBeLessThan(8300);
  });

  it.each([
    [{ count: Number.POSITIVE_INFINITY }, 'Infinity'],
    [{ count: 1e6 }, '1000000'],
    [{ count: Number.NaN }, 'NaN'],
    [{ recent: 1e9 }, '1000000000'],
  ])('describe(name, %o) is refused, showing %s', async (options, shown) => {
    const scheduler = plugin();
    await scheduler.addJob('j', job());
    const error = await rejected(scheduler.describe('j', options));
    expectCoded(error, 'INVALID_OPTION');
    expect(error.message).toContain(`got ${shown}`);
  });

  it('describe with the largest count returns', async () => {
    const scheduler = plugin();
    await scheduler.addJob('j', job());
    expect((await scheduler.describe('j', { count: 1000 })).nextRuns).toHaveLength(1000);
  });
});

describe('values that would wedge a job are refused and never stored', () => {
  it.each<[string, Partial<JobConfig>]>([
    ['retries', { retries: 1e20 }],
    ['retries', { retries: Number.POSITIVE_INFINITY }],
    ['backoff', { backoff: { initialMs: -1 } }],
    ['backoff', { backoff: 'fast' as never }],
    ['backoff', { backoff: { factor: 1e9 } }],
    ['backoff', { backoff: { typo: 1 } }],
    ['timeout', { timeout: 1e20 }],
    ['catchUpWindow', { catchUpWindow: 1e20 }],
    ['jitter', { jitter: 1e15 }],
    ['bufferLimit', { bufferLimit: 1e9 }],
    ['startAt', { startAt: 1e20 }],
    ['endAt', { startAt: '2026-03-02T00:00:00Z', endAt: '2026-03-01T00:00:00Z' }],
  ])('%s: %o is refused by addJob and updateJob, and not replicated', async (_option, bad) => {
    const store = new MemoryStore();
    const scheduler = plugin({ jobs: { j: job() } }, store);
    const other = plugin({ jobs: { j: job() }, workerId: 'w1' }, store);
    await scheduler.start();
    expectCoded(await rejected(scheduler.addJob('k', job(bad))), (await codeOf(bad)) ?? 'INVALID_OPTION');
    expect(scheduler.getJobStatus('k')).toBeNull();
    await rejected(scheduler.updateJob('j', bad));
    await other.start();
    const seen = await other.describe('j');
    expect(seen.policies).toMatchObject({ retries: 0, timeout: 60_000, startAt: null, endAt: null });
    // The job that was valid before keeps running.
    await clock.advance(60_000);
    expect((await scheduler.getJobHistory('j')).length).toBeGreaterThan(0);
  });

  async function codeOf(bad: Partial<JobConfig>): Promise<string | undefined> {
    return 'backoff' in bad && typeof bad.backoff === 'object' && 'typo' in bad.backoff
      ? 'UNKNOWN_OPTION'
      : undefined;
  }

  it('a bad value stored by an older version is reported and ignored, not obeyed', async () => {
    const store = new MemoryStore();
    const scheduler = plugin({ jobs: { j: job({ retries: 2 }) } }, store);
    const reported: string[] = [];
    scheduler.on('plg:scheduler:error', ({ error }) => reported.push(error.message));
    await scheduler.start();
    await scheduler.updateJob('j', { description: 'valid change' });
    const key = (await store.list('')).objects
      .map((object) => object.key)
      .find((k) => k.includes('jobs/j.json'))!;
    const doc = JSON.parse(new TextDecoder().decode((await store.get(key))!.body));
    doc.overrides = { ...doc.overrides, retries: 1e20, backoff: 'fast', bogus: 1 };
    doc.pausedNote = 'n'.repeat(1_000_000);
    doc.buffer = ['x', 1e20];
    await store.put(key, JSON.stringify(doc));
    await clock.advance(60_000);
    const described = await scheduler.describe('j');
    expect(described.policies.retries).toBe(2);
    expect(described.description).toBe('valid change');
    expect(described.buffered).toEqual([]);
    expect(reported.some((message) => message.includes('overrides.retries'))).toBe(true);
    expect(reported.some((message) => message.includes('overrides.bogus'))).toBe(true);
    // The next write stores the clean form, and updateJob is not blocked by the stored junk.
    await scheduler.updateJob('j', { retries: 3 });
    expect((await scheduler.describe('j')).policies.retries).toBe(3);
  });
});

describe('the constructor refuses what start() would trip over', () => {
  it.each<[string, SchedulerPluginOptions, string]>([
    ['an empty worker id', { workerId: '' }, 'INVALID_OPTION'],
    ['a 200-character worker id', { workerId: 'w'.repeat(200) }, 'INVALID_OPTION'],
    ['a worker id with a newline', { workerId: 'a\nb' }, 'INVALID_OPTION'],
    ['a store without methods', { store: { put: () => undefined } as never }, 'INVALID_OPTION'],
    ['logger: {}', { logger: {} as never }, 'INVALID_OPTION'],
    ['logger: 5', { logger: 5 as never }, 'INVALID_OPTION'],
    ['jobs: []', { jobs: [] as never }, 'INVALID_OPTION'],
    ['a clock without sleep', { clock: { now: () => 0, monotonic: () => 0 } as never }, 'INVALID_OPTION'],
    ['heartbeatInterval: 1e20', { heartbeatInterval: 1e20 }, 'INVALID_OPTION'],
    ['renewFraction: 0.95', { renewFraction: 0.95 }, 'INVALID_OPTION'],
    ['renewFraction: 0.1', { renewFraction: 0.1 }, 'INVALID_OPTION'],
    ["renewFraction: '0.5'", { renewFraction: '0.5' as never }, 'INVALID_OPTION'],
    [
      'an invalid zone on a manual-only job',
      { jobs: { m: { schedule: null, action, timezone: 'Mars/Base' } } },
      'INVALID_TIMEZONE',
    ],
    ['a schedule that is not a string', { jobs: { m: { schedule: 5 as never, action } } }, 'INVALID_CRON'],
    ['a job under a blank name', { jobs: { ' ': job() } }, 'INVALID_JOB'],
    ['options that are a Proxy that throws', throwingProxy() as SchedulerPluginOptions, 'INVALID_OPTION'],
    ['jobs that are a Proxy that throws', { jobs: throwingProxy() as never }, 'INVALID_OPTION'],
    ['a store that is a Proxy that throws', { store: throwingProxy() as never }, 'INVALID_OPTION'],
    [
      'a job option whose getter throws',
      {
        jobs: {
          g: Object.defineProperty(job(), 'retries', {
            enumerable: true,
            get() {
              throw new Error('getter');
            },
          }),
        },
      },
      'INVALID_OPTION',
    ],
  ])('%s', (_title, options, code) => {
    let base: SchedulerPluginOptions;
    try {
      base = { clock, logger: null, ...options } as SchedulerPluginOptions;
      if (!('store' in options)) base.store = new MemoryStore();
    } catch {
      base = options; // The Proxy itself goes to the constructor.
    }
    expectCoded(
      caught(() => new SchedulerPlugin(base)),
      code,
    );
  });

  it('accepts jobs: {} (jobs come later through addJob) and a logger with only warn and error', async () => {
    const lines: string[] = [];
    const scheduler = plugin({
      jobs: {},
      logger: { warn: (line: string) => lines.push(line), error: () => undefined },
    });
    await scheduler.start();
    expect(scheduler.isStarted).toBe(true);
  });

  it('shows NaN and Infinity as such, never as null', () => {
    const error = caught(() => new SchedulerPlugin({ clock, maxConcurrentJobs: Number.NaN }));
    expect(error.message).toContain('got NaN');
    expect(error.metadata.value).toBe('NaN');
  });

  it('never shows a session token or an endpoint password, in any encoding', () => {
    const secret = 'Zx9-session-T0ken';
    for (const connectionString of [
      `s3://bucket/p?sessionToken=${secret}`,
      `s3://AK:s@bucket/p?endpoint=${encodeURIComponent(`https://user:${secret}@host:9000`)}`,
    ]) {
      const error = caught(() => new SchedulerPlugin({ connectionString }));
      expect(error.code).toBe('INVALID_CONNECTION_STRING');
      for (const text of [
        error.message,
        error.stack,
        JSON.stringify(error),
        JSON.stringify(error.metadata),
        inspect(error),
      ]) {
        expect(text).not.toContain(secret);
        expect(text).not.toContain(encodeURIComponent(secret));
      }
    }
  });
});

describe('method arguments', () => {
  async function started() {
    const scheduler = plugin({ jobs: { j: job() } });
    await scheduler.start();
    return scheduler;
  }

  it.each<[string, (p: SchedulerPlugin) => Promise<unknown>, string]>([
    ['getJobHistory(name, null)', (p) => p.getJobHistory('j', null as never), 'INVALID_OPTION'],
    [
      'getJobHistory with an unknown option',
      (p) => p.getJobHistory('j', { overlap: 'bogus' } as never),
      'UNKNOWN_OPTION',
    ],
    ['getJobHistory with limit 1e6', (p) => p.getJobHistory('j', { limit: 1e6 }), 'INVALID_OPTION'],
    ['describe(name, null)', (p) => p.describe('j', null as never), 'INVALID_OPTION'],
    [
      'backfill with overlap: bogus',
      (p) => p.backfill('j', { from: 0, to: 1, overlap: 'bogus' as never }),
      'INVALID_OPTION',
    ],
    [
      'backfill with an unknown option',
      (p) => p.backfill('j', { from: 0, to: 1, typo: 1 } as never),
      'UNKNOWN_OPTION',
    ],
    ['backfill without options', (p) => p.backfill('j', undefined as never), 'INVALID_OPTION'],
    ['pauseJob with a number as note', (p) => p.pauseJob('j', 5 as never), 'INVALID_OPTION'],
    ['pauseJob with a 1 MB note', (p) => p.pauseJob('j', 'n'.repeat(1_000_000)), 'INVALID_OPTION'],
    ['runJob with an object as name', (p) => p.runJob(Object.create(null) as never), 'INVALID_JOB'],
    ['removeJob with a symbol', (p) => p.removeJob(Symbol('x') as never), 'INVALID_JOB'],
    ['updateJob with null', (p) => p.updateJob('j', null as never), 'INVALID_OPTION'],
    ['updateJob with an array', (p) => p.updateJob('j', [] as never), 'INVALID_OPTION'],
    [
      'updateJob with a Proxy that throws',
      (p) => p.updateJob('j', throwingProxy() as never),
      'INVALID_OPTION',
    ],
    ['describe with a Proxy that throws', (p) => p.describe('j', throwingProxy() as never), 'INVALID_OPTION'],
    [
      'describe with a count that changes between reads',
      (p) => p.describe('j', fickleCount() as never),
      'NONE',
    ],
  ])('%s', async (_title, call, code) => {
    const scheduler = await started();
    if (code === 'NONE') await call(scheduler);
    else expectCoded(await rejected(call(scheduler)), code);
    expect(scheduler.isStarted).toBe(true);
    expect((await scheduler.describe('j')).paused).toBe(false);
  });

  it('on() refuses a handler that is not a function', async () => {
    const scheduler = await started();
    expectCoded(
      caught(() => scheduler.on('plg:scheduler:error', 5 as never)),
      'INVALID_OPTION',
    );
  });

  it('log lines are redacted, whatever error they carry', async () => {
    const secret = 'L0g-Secret-77';
    let failing = false;
    class LeakyStore extends MemoryStore {
      override async list(...args: Parameters<MemoryStore['list']>) {
        if (failing) throw new Error(`GET https://user:${secret}@host/x?X-Amz-Signature=${secret}`);
        return super.list(...args);
      }
    }
    const lines: string[] = [];
    const scheduler = plugin(
      {
        jobs: { j: job() },
        logger: { warn: (line: string) => lines.push(line), error: (line: string) => lines.push(line) },
      },
      new LeakyStore(),
    );
    await scheduler.start();
    failing = true;
    await clock.advance(120_000);
    failing = false;
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).not.toContain(secret);
  });

  it('a throwing logger loses the line, not the process', async () => {
    const store = new MemoryStore();
    const scheduler = plugin(
      {
        jobs: { j: job() },
        logger: {
          warn: () => {
            throw new Error('logger down');
          },
          error: () => undefined,
        },
      },
      store,
    );
    await scheduler.start();
    const key = (await store.list('')).objects.map((o) => o.key).find((k) => k.includes('jobs/j.json'));
    // A stored junk value makes the plugin report (through the logger) at the next heartbeat.
    await store.put(
      key ?? 'plugin=scheduler/jobs/j.json',
      JSON.stringify({ v: 1, name: 'j', overrides: { retries: -1 } }),
    );
    await clock.advance(60_000);
    expect(scheduler.isStarted).toBe(true);
  });
});
