import { ManualClock } from '@s3-scheduler/core/testing';
import { seedHistory } from '@s3-scheduler/history/testing';
import { ForwardingStore, MemoryStore, type ObjectStore, type StoreOperation } from '@s3-scheduler/storage';
import { CountingStore } from '@s3-scheduler/storage/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_LAYOUT } from '../layout.js';
import { SchedulerPlugin } from '../scheduler-plugin.js';
import { stopAll } from '../test-support/stop-all.js';
import type { JobConfig } from '../types.js';

const START = Date.parse('2026-03-01T00:00:30Z');
const MINUTE = 60_000;
const HISTORY = `${DEFAULT_LAYOUT.prefix}${DEFAULT_LAYOUT.history}`;
const HOLD = `${DEFAULT_LAYOUT.prefix}${DEFAULT_LAYOUT.active}job/~hold`;
const live: SchedulerPlugin[] = [];
let currentClock: ManualClock | undefined;

afterEach(() => stopAll(live, currentClock));

/** Records `<operation> <key>` of every request that reaches the store it wraps. */
class LoggedStore extends ForwardingStore {
  readonly log: string[] = [];

  protected override around<T>(
    operation: StoreOperation,
    key: string,
    request: () => Promise<T>,
  ): Promise<T> {
    this.log.push(`${operation} ${key}`);
    return request();
  }
}

/** A store that stops answering once `dead` is set: its instance is gone as far as others see. */
class DyingStore extends ForwardingStore {
  dead = false;

  protected override around<T>(
    _operation: StoreOperation,
    _key: string,
    request: () => Promise<T>,
  ): Promise<T> {
    return this.dead ? Promise.reject(new Error('unreachable')) : request();
  }
}

/** A store whose deletes of the job's hold fail, as a 500 from the server would. */
class FailingHoldDeletes extends ForwardingStore {
  protected override around<T>(
    operation: StoreOperation,
    key: string,
    request: () => Promise<T>,
  ): Promise<T> {
    if (operation === 'delete' && key === HOLD) return Promise.reject(new Error('serverError500'));
    return request();
  }
}

interface ClusterOptions {
  /** Runs of `job` already in the store. */
  history?: number;
  schedule?: string | null;
  /** How long each run of `job` lasts (ms), by slot (`null`: a manual run). */
  durationMs?: (slot: string | null) => number;
  /** Wraps instance `i`'s view of the shared store. */
  wrap?: (store: ObjectStore, i: number) => ObjectStore;
  instances?: number;
}

/**
 * Instances `w0` (leads), `w1`, … sharing one store; `job` has `overlap: 'skip'`. Each
 * instance's requests are counted and logged; `runs` records `<worker> <slot|manual> start|end`.
 */
async function cluster(options: ClusterOptions = {}) {
  const clock = new ManualClock({ now: START });
  currentClock = clock;
  const shared = new MemoryStore();
  if (options.history)
    await seedHistory(shared, {
      job: 'job',
      count: options.history,
      newestSlotMs: START - MINUTE,
      prefix: HISTORY,
    });
  const runs: string[] = [];
  const job: JobConfig = {
    schedule: options.schedule === undefined ? '0 0 1 7 *' : options.schedule,
    overlap: 'skip',
    timeout: 0,
    action: async (_db, context) => {
      const name = `${context.workerId} ${context.slot ?? 'manual'}`;
      runs.push(`${name} start`);
      await clock.sleep(options.durationMs?.(context.slot) ?? 0);
      runs.push(`${name} end`);
    },
  };
  const logged: LoggedStore[] = [];
  const counters: CountingStore[] = [];
  const plugins: SchedulerPlugin[] = [];
  for (let i = 0; i < (options.instances ?? 2); i++) {
    const log = new LoggedStore(options.wrap ? options.wrap(shared, i) : shared);
    const counter = new CountingStore(log);
    logged.push(log);
    counters.push(counter);
    const plugin = new SchedulerPlugin({
      store: counter,
      clock,
      workerId: `w${i}`,
      heartbeatInterval: 5_000,
      skipColdStart: i === 0,
      coldStartObservationWindow: 1_000,
      stopTimeout: 5_000,
      logger: null,
      jobs: { job },
    });
    live.push(plugin);
    plugins.push(plugin);
    await plugin.start();
    await clock.advance(1);
  }
  await clock.advance(6_000);
  expect(plugins[0]!.isLeader()).toBe(true);
  expect(plugins.slice(1).some((plugin) => plugin.isLeader())).toBe(false);
  const settle = async <T>(call: Promise<T>): Promise<T | string> =>
    call.then(
      (result) => result,
      (error: { code?: string; metadata?: { workerId?: string } }) =>
        `${error.code} ${error.metadata?.workerId}`,
    );
  return { clock, shared, plugins, counters, logged, runs, settle };
}

