import { inspect } from 'node:util';
import { ERROR_CODES, isSchedulerError } from '@s3-scheduler/core';
import { ManualClock } from '@s3-scheduler/core/testing';
import { MemoryStore } from '@s3-scheduler/storage';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_KEYS } from './jobs/job-options.js';
import { PLUGIN_KEYS } from './plugin-options.js';
import { SchedulerPlugin } from './scheduler-plugin.js';
import type { JobConfig, SchedulerPluginOptions } from './types.js';

/**
 * Property-based fuzzing of the public API (issue 17). Each run builds a plugin with one
 * steady, valid job, then makes a random sequence of calls in which options and arguments are
 * replaced by hostile values: arbitrary JSON, huge and tiny numbers, NaN and Infinity, long and
 * odd strings, prototype keys, wrong types, connection strings with secrets. For every call:
 *   - it returns normally or rejects with a `SchedulerError` whose code is documented;
 *   - its work is bounded: asynchronous calls must settle within a bounded amount of simulated
 *     time (steps of a ManualClock), synchronous ones return (a hang fails the test);
 *   - no secret appears in the error, and no unhandled rejection happens;
 *   - the instance is either fully started or fully stopped;
 *   - the steady job keeps running afterwards.
 * The seed is fixed, so a failure reproduces; the number of runs keeps the file within CI time.
 */

const SEED = 17_2026;
/** Runs of the method property (each: a started plugin, up to 20 calls, two simulated minutes). */
const RUNS = 120;
/** Runs of the constructor property (cheap: most options are refused at once). */
const CONSTRUCTOR_RUNS = 400;
const START = Date.parse('2026-03-01T00:00:30Z');
const SECRET = 'Fz9-SECRET-q7';
/** Simulated time an asynchronous call may take (retries with back-off included) before it counts as hung. */
const MAX_SETTLE_STEPS = 400;
const STEP_MS = 5_000;

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
});
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
});

// ── hostile values ──────────────────────────────────────────────────────────────────────────────

const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'];

const oddNumber = fc.constantFrom(
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  -0,
  0,
  -1,
  0.5,
  1e20,
  -1e20,
  1e308,
  Number.MIN_VALUE,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 2,
  2 ** 31,
  1e6,
);

const oddString = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '\n',
    '\u0000',
    '\ud800',
    '💥',
    'bogus',
    'UTC',
    'Mars/Base',
    '* * * * *',
    '@daily',
    '61 * * * *',
    '2026-03-01T00:00:00Z',
    'not a date',
    ...PROTO_KEYS,
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.integer({ min: 1_000, max: 60_000 }).map((length) => 'x'.repeat(length)),
);

/** A Proxy on which every operation throws: the most hostile object a caller can pass. */
const trap = () => {
  throw new Error('trap');
};
const hostileProxy = new Proxy(
  {},
  {
    // Symbol lookups stay answered: fast-check itself looks for its clone marker on every value.
    get: (_target, key) => (typeof key === 'symbol' ? undefined : trap()),
    getPrototypeOf: trap,
    ownKeys: trap,
    has: (_target, key) => (typeof key === 'symbol' ? false : trap()),
    getOwnPropertyDescriptor: trap,
  },
);
/** Answers 5 to the first read of `count`/`limit` and Infinity afterwards (check, then use). */
function fickle(): Record<string, unknown> {
  let reads = 0;
  const value = () => (reads++ === 0 ? 5 : Number.POSITIVE_INFINITY);
  return Object.defineProperties(
    {},
    { count: { get: value, enumerable: true }, limit: { get: value, enumerable: true } },
  );
}

const protoObject = fc.constantFrom(
  hostileProxy,
  JSON.parse('{"__proto__": {"polluted": true}}'),
  JSON.parse('{"constructor": {"prototype": {"polluted": true}}}'),
  Object.create(null),
  { toString: 5, valueOf: 'x' },
);

