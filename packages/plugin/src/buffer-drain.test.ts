// Buffer drains and claims in flight (a reviewer's tests): a slot buffered behind a claim that
// fails, removed jobs, stop during a claim, a pause during a drain, `allow`, `runJob`, and the
// burst fast path.
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

interface Run {
  slot: string | null;
  trigger: string;
  from: number;
  to: number;
}

function plugin(store: ObjectStore, job: Omit<JobConfig, 'action'>, runMs: number) {
  const runs: Run[] = [];
  const events: string[] = [];
  const instance = new SchedulerPlugin({
    store,
    clock,
    enableCoordinator: false,
    logger: null,
    jobs: {
      tick: {
        ...job,
        action: async (_db, ctx) => {
          const run: Run = {
            slot: ctx.slot,
            trigger: ctx.trigger,
            from: clock.now(),
            to: Number.POSITIVE_INFINITY,
          };
          runs.push(run);
          await clock.sleep(runMs, ctx.signal).catch(() => undefined);
          run.to = clock.now();
        },
      },
    },
  });
  live.push(instance);
  instance.on('plg:scheduler:job-buffered', (e) => void events.push(`buffered ${e.slot}`));
  instance.on('plg:scheduler:job-skipped', (e) => void events.push(`skipped ${e.slot} ${e.reason}`));
  return { instance, runs, events };
}

const overlapping = (runs: Run[]) =>
  runs.flatMap((a, i) =>
    runs
      .slice(i + 1)
      .filter((b) => b.from < a.to && a.from < b.to)
      .map((b) => [a.slot, b.slot]),
  );

describe('drains', () => {
  for (const putMs of [0, 700]) {
    it(`buffer-all: no buffered slot starts after removeJob() returned (puts ${putMs} ms)`, async () => {
      clock = new ManualClock({ now: at(-5) });
      const slow = new SlowStore(new MemoryStore(), clock);
      const { instance, runs } = plugin(slow, { schedule: '* * * * * *', overlap: 'buffer-all' }, 2_500);
      instance.on('scheduler_started', () => {
        slow.putDelayMs = putMs;
      });
      await instance.start();
      await clock.advanceTo(at(10) + 200);
      const removing = instance.removeJob('tick');
      await removing;
      const removedAt = clock.now();
      await clock.advanceTo(at(60));
      expect(runs.length).toBeGreaterThan(2);
      expect(runs.filter((r) => r.from > removedAt).map((r) => r.slot)).toEqual([]);
    });
  }

  it('buffer-one: stop() during a claim, then start() again: later slots run on time, none buffered', async () => {
    clock = new ManualClock({ now: at(-5) });
    const slow = new SlowStore(new MemoryStore(), clock);
    const { instance, runs, events } = plugin(slow, { schedule: '* * * * * *', overlap: 'buffer-one' }, 100);
    instance.once('scheduler_started', () => {
      slow.putDelayMs = 700;
    });
    await instance.start();
    await clock.advanceTo(at(3) + 300); // the claim of 00:00:03 is in flight
    const stopping = instance.stop();
    await clock.advance(5_000);
    await stopping;
    slow.putDelayMs = 0;
    const restartAt = clock.now();
    await instance.start();
    await clock.advanceTo(at(40));
    const after = runs.filter((r) => r.from > restartAt + 2_000);
    expect(after.length).toBeGreaterThan(25);
    expect(after.every((r) => r.from - Date.parse(r.slot!) < 50)).toBe(true);
    expect(events.filter((e) => e.slice(e.indexOf(' ') + 1) > iso(restartAt + 2_000))).toEqual([]);
  });

  it('buffer-all: paused while a drain claims, the rest of the buffer is skipped (paused), not run', async () => {
    clock = new ManualClock({ now: at(-5) });
    const slow = new SlowStore(new MemoryStore(), clock);
    const { instance, runs, events } = plugin(
      slow,
      { schedule: '* * * * * *', overlap: 'buffer-all' },
      3_000,
    );
    instance.on('scheduler_started', () => {
      slow.putDelayMs = 300;
    });
    await instance.start();
    await clock.advanceTo(at(12));
    const pausing = instance.pauseJob('tick');
    await clock.advance(2_000);
    await pausing;
    const pausedAt = clock.now();
    await clock.advanceTo(at(60));
    expect(runs.filter((r) => r.from > pausedAt + 3_000)).toEqual([]);
    expect((await instance.describe('tick')).buffered).toEqual([]);
    expect(events.some((e) => e.endsWith('paused'))).toBe(true);
  });
});