/** A first run: an instance reads the history layout record once, when it first uses history. */
async function warmUp(plugin: SchedulerPlugin, clock: ManualClock): Promise<void> {
  const done = plugin.runJob('job');
  await clock.advance(0);
  expect((await done).status).toBe('completed');
}

describe('runJob of a skip job: its cost', () => {
  it('costs 4 requests on the leader and on a follower with 5,000 runs stored, and lists nothing', async () => {
    const { clock, plugins, counters, logged } = await cluster({ history: 5_000 });
    for (const [i, plugin] of plugins.entries()) {
      await warmUp(plugin, clock);
      counters[i]!.reset();
      logged[i]!.log.length = 0;
      const done = plugin.runJob('job');
      await clock.advance(0);
      expect((await done).status).toBe('completed');
      // The hold (created; deleted at the ETag written once the action ended), the claim and the
      // final write of the run's record at its own key: nothing else, on the leader as on a follower.
      expect(counters[i]!.snapshot()).toEqual({ get: 0, head: 0, put: 3, delete: 1, list: 0, total: 4 });
      expect(logged[i]!.log).toEqual([
        `put ${HOLD}`,
        expect.stringMatching(new RegExp(`^put ${HISTORY}`)),
        `delete ${HOLD}`,
        expect.stringMatching(new RegExp(`^put ${HISTORY}`)),
      ]);
    }
  });

  it('a job that may overlap costs the claim and the final write only', async () => {
    const { clock, plugins, counters, logged } = await cluster({ history: 500 });
    await plugins[1]!.updateJob('job', { overlap: 'allow' });
    await clock.advance(6_000); // the leader takes up the change
    for (const [i, plugin] of plugins.entries()) {
      await warmUp(plugin, clock);
      counters[i]!.reset();
      logged[i]!.log.length = 0;
      const done = plugin.runJob('job');
      await clock.advance(0);
      expect((await done).status).toBe('completed');
      // A follower marks its run in `active/` (put, delete) so the leader's policies see it.
      expect(counters[i]!.snapshot().total).toBe(i === 0 ? 2 : 4);
      expect(counters[i]!.counts.list).toBe(0);
    }
  });
});