const hostile: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: oddNumber },
  { weight: 3, arbitrary: oddString },
  { weight: 1, arbitrary: fc.constantFrom(undefined, null, true, false, 10n, Symbol('s')) },
  { weight: 1, arbitrary: fc.integer({ min: -10, max: 100_000 }) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.date({ noInvalidDate: false }) },
  { weight: 1, arbitrary: protoObject },
  { weight: 1, arbitrary: fc.array(fc.integer(), { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(() => 1, {}, { warn: 1 }, { get: () => null }) },
);

const secretConnectionString = fc
  .tuple(
    fc.constantFrom(
      `s3://AK:${SECRET}@bucket/p`,
      `s3://AK:${SECRET}@Bad_Bucket!/p`,
      `s3://AK:${SECRET}/bucket/p`,
      `s3://bucket/p?sessionToken=${SECRET}`,
      `s3://bucket/p?region=eu-west-1&secretAccessKey=${SECRET}`,
      `s3://bucket/p?endpoint=${encodeURIComponent(`https://user:${SECRET}@host:9000`)}`,
      `s3://bucket/p?endpoint=https://user:${SECRET}@host:9000`,
      `ftp://AK:${SECRET}@bucket/p`,
      `s3://AK:${SECRET}@bucket/p?endpoint=nope`,
    ),
    fc.oneof(fc.constant(''), fc.string({ maxLength: 10 })),
  )
  .map(([base, suffix]) => base + suffix);

/** An override of 1–3 keys (known, unknown or prototype keys) with hostile values. */
function overrides(keys: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .array(fc.tuple(fc.constantFrom(...keys, 'bogus', 'retrys', ...PROTO_KEYS), hostile), {
      minLength: 1,
      maxLength: 3,
    })
    .map((entries) => {
      const out: Record<string, unknown> = {};
      // defineProperty: `__proto__` must become an own key, as JSON.parse would make it.
      for (const [key, value] of entries) {
        Object.defineProperty(out, key, { value, enumerable: true, configurable: true, writable: true });
      }
      return out;
    });
}

const jobName = fc.oneof({ weight: 3, arbitrary: fc.constant('target') }, { weight: 1, arbitrary: hostile });

const METHODS = [
  'describe',
  'getJobHistory',
  'backfill',
  'pauseJob',
  'resumeJob',
  'enableJob',
  'disableJob',
  'runJob',
  'getJobStatus',
  'getJobStatistics',
  'on',
  'once',
  'install',
  'removeJob',
];

const methodArgs = fc.tuple(
  jobName,
  fc.oneof(
    // The shapes that most often break an options argument, then anything.
    {
      weight: 2,
      arbitrary: fc.oneof(
        fc.constantFrom(undefined, null, Number.NaN, 5, 'note', [], {}, Object.create(null), hostileProxy),
        fc.constant(null).map(() => fickle()),
      ),
    },
    {
      weight: 2,
      arbitrary: overrides([
        'count',
        'recent',
        'limit',
        'status',
        'before',
        'after',
        'from',
        'to',
        'overlap',
      ]),
    },
    { weight: 1, arbitrary: hostile },
  ),
);

/** One call of every method (in this order), each with its own hostile arguments. */
const sweep = fc
  .tuple(...METHODS.map(() => methodArgs))
  .map((all) => all.map((args, index): Call => ({ kind: 'method', method: METHODS[index]!, args })));

type Call =
  | { kind: 'addJob'; name: unknown; config: Record<string, unknown> }
  | { kind: 'updateJob'; name: unknown; updates: unknown }
  | { kind: 'method'; method: string; args: unknown[] }
  | { kind: 'storeJunk'; field: string; value: unknown };

const call: fc.Arbitrary<Call> = fc.oneof(
  fc.record({
    kind: fc.constant('addJob' as const),
    name: fc.oneof(fc.constant('added'), hostile),
    config: overrides(JOB_KEYS),
  }),
  fc.record({
    kind: fc.constant('updateJob' as const),
    name: jobName,
    updates: fc.oneof({ weight: 4, arbitrary: overrides(JOB_KEYS) }, { weight: 1, arbitrary: hostile }),
  }),
  fc.record({
    kind: fc.constant('method' as const),
    method: fc.constantFrom(...METHODS),
    args: methodArgs,
  }),
  fc.record({
    kind: fc.constant('storeJunk' as const),
    field: fc.constantFrom('overrides', 'paused', 'pausedNote', 'buffer', 'runsTaken', 'since', ...JOB_KEYS),
    value: hostile.filter((value) => typeof value !== 'bigint' && typeof value !== 'symbol'),
  }),
);

const steadyJob = (runs: string[]): JobConfig => ({
  schedule: '* * * * *',
  action: (_db, context) => void runs.push(context.slot ?? context.runId),
});
const targetJob: JobConfig = { schedule: '*/5 * * * *', action: () => 'ok', retries: 1 };

// ── checks ──────────────────────────────────────────────────────────────────────────────────────

/** A thrown value must be a coded SchedulerError with a short, secret-free rendering. */
function expectCodedError(error: unknown, what: string): void {
  if (!isSchedulerError(error)) {
    throw new Error(
      `${what} threw a ${inspect(error, { depth: 0 }).slice(0, 300)} instead of a SchedulerError`,
    );
  }
  expect(Object.hasOwn(ERROR_CODES, error.code), `${what}: undocumented code ${error.code}`).toBe(true);
  expect(['UNKNOWN', 'INTERNAL']).not.toContain(error.code);
  expect(error.message.length).toBeLessThan(10_000);
  for (const text of [error.message, error.stack ?? '', JSON.stringify(error), inspect(error)]) {
    expect(text).not.toContain(SECRET);
  }
}

/** Settles a call by moving simulated time in bounded steps; a call still pending after them is hung. */
async function settle(clock: ManualClock, work: () => unknown, what: string): Promise<void> {
  let outcome: { error?: unknown } | undefined;
  try {
    const result = work();
    if (!(result instanceof Promise)) return;
    result.then(
      () => {
        outcome = {};
      },
      (error: unknown) => {
        outcome = { error };
      },
    );
  } catch (error) {
    expectCodedError(error, what);
    return;
  }
  for (let step = 0; outcome === undefined && step < MAX_SETTLE_STEPS; step++) await clock.advance(STEP_MS);
  if (outcome === undefined) throw new Error(`${what} did not settle within ${MAX_SETTLE_STEPS} clock steps`);
  if ('error' in outcome) expectCodedError(outcome.error, what);
}

function expectWhole(plugin: SchedulerPlugin): void {
  if (plugin.isStarted) {
    expect(plugin.getLeader()).not.toBeUndefined();
  } else {
    expect(plugin.isLeader()).toBe(false);
    expect(plugin.getLeader()).toBeNull();
    expect(plugin.getActiveWorkers()).toEqual([]);
  }
}

async function storeJunk(store: MemoryStore, field: string, value: unknown): Promise<void> {
  const key = (await store.list('')).objects
    .map((object) => object.key)
    .find((k) => k.endsWith('jobs/target.json'));
  if (!key) return;
  const doc = JSON.parse(new TextDecoder().decode((await store.get(key))!.body));
  if (['overrides', 'paused', 'pausedNote', 'buffer', 'runsTaken', 'since'].includes(field))
    doc[field] = value;
  else doc.overrides = { ...doc.overrides, [field]: value };
  let body: string | undefined;
  try {
    body = JSON.stringify(doc, (_key, item) =>
      typeof item === 'number' && !Number.isFinite(item) ? 1e308 : item,
    );
  } catch {
    return; // Not storable as JSON (a Proxy): nothing reaches the store.
  }
  if (body !== undefined) await store.put(key, body);
}

// ── the properties ──────────────────────────────────────────────────────────────────────────────

describe('fuzzing the public API with hostile input', () => {
  it('the constructor and start(): a coded error or a whole instance, never half-started', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          { weight: 4, arbitrary: overrides(PLUGIN_KEYS) },
          { weight: 1, arbitrary: secretConnectionString.map((connectionString) => ({ connectionString })) },
          { weight: 1, arbitrary: hostile },
        ),
        async (options) => {
          const clock = new ManualClock({ now: START });
          const base: SchedulerPluginOptions = {
            store: new MemoryStore(),
            clock,
            skipColdStart: true,
            logger: null,
          };
          let plugin: SchedulerPlugin | undefined;
          // No options at all is valid and would run on the system clock: not this test's concern.
          if (options === undefined) return;
          let merged: unknown = options;
          try {
            if (typeof options === 'object' && options !== null && !Array.isArray(options)) {
              const copy: SchedulerPluginOptions = { ...base, ...(options as SchedulerPluginOptions) };
              // The simulated clock stays, so every wait of start() and stop() is bounded in steps.
              if (copy.clock === undefined) copy.clock = clock;
              merged = copy;
            }
          } catch {
            // A Proxy that throws on every read goes to the constructor as it is.
          }
          try {
            plugin = new SchedulerPlugin(merged as SchedulerPluginOptions);
          } catch (error) {
            expectCodedError(error, 'new SchedulerPlugin');
            return;
          }
          // A connection string the constructor accepted that names a real S3 bucket would reach
          // the network: the fuzzer does not start those.
          if (typeof (options as { connectionString?: unknown })?.connectionString === 'string') return;
          await settle(clock, () => plugin.start(), 'start');
          expectWhole(plugin);
          await settle(clock, () => plugin.stop(), 'stop');
          expectWhole(plugin);
          expect(plugin.isStarted).toBe(false);
          expect(unhandled).toEqual([]);
        },
      ),
      { seed: SEED, numRuns: CONSTRUCTOR_RUNS, endOnFailure: true },
    );
  }, 120_000);

  it('methods, options and stored values: coded errors only, and the valid job keeps running', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(call, { maxLength: 6 }), sweep, async (random, swept) => {
        const calls = [...random, ...swept];
        const clock = new ManualClock({ now: START });
        const store = new MemoryStore();
        const runs: string[] = [];
        const plugin = new SchedulerPlugin({
          store,
          clock,
          workerId: 'fuzz',
          skipColdStart: true,
          heartbeatInterval: 5_000,
          logger: null,
          jobs: { steady: steadyJob(runs), target: targetJob },
        });
        plugin.on('plg:scheduler:error', () => undefined);
        try {
          await plugin.start();
          await plugin.updateJob('target', { description: 'stored' });
          for (const [index, item] of calls.entries()) {
            const what = `call ${index} (${item.kind}${item.kind === 'method' ? ` ${item.method}` : ''})`;
            if (item.kind === 'addJob') {
              await settle(
                clock,
                () => plugin.addJob(item.name as string, item.config as unknown as JobConfig),
                what,
              );
            } else if (item.kind === 'updateJob') {
              await settle(
                clock,
                () => plugin.updateJob(item.name as string, item.updates as JobConfig),
                what,
              );
            } else if (item.kind === 'storeJunk') {
              await storeJunk(store, item.field, item.value);
              await clock.advance(10_000);
            } else {
              const method = (plugin as unknown as Record<string, (...args: unknown[]) => unknown>)[
                item.method
              ]!;
              const args =
                item.method === 'on' || item.method === 'once'
                  ? ['plg:scheduler:error', item.args[1]]
                  : item.args;
              if (args[0] === 'steady') continue;
              await settle(clock, () => method.apply(plugin, args), what);
            }
            expectWhole(plugin);
            expect(plugin.isStarted).toBe(true);
          }
          // The job that was valid before keeps running.
          const before = runs.length;
          await clock.advance(120_000);
          expect(runs.length).toBeGreaterThan(before);
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
          expect(unhandled).toEqual([]);
        } finally {
          await settle(clock, () => plugin.stop(), 'stop');
        }
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
  }, 300_000);
});