describe('regressions', () => {
  it('allow: on a slow store every slot runs on its own claim, overlapping freely', async () => {
    clock = new ManualClock({ now: at(-5) });
    const slow = new SlowStore(new MemoryStore(), clock);
    const { instance, runs, events } = plugin(slow, { schedule: '* * * * * *', overlap: 'allow' }, 3_000);
    instance.on('scheduler_started', () => {
      slow.putDelayMs = 1_500;
    });
    await instance.start();
    await clock.advanceTo(at(30));
    const slots = runs.map((r) => r.slot).filter((s) => s! >= iso(at(0)) && s! <= iso(at(25)));
    expect(slots).toEqual(Array.from({ length: 26 }, (_, i) => iso(at(i))));
    expect(events).toEqual([]);
    expect(runs.filter((r) => r.slot! <= iso(at(25))).every((r) => r.trigger === 'schedule')).toBe(true);
  });

  it('allow on a MemoryStore (on-time path): every slot starts at its instant', async () => {
    clock = new ManualClock({ now: at(-5) });
    const { instance, runs } = plugin(
      new MemoryStore(),
      { schedule: '* * * * * *', overlap: 'allow' },
      3_500,
    );
    await instance.start();
    await clock.advanceTo(at(20));
    const own = runs.filter((r) => r.slot! >= iso(at(0)));
    expect(own.map((r) => r.slot)).toEqual(Array.from({ length: 21 }, (_, i) => iso(at(i))));
    expect(own.every((r) => r.from === Date.parse(r.slot!))).toBe(true);
  });

  it('buffer-one: a slot due while runJob() is claiming does not run alongside the manual run', async () => {
    clock = new ManualClock({ now: at(-5) });
    const slow = new SlowStore(new MemoryStore(), clock);
    const { instance, runs } = plugin(slow, { schedule: '0 * * * * *', overlap: 'buffer-one' }, 5_000);
    await instance.start();
    await clock.advanceTo(at(-2));
    slow.putDelayMs = 1_500;
    const manual = instance.runJob('tick');
    await clock.advanceTo(at(30));
    await manual;
    expect(runs.map((r) => r.trigger)).toEqual(['manual', expect.any(String)]);
    expect(overlapping(runs)).toEqual([]);
  });

  it('burst: 1,000 jobs due at once on a MemoryStore all start at their instant', async () => {
    clock = new ManualClock({ now: at(0) + 500 });
    const store = new MemoryStore({ clock });
    const starts = new Map<number, number>();
    let late = 0;
    const jobs: Record<string, JobConfig> = {};
    for (let i = 0; i < 1000; i++)
      jobs[`job-${i}`] = {
        schedule: '* * * * * *',
        action: (_db, ctx) => {
          const slot = Date.parse(ctx.slot!);
          if (clock.now() !== slot || ctx.trigger !== 'schedule') late++;
          starts.set(slot, (starts.get(slot) ?? 0) + 1);
        },
      };
    const scheduler = new SchedulerPlugin({ store, clock, skipColdStart: true, logger: null, jobs });
    live.push(scheduler);
    await scheduler.start();
    for (let s = 0; s < 10; s++) await clock.advance(1000);
    expect(late).toBe(0);
    for (let s = 2; s <= 10; s++) expect(starts.get(at(s))).toBe(1000);
  });
});