describe('runJob of a skip job admits one run across instances', () => {
  it('concurrent calls on the leader and a follower, either first: one runs, the other is refused with its holder', async () => {
    const { clock, plugins, runs, settle } = await cluster({ durationMs: () => 10_000 });
    for (const [first, second] of [
      [0, 1],
      [1, 0],
    ] as const) {
      runs.length = 0;
      const a = settle(plugins[first]!.runJob('job'));
      const b = settle(plugins[second]!.runJob('job'));
      await clock.advance(11_000);
      const results = await Promise.all([a, b]);
      expect(results.filter((result) => result === `JOB_ALREADY_RUNNING w${first}`)).toHaveLength(1);
      expect(runs).toEqual([`w${first} manual start`, `w${first} manual end`]);
      expect(results[0]).toMatchObject({ status: 'completed' });
    }
  });

  it('three instances call at once: exactly one runs', async () => {
    const { clock, plugins, runs, settle } = await cluster({ durationMs: () => 10_000, instances: 3 });
    const results = await Promise.all([
      ...plugins.map((plugin) => settle(plugin.runJob('job'))),
      clock.advance(11_000).then(() => undefined),
    ]);
    const completed = results.filter((result) => typeof result === 'object');
    expect(completed).toHaveLength(1);
    expect(runs).toHaveLength(2);
    const winner = runs[0]!.split(' ')[0];
    expect(results.filter((result) => result === `JOB_ALREADY_RUNNING ${winner}`)).toHaveLength(2);
  });

  it("a hold whose delete failed is taken over once its run's record is final, and the leader's heartbeat deletes it", async () => {
    const { clock, shared, plugins, runs, settle } = await cluster({
      wrap: (store, i) => (i === 1 ? new FailingHoldDeletes(store) : store),
    });
    const first = plugins[1]!.runJob('job');
    await clock.advance(0);
    expect(await first).toMatchObject({ status: 'completed' });
    expect(await shared.head(HOLD)).not.toBeNull(); // its delete failed
    // Before the leader's heartbeat: the leader finds it, reads its run's record, takes it over.
    const second = settle(plugins[0]!.runJob('job'));
    await clock.advance(0);
    expect(await second).toMatchObject({ status: 'completed' });
    expect(await shared.head(HOLD)).toBeNull();
    // Left again by the follower: the leader's next heartbeat deletes it.
    const third = plugins[1]!.runJob('job');
    await clock.advance(0);
    await third;
    expect(await shared.head(HOLD)).not.toBeNull();
    await clock.advance(5_000);
    expect(await shared.head(HOLD)).toBeNull();
    expect(runs).toEqual([
      'w1 manual start',
      'w1 manual end',
      'w0 manual start',
      'w0 manual end',
      'w1 manual start',
      'w1 manual end',
    ]);
  });

  it('the hold of an instance that is gone is taken over', async () => {
    const dying: DyingStore[] = [];
    const { clock, plugins, runs, settle } = await cluster({
      durationMs: () => 10 * MINUTE,
      instances: 3,
      wrap: (store, i) => {
        if (i !== 2) return store;
        dying.push(new DyingStore(store));
        return dying[0]!;
      },
    });
    void settle(plugins[2]!.runJob('job'));
    await clock.advance(1_000);
    expect(await settle(plugins[1]!.runJob('job'))).toBe('JOB_ALREADY_RUNNING w2');
    // w2 can no longer reach the store: once the others see it gone, its hold is stale.
    dying[0]!.dead = true;
    await clock.advance(2 * MINUTE);
    const taken = settle(plugins[1]!.runJob('job'));
    await clock.advance(10 * MINUTE);
    expect(await taken).toMatchObject({ status: 'completed' });
    expect(runs.slice(0, 2)).toEqual(['w2 manual start', 'w1 manual start']);
  });
});