describe('skip: runJob() while a buffered (caught-up) slot is being claimed', () => {
  it('is refused (JOB_ALREADY_RUNNING) or does not overlap the drained run', async () => {
    clock = new ManualClock({ now: at(0) + 500 });
    const memory = new MemoryStore();
    const job = { schedule: '* * * * * *', catchUp: 'all' } as const; // overlap 'skip'
    // A first leader runs 00:00:01–00:00:03 and stops; 00:00:04 and 00:00:05 pass unled.
    const first = plugin(memory, job, 0);
    await first.instance.start();
    await clock.advanceTo(at(3) + 500);
    await stopAll([first.instance], clock);
    live.splice(live.indexOf(first.instance), 1);
    await clock.advanceTo(at(5) + 500);
    const slow = new SlowStore(memory, clock);
    const { instance, runs } = plugin(slow, job, 2_500);
    instance.on('scheduler_started', () => {
      slow.putDelayMs = 700;
    });
    const starting = instance.start();
    // Watch for the moment the buffered catch-up slot's drain is claiming: 00:00:04 ran, 00:00:05 waits.
    let manual: Promise<unknown> | undefined;
    let manualError: unknown;
    for (let i = 0; i < 400 && !manual; i++) {
      await clock.advance(25);
      const four = runs.find((r) => r.slot === iso(at(4)));
      if (four && four.to !== Number.POSITIVE_INFINITY && !runs.some((r) => r.slot === iso(at(5)))) {
        manual = instance.runJob('tick').catch((error: unknown) => {
          manualError = error;
        });
      }
    }
    await clock.advanceTo(at(40));
    await starting;
    await manual;
    const manualRuns = runs.filter((r) => r.trigger === 'manual');
    expect(manual).toBeDefined();
    expect(overlapping(runs)).toEqual([]);
    expect(manualRuns.length + (manualError ? 1 : 0)).toBe(1);
  });
});

/** History puts (claims) take `delayMs` and fail with a 503 while `failing()`. */
// Longer than history's own retries of a put (about 10 s), as in an S3 outage.
const FAIL_UNTIL = 20;
class FlakyClaims extends ForwardingStore {
  delayMs = 0;
  failUntil = 0;
  constructor(
    inner: ObjectStore,
    private readonly c: ManualClock,
  ) {
    super(inner);
  }
  clockNow(): number {
    return this.c.now();
  }
  sleep(ms: number): Promise<void> {
    return this.c.sleep(ms);
  }
  protected override async around<T>(operation: StoreOperation, key: string, request: () => Promise<T>) {
    if (operation === 'put' && key.includes('runs-by-shard')) {
      const fail = this.c.now() < this.failUntil;
      if (this.delayMs > 0) await this.c.sleep(this.delayMs);
      if (fail) throw storeUnavailable(operation, key, { statusCode: 503 });
    }
    return request();
  }
}

/** `FlakyClaims` for a store that batches claims (`createMany`, as `MemoryStore`): the on-time path. */
class FlakyBatchedClaims extends FlakyClaims {
  constructor(
    private readonly memory: MemoryStore,
    c: ManualClock,
  ) {
    super(memory, c);
  }
  readonly createMany: NonNullable<ObjectStore['createMany']> = async (entries, options) => {
    const fail = this.clockNow() < this.failUntil;
    if (this.delayMs > 0) await this.sleep(this.delayMs);
    if (fail) throw storeUnavailable('put', entries[0]!.key, { statusCode: 503 });
    return this.memory.createMany!(entries, options);
  };
}

// The buffered slot used to be drained at once when the claim before it failed, into the same
// failing store, and a drained slot whose claim threw was dropped.
describe('a slot buffered behind a claim that fails', () => {
  for (const [overlap, batched] of [
    ['buffer-one', false],
    ['buffer-all', false],
    ['cancel-other', false],
    ['buffer-one', true],
  ] as const) {
    it(`${overlap}${batched ? ' (on-time path, batched claims)' : ''}: is run, retried or reported, not lost`, async () => {
      clock = new ManualClock({ now: at(-5) });
      const flaky = batched
        ? new FlakyBatchedClaims(new MemoryStore(), clock)
        : new FlakyClaims(new MemoryStore(), clock);
      const { instance, runs, events } = plugin(flaky, { schedule: '0,1 * * * * *', overlap }, 100);
      instance.on('scheduler_started', () => {
        flaky.delayMs = 1_500;
        flaky.failUntil = at(FAIL_UNTIL);
      });
      await instance.start();
      await clock.advanceTo(at(50));
      const history = await instance.getJobHistory('tick', { limit: 100 });
      const one = {
        ran: runs.filter((r) => r.slot === iso(at(1))).length,
        recorded: history.filter((r) => r.slot === iso(at(1))).map((r) => r.status),
        reported: events.filter((e) => e.includes(iso(at(1)))),
      };
      expect(
        one.ran + one.recorded.length + one.reported.filter((e) => !e.startsWith('buffered')).length,
      ).toBeGreaterThan(0);
      expect((await instance.describe('tick')).buffered).toEqual([]);
    });
  }
});