describe('runJob and the scheduled runs of the leader (the bounded case)', () => {
  it('a due slot is skipped while a follower runs the job, from the heartbeat after its hold', async () => {
    const { clock, plugins, runs, settle } = await cluster({
      schedule: '* * * * *',
      durationMs: (slot) => (slot === null ? 2 * MINUTE : 1_000),
    });
    // 00:00:37: the follower starts a two-minute run; the leader's heartbeats see its hold.
    const manual = settle(plugins[1]!.runJob('job'));
    await clock.advance(Date.parse('2026-03-01T00:03:02Z') - clock.now());
    expect(await manual).toMatchObject({ status: 'completed' });
    expect(runs).toEqual([
      'w1 manual start',
      'w1 manual end',
      'w0 2026-03-01T00:03:00.000Z start',
      'w0 2026-03-01T00:03:00.000Z end',
    ]);
    const history = await plugins[0]!.getJobHistory('job', { limit: 10 });
    expect(history.map((run) => `${run.slot ?? 'manual'} ${run.status}`).reverse()).toEqual([
      'manual completed',
      '2026-03-01T00:01:00.000Z skipped',
      '2026-03-01T00:02:00.000Z skipped',
      '2026-03-01T00:03:00.000Z completed',
    ]);
  });

  it('a follower is refused while a long scheduled run of the leader goes on, once it has run for 30 s and a heartbeat', async () => {
    const { clock, plugins, counters, runs, settle } = await cluster({
      schedule: '* * * * *',
      durationMs: (slot) => (slot === '2026-03-01T00:01:00.000Z' ? 3 * MINUTE : 1_000),
    });
    await clock.advance(Date.parse('2026-03-01T00:01:40Z') - clock.now());
    // The 00:01 run has gone on for 40 s: the leader's heartbeat gave it the job's hold.
    await plugins[1]!.getJobHistory('job', { limit: 1 }); // opens history (its layout read once)
    counters[1]!.reset();
    expect(await settle(plugins[1]!.runJob('job'))).toBe('JOB_ALREADY_RUNNING w0');
    // Its cost: the create that found the hold, a read of it and of its run's record.
    expect(counters[1]!.snapshot()).toEqual({ get: 2, head: 0, put: 1, delete: 0, list: 0, total: 3 });
    await clock.advance(Date.parse('2026-03-01T00:04:10Z') - clock.now());
    // Ended (00:04:00), its hold deleted (the 00:04 run took none: it lasted 1 s): the follower runs.
    const after = settle(plugins[1]!.runJob('job'));
    await clock.advance(2_000);
    expect(await after).toMatchObject({ status: 'completed' });
    expect(runs).toEqual([
      'w0 2026-03-01T00:01:00.000Z start',
      'w0 2026-03-01T00:01:00.000Z end',
      'w0 2026-03-01T00:04:00.000Z start',
      'w0 2026-03-01T00:04:00.000Z end',
      'w1 manual start',
      'w1 manual end',
    ]);
  });

  it("in the first 30 s and a heartbeat of a scheduled run (no hold yet), a follower reads that slot's record and is refused", async () => {
    const { clock, plugins, counters, runs, settle } = await cluster({
      schedule: '* * * * *',
      durationMs: (slot) => (slot === null ? 1_000 : 3 * MINUTE),
    });
    await clock.advance(Date.parse('2026-03-01T00:01:10Z') - clock.now());
    await plugins[1]!.getJobHistory('job', { limit: 1 }); // opens history (its layout read once)
    counters[1]!.reset();
    expect(await settle(plugins[1]!.runJob('job'))).toBe('JOB_ALREADY_RUNNING w0');
    // The hold (put, then deleted) and a read of the 00:01 slot's record at its known key.
    expect(counters[1]!.snapshot()).toEqual({ get: 1, head: 0, put: 1, delete: 1, list: 0, total: 3 });
    await clock.advance(Date.parse('2026-03-01T00:01:50Z') - clock.now());
    // 50 s in: the run has the hold by now (30 s and a heartbeat), the follower finds it.
    expect(await settle(plugins[1]!.runJob('job'))).toBe('JOB_ALREADY_RUNNING w0');
    expect(runs).toEqual(['w0 2026-03-01T00:01:00.000Z start']);
  });

  it('after a short scheduled run has ended, a manual run right after its slot costs one read more (5 requests)', async () => {
    const { clock, plugins, counters, runs } = await cluster({ schedule: '* * * * *' });
    await clock.advance(Date.parse('2026-03-01T00:01:10Z') - clock.now());
    await plugins[1]!.getJobHistory('job', { limit: 1 });
    counters[1]!.reset();
    const done = plugins[1]!.runJob('job');
    await clock.advance(0);
    expect((await done).status).toBe('completed');
    expect(counters[1]!.snapshot()).toEqual({ get: 1, head: 0, put: 3, delete: 1, list: 0, total: 5 });
    expect(runs).toEqual([
      'w0 2026-03-01T00:01:00.000Z start',
      'w0 2026-03-01T00:01:00.000Z end',
      'w1 manual start',
      'w1 manual end',
    ]);
  });
});
