import { ManualClock } from '@s3-scheduler/core/testing';
import { ForwardingStore, MemoryStore, type ObjectStore } from '@s3-scheduler/storage';
import { GatedStore, s3TestBackend, s3TestEnv, uniqueTestPrefix } from '@s3-scheduler/storage/testing';
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import type { SchedulerEvents } from './events.js';
import { SchedulerPlugin } from './scheduler-plugin.js';
import { readHostStorage } from './store/host-store.js';
import { stopAll } from './test-support/stop-all.js';
import type { JobConfig, JobContext } from './types.js';

const START = Date.parse('2026-03-01T00:00:30Z');
const MINUTE = 60_000;
const plugins: SchedulerPlugin[] = [];
let clock: ManualClock | undefined;

afterEach(async () => {
  await stopAll(plugins, clock);
  clock = undefined;
});

/** A store that is not process-local as far as the plugin can tell (as an S3 bucket would be). */
class SharedLookingStore extends ForwardingStore {
  override readonly description = 's3://test-bucket/';
}

type Skipped = SchedulerEvents['plg:scheduler:job-skipped'];

function track<T extends SchedulerPlugin>(plugin: T): T {
  plugins.push(plugin);
  return plugin;
}

describe('start and stop under concurrent calls', () => {
  function instance(store: ObjectStore, workerId: string, runs: string[] = []) {
    return track(
      new SchedulerPlugin({
        store,
        clock: clock!,
        workerId,
        heartbeatInterval: 5_000,
        coldStartObservationWindow: 10_000,
        logger: null,
        jobs: {
          tick: { schedule: '* * * * *', action: (_db, ctx) => void runs.push(`${workerId} ${ctx.slot}`) },
        },
      }),
    );
  }

  it('concurrent starts share one start; after stop another instance takes over', async () => {
    clock = new ManualClock({ now: START });
    const shared = new MemoryStore();
    const runs: string[] = [];
    const a = instance(shared, 'a', runs);
    await Promise.all([a.start(), a.start(), a.start()]);
    await clock.advance(20_000);
    expect(a.isLeader()).toBe(true);
    await clock.advance(MINUTE);
    expect(runs).toEqual(['a 2026-03-01T00:01:00.000Z']);
    await Promise.all([a.stop(), a.stop()]);
    expect(a.isStarted).toBe(false);
    const b = instance(shared, 'b', runs);
    await b.start();
    await clock.advance(20_000);
    expect(b.isLeader()).toBe(true);
    await clock.advance(MINUTE);
    // b led from 00:02:00 (00:01:50 plus its cold start) and runs every slot from then on.
    expect(runs).toEqual([
      'a 2026-03-01T00:01:00.000Z',
      'b 2026-03-01T00:02:00.000Z',
      'b 2026-03-01T00:03:00.000Z',
    ]);
  });

  it('a stop during a start leaves nothing running (no lease renewed), and start–stop–start works', async () => {
    clock = new ManualClock({ now: START });
    const shared = new MemoryStore();
    const runs: string[] = [];
    const a = instance(shared, 'a', runs);
    const starting = a.start();
    const stopping = a.stop();
    await Promise.all([starting, stopping]);
    expect(a.isStarted).toBe(false);
    expect(a.isLeader()).toBe(false);
    // Nothing of `a` is left: `b` leads right after its cold start, not after a lease expiry.
    const b = instance(shared, 'b', runs);
    await b.start();
    await clock.advance(11_000);
    expect(b.isLeader()).toBe(true);
    await b.stop();
    // start, stop, start: the plugin runs again.
    await a.start();
    await a.stop();
    await a.start();
    await clock.advance(MINUTE);
    expect(a.isLeader()).toBe(true);
    expect(runs).toEqual(['a 2026-03-01T00:01:00.000Z']);
  });

  it('start, stop and start again in one go end started, with one coordinator', async () => {
    clock = new ManualClock({ now: START });
    const shared = new MemoryStore();
    const runs: string[] = [];
    const a = instance(shared, 'a', runs);
    await Promise.all([a.start(), a.stop(), a.start(), a.start()]);
    expect(a.isStarted).toBe(true);
    await clock.advance(20_000 + 2 * MINUTE);
    expect(runs).toEqual(['a 2026-03-01T00:01:00.000Z', 'a 2026-03-01T00:02:00.000Z']);
  });
});

describe('runJob admits one run of a skip job', () => {
  function slowJob(log: string[]): JobConfig {
    return {
      schedule: null,
      overlap: 'skip',
      action: async (_db, ctx) => {
        log.push(`start ${ctx.workerId}`);
        await clock!.sleep(300);
        log.push(`end ${ctx.workerId}`);
      },
    };
  }

  it('three concurrent runJob calls: one runs, two are refused JOB_ALREADY_RUNNING', async () => {
    clock = new ManualClock({ now: START });
    const log: string[] = [];
    const plugin = track(
      new SchedulerPlugin({
        store: new MemoryStore(),
        clock,
        workerId: 'w',
        logger: null,
        jobs: { a: slowJob(log) },
      }),
    );
    await plugin.start();
    const calls = [plugin.runJob('a'), plugin.runJob('a'), plugin.runJob('a')].map((call) =>
      call.then(
        (result) => result.status,
        (error: { code?: string }) => error.code,
      ),
    );
    await clock.advance(1_000);
    expect((await Promise.all(calls)).sort()).toEqual([
      'JOB_ALREADY_RUNNING',
      'JOB_ALREADY_RUNNING',
      'completed',
    ]);
    expect(log).toEqual(['start w', 'end w']);
    // Once it ended, the job can run again.
    const again = plugin.runJob('a');
    await clock.advance(1_000);
    await expect(again).resolves.toMatchObject({ status: 'completed' });
  });

  it('over the cluster: refused while a run is live on another instance', async () => {
    clock = new ManualClock({ now: START });
    const shared = new MemoryStore();
    const log: string[] = [];
    const make = (workerId: string) =>
      track(
        new SchedulerPlugin({
          store: shared,
          clock: clock!,
          workerId,
          heartbeatInterval: 5_000,
          coldStartObservationWindow: 1_000,
          logger: null,
          jobs: { a: slowJob(log) },
        }),
      );
    const [x, y] = [make('x'), make('y')];
    await Promise.all([x.start(), y.start()]);
    await clock.advance(6_000);
    const first = x.runJob('a');
    await clock.settle();
    await expect(y.runJob('a')).rejects.toMatchObject({
      code: 'JOB_ALREADY_RUNNING',
      metadata: { workerId: 'x' },
    });
    await clock.advance(1_000);
    await expect(first).resolves.toMatchObject({ status: 'completed' });
    expect(log).toEqual(['start x', 'end x']);
  });

  it('a due slot of a skip job is skipped while a manual run of it is being started', async () => {
    clock = new ManualClock({ now: Date.parse('2026-03-01T00:00:59Z') });
    const log: string[] = [];
    const skipped: Skipped[] = [];
    const plugin = track(
      new SchedulerPlugin({
        store: new MemoryStore(),
        clock,
        workerId: 'w',
        logger: null,
        jobs: { a: { ...slowJob(log), schedule: '* * * * *' } },
      }),
    );
    plugin.on('plg:scheduler:job-skipped', (event) => void skipped.push(event));
    await plugin.start();
    await clock.advance(800);
    const manual = plugin.runJob('a');
    await clock.advance(1_000);
    await manual;
    expect(log).toEqual(['start w', 'end w']);
    expect(skipped.map((event) => [event.slot, event.reason])).toEqual([
      ['2026-03-01T00:01:00.000Z', 'overlap'],
    ]);
  });
});

describe('the embedded store', () => {
  it('a lone instance with default options runs its first due slot at once, and says once the store is process-local', async () => {
    MemoryStore.resetBucket('default');
    clock = new ManualClock({ now: Date.parse('2026-03-01T00:00:59.500Z') });
    const warn = vi.fn();
    const runs: Array<{ slot: string | null; at: number }> = [];
    const plugin = track(
      new SchedulerPlugin({
        clock,
        logger: { warn, error: vi.fn() },
        jobs: {
          tick: {
            schedule: '* * * * *',
            action: (_db, ctx) => void runs.push({ slot: ctx.slot, at: clock!.now() }),
          },
        },
      }),
    );
    const started = clock.now();
    await plugin.start();
    await clock.advance(1_000);
    expect(runs).toEqual([{ slot: '2026-03-01T00:01:00.000Z', at: Date.parse('2026-03-01T00:01:00.000Z') }]);
    expect(runs[0]!.at - started).toBeLessThan(1_000);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/process/);
    await plugin.stop();
    await plugin.start();
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('on a shared store, slots due in the cold-start window are caught up under the policy and the rest reported', async () => {
    clock = new ManualClock({ now: Date.parse('2026-03-01T00:00:50Z') });
    const store = new SharedLookingStore(new MemoryStore());
    const runs: string[] = [];
    const skipped: Skipped[] = [];
    const plugin = track(
      new SchedulerPlugin({
        store,
        clock,
        workerId: 'w',
        logger: null,
        coldStartObservationWindow: 3 * MINUTE,
        jobs: {
          tick: { schedule: '* * * * *', action: (_db, ctx) => void runs.push(`${ctx.slot} ${ctx.trigger}`) },
        },
      }),
    );
    plugin.on('plg:scheduler:job-skipped', (event) => void skipped.push(event));
    await plugin.start();
    await clock.advance(3 * MINUTE + 5_000);
    expect(plugin.isLeader()).toBe(true);
    // 00:01, 00:02 and 00:03 came while it observed: the newest is caught up, the others reported.
    expect(runs).toEqual(['2026-03-01T00:03:00.000Z catch-up']);
    expect(skipped.map((event) => [event.slot, event.reason])).toEqual([
      ['2026-03-01T00:01:00.000Z', 'missed'],
      ['2026-03-01T00:02:00.000Z', 'missed'],
    ]);
    expect((await plugin.describe('tick')).counters.missedBeyondCatchUp).toBe(2);
  });
});

describe('no slot silently lost', () => {
  function minutely(store: ObjectStore, workerId: string, runs: string[], extra: Partial<JobConfig> = {}) {
    return new SchedulerPlugin({
      store,
      clock: clock!,
      workerId,
      heartbeatInterval: 5_000,
      coldStartObservationWindow: 1_000,
      logger: null,
      jobs: {
        tick: {
          schedule: '* * * * *',
          ...extra,
          action: (_db, ctx) => void runs.push(`${ctx.slot} ${ctx.trigger} ${workerId}`),
        },
      },
    });
  }

  it('one instance stops; three hours later another runs the latest slot and reports the missed ones', async () => {
    clock = new ManualClock({ now: START });
    const shared = new MemoryStore();
    const runs: string[] = [];
    const a = track(minutely(shared, 'a', runs));
    await a.start();
    await clock.advance(2 * MINUTE);
    expect(runs).toEqual(['2026-03-01T00:01:00.000Z schedule a', '2026-03-01T00:02:00.000Z schedule a']);
    await a.stop();
    await clock.advance(3 * 60 * MINUTE);
    const b = track(minutely(shared, 'b', runs));
    const skipped: Skipped[] = [];
    b.on('plg:scheduler:job-skipped', (event) => void skipped.push(event));
    await b.start();
    await clock.advance(5_000);
    expect(runs.slice(2)).toEqual(['2026-03-01T03:02:00.000Z catch-up b']);
    expect(skipped).toHaveLength(179);
    expect(skipped.every((event) => event.reason === 'missed')).toBe(true);
    expect(skipped[0]!.slot).toBe('2026-03-01T00:03:00.000Z');
    expect(skipped.at(-1)!.slot).toBe('2026-03-01T03:01:00.000Z');
    expect((await b.describe('tick')).counters.missedBeyondCatchUp).toBe(179);
  });

  it('a leader whose own timer woke late reports the gap', async () => {
    clock = new ManualClock({ now: START });
    const runs: string[] = [];
    const a = track(minutely(new MemoryStore(), 'a', runs));
    const skipped: Skipped[] = [];
    a.on('plg:scheduler:job-skipped', (event) => void skipped.push(event));
    await a.start();
    await clock.advance(MINUTE);
    expect(a.isLeader()).toBe(true);
    // The process was frozen: the wall clock moved ten minutes while no timer fired.
    clock.setWallTime(clock.now() + 10 * MINUTE);
    await clock.advance(MINUTE);
    expect(runs.at(-1)).toBe('2026-03-01T00:12:00.000Z schedule a');
    expect(skipped.map((event) => event.reason)).toEqual(Array(10).fill('missed'));
    expect(skipped[0]!.slot).toBe('2026-03-01T00:02:00.000Z');
    expect((await a.describe('tick')).counters.missedBeyondCatchUp).toBe(10);
  });

  it('a leader killed a few seconds before a slot: the new leader runs it once, as catch-up; with catchUp none it is reported', async () => {
    for (const catchUp of ['latest', 'none'] as const) {
      clock = new ManualClock({ now: START });
      const shared = new MemoryStore();
      const runs: string[] = [];
      const stores = [new GatedStore(shared), new GatedStore(shared)];
      const a = minutely(stores[0]!, 'a', runs, { catchUp });
      const b = track(minutely(stores[1]!, 'b', runs, { catchUp }));
      const skipped: Skipped[] = [];
      b.on('plg:scheduler:job-skipped', (event) => void skipped.push(event));
      await a.start();
      await clock.advance(2_000);
      await b.start();
      await clock.advance(25_000); // 00:00:57
      expect(a.isLeader()).toBe(true);
      stores[0]!.kill(); // three seconds before 00:01:00; a dead process is never stopped
      await clock.advance(2 * MINUTE);
      expect(b.isLeader()).toBe(true);
      const first = runs.find((run) => run.startsWith('2026-03-01T00:01:00.000Z'));
      if (catchUp === 'latest') {
        expect(first).toBe('2026-03-01T00:01:00.000Z catch-up b');
        expect(skipped).toEqual([]);
      } else {
        expect(first).toBeUndefined();
        expect(skipped.map((event) => [event.slot, event.reason])).toEqual([
          ['2026-03-01T00:01:00.000Z', 'missed'],
        ]);
      }
      expect(runs.filter((run) => run.startsWith('2026-03-01T00:02:00.000Z'))).toEqual([
        '2026-03-01T00:02:00.000Z schedule b',
      ]);
      await stopAll(plugins, clock);
    }
  });
});

describe('the host database', () => {
  it('reads an s3db.js database on S3, on an http endpoint, on memory, and before connect()', () => {
    const s3 = readHostStorage(
      {
        client: {
          config: {
            bucket: 'b',
            keyPrefix: 'app/',
            endpoint: 'https://s3.us-east-1.amazonaws.com',
            region: 'us-east-1',
            accessKeyId: 'AK',
            secretAccessKey: 'SECRET',
          },
        },
      },
      'plugin=scheduler/',
    );
    expect(s3).toMatchObject({
      kind: 's3',
      bucket: 'b',
      prefix: 'app/plugin=scheduler/',
      endpoint: undefined,
    });
    expect(JSON.stringify(s3)).not.toContain('SECRET');
    expect(s3?.kind === 's3' && s3.credentials).toEqual({ accessKeyId: 'AK', secretAccessKey: 'SECRET' });
    expect(
      readHostStorage({ connectionString: 'http://k:s@127.0.0.1:7480/bucket/my/app' }, 'plugin=scheduler/'),
    ).toMatchObject({
      kind: 's3',
      bucket: 'bucket',
      prefix: 'my/app/plugin=scheduler/',
      endpoint: 'http://127.0.0.1:7480',
      forcePathStyle: true,
    });
    expect(
      readHostStorage(
        { client: { config: { bucket: 'm', keyPrefix: '', endpoint: 'memory://' } } },
        'plugin=scheduler/',
      ),
    ).toMatchObject({ kind: 'memory', bucket: 'm', prefix: 'plugin=scheduler/' });
    expect(readHostStorage({ connectionString: 'sqlite://./data.db' }, 'plugin=scheduler/')).toMatchObject({
      kind: 'unsupported',
    });
    expect(readHostStorage({ resources: {} }, 'plugin=scheduler/')).toBeUndefined();
    expect(readHostStorage(undefined, 'plugin=scheduler/')).toBeUndefined();
  });

  it('a database on memory:// maps to the embedded bucket of the same name, under its prefix plus plugin=scheduler/', async () => {
    clock = new ManualClock({ now: START });
    MemoryStore.resetBucket('host-bucket');
    const db = { client: { config: { bucket: 'host-bucket', keyPrefix: 'app', endpoint: 'memory://' } } };
    const plugin = track(new SchedulerPlugin<typeof db>({ clock, logger: null, jobs: {} }));
    await plugin.install(db);
    await plugin.start();
    const keys = (await new MemoryStore({ bucket: 'host-bucket' }).list('')).objects.map((o) => o.key);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.every((key) => key.startsWith('app/plugin=scheduler/'))).toBe(true);
  });

  it('refuses to start on the process-local store inside a host whose storage is shared', async () => {
    clock = new ManualClock({ now: START });
    const s3db = {
      client: {
        config: {
          bucket: 'b',
          keyPrefix: '',
          endpoint: 'http://127.0.0.1:1',
          accessKeyId: 'k',
          secretAccessKey: 's',
        },
      },
    };
    const explicitMemory = track(
      new SchedulerPlugin({ clock, logger: null, connectionString: 'memory://x/y', jobs: {} }),
    );
    await explicitMemory.install(s3db);
    await expect(explicitMemory.start()).rejects.toMatchObject({
      code: 'STORE_UNSAFE',
      suggestion: expect.stringContaining('connectionString'),
    });
    expect(explicitMemory.isStarted).toBe(false);
    const sqlite = track(new SchedulerPlugin({ clock, logger: null, jobs: {} }));
    await sqlite.install({
      client: { config: { bucket: 's3db', clientType: 'sqlite', endpoint: 'sqlite://x' } },
    });
    await expect(sqlite.start()).rejects.toMatchObject({ code: 'STORE_UNSAFE' });
  });

  it('types the database actions receive (default unknown)', () => {
    interface Db {
      resources: { users: { count(): Promise<number> } };
    }
    const typed = new SchedulerPlugin<Db>({
      logger: null,
      jobs: {
        count: {
          schedule: '* * * * *',
          action: async (database, context) => {
            expectTypeOf(database).toEqualTypeOf<Db>();
            expectTypeOf(context).toEqualTypeOf<JobContext>();
            return database.resources.users.count();
          },
        },
      },
    });
    expectTypeOf(typed.install).parameter(0).toEqualTypeOf<Db | undefined>();
    expectTypeOf(typed.addJob).parameter(1).toEqualTypeOf<JobConfig<Db>>();
    const untyped = new SchedulerPlugin({
      jobs: { x: { schedule: null, action: (database) => expectTypeOf(database).toEqualTypeOf<unknown>() } },
    });
    expectTypeOf(untyped).toEqualTypeOf<SchedulerPlugin<unknown>>();
  });
});

describe('slots claimed late', () => {
  it('a caught-up slot that waited behind a running run, or in the overlap buffer, is recorded catch-up', async () => {
    clock = new ManualClock({ now: START });
    const shared = new MemoryStore();
    const runs: string[] = [];
    const make = (workerId: string) =>
      track(
        new SchedulerPlugin({
          store: shared,
          clock: clock!,
          workerId,
          heartbeatInterval: 5_000,
          coldStartObservationWindow: 1_000,
          logger: null,
          jobs: {
            slow: {
              schedule: '* * * * *',
              catchUp: 'all',
              overlap: 'buffer-all',
              action: async (_db, ctx) => {
                runs.push(`${ctx.slot} ${ctx.trigger}`);
                await clock!.sleep(20_000, ctx.signal).catch(() => undefined);
              },
            },
          },
        }),
      );
    const a = make('a');
    await a.start();
    await clock.advance(MINUTE);
    await a.stop();
    await clock.advance(3 * MINUTE); // 00:04:30: 00:02, 00:03 and 00:04 ran nowhere
    const b = make('b');
    await b.start();
    await clock.advance(2 * MINUTE);
    expect(runs).toEqual([
      '2026-03-01T00:01:00.000Z schedule',
      '2026-03-01T00:02:00.000Z catch-up',
      '2026-03-01T00:03:00.000Z catch-up',
      '2026-03-01T00:04:00.000Z catch-up',
      // Came while 00:04 ran: waited in the buffer and ran 20 s late.
      '2026-03-01T00:05:00.000Z catch-up',
      // On time again.
      '2026-03-01T00:06:00.000Z schedule',
    ]);
  });
});

describe('the host database installed late', () => {
  it('a store opened before install(db) (a call before usePlugin) gives way to the host storage', async () => {
    clock = new ManualClock({ now: START });
    MemoryStore.resetBucket('late-host');
    const plugin = track(
      new SchedulerPlugin({
        clock,
        logger: null,
        jobs: { a: { schedule: '* * * * *', action: () => undefined } },
      }),
    );
    await plugin.pauseJob('a'); // opens the embedded default store
    await plugin.install({
      client: { config: { bucket: 'late-host', keyPrefix: 'app', endpoint: 'memory://' } },
    });
    await plugin.start();
    const keys = (await new MemoryStore({ bucket: 'late-host' }).list('')).objects.map((o) => o.key);
    expect(keys.some((key) => key.startsWith('app/plugin=scheduler/'))).toBe(true);
  });

  it('removeJob racing with a due slot: the removed job does not run', async () => {
    clock = new ManualClock({ now: Date.parse('2026-03-01T00:00:59Z') });
    const runs: string[] = [];
    const plugin = track(
      new SchedulerPlugin({
        store: new MemoryStore(),
        clock,
        logger: null,
        jobs: { a: { schedule: '* * * * *', action: (_db, ctx) => void runs.push(ctx.slot!) } },
      }),
    );
    await plugin.start();
    await clock.advance(999);
    const removing = plugin.removeJob('a');
    await clock.advance(2_000);
    await removing;
    expect(runs).toEqual([]);
    await plugin.addJob('a', { schedule: '* * * * *', action: (_db, ctx) => void runs.push(ctx.slot!) });
    await clock.advance(MINUTE);
    expect(runs).toEqual(['2026-03-01T00:02:00.000Z']);
  });
});

const s3 = await s3TestBackend();
const env = s3TestEnv();
describe.runIf(s3 !== undefined)('an s3db.js-like host on the real S3 server', () => {
  it('two instances installed into hosts on one bucket share one scheduler, under the host prefix plus plugin=scheduler/', {
    timeout: 60_000,
  }, async () => {
    const prefix = `${uniqueTestPrefix()}app`;
    // What an s3db.js Database on `http://key:secret@host/bucket/prefix` exposes as `db.client.config`.
    const host = () => ({
      client: {
        config: {
          bucket: env!.bucket,
          keyPrefix: prefix,
          endpoint: env!.endpoint,
          region: env!.region,
          forcePathStyle: true,
          accessKeyId: env!.accessKeyId,
          secretAccessKey: env!.secretAccessKey,
        },
      },
    });
    const log: string[] = [];
    const make = (workerId: string) =>
      new SchedulerPlugin<ReturnType<typeof host>>({
        workerId,
        logger: null,
        jobs: {
          once: {
            schedule: null,
            action: async (database, ctx) => {
              log.push(`${ctx.workerId} ${database.client.config.keyPrefix === prefix}`);
              await new Promise<void>((resolve) => setImmediate(resolve));
            },
          },
        },
      });
    const [a, b] = [make('a'), make('b')];
    try {
      await a.install(host());
      await b.install(host());
      await Promise.all([a.start(), b.start()]);
      await a.runJob('once');
      // b sees a's run in the shared history: one store, not two process-local ones.
      const history = await b.getJobHistory('once');
      expect(history.map((entry) => entry.workerId)).toEqual(['a']);
      expect(log).toEqual(['a true']);
      const keys = (await s3!.list(`${prefix}/plugin=scheduler/`, { limit: 1000 })).objects.map((o) => o.key);
      expect(keys.some((key) => key.includes('/plugin=scheduler/history/'))).toBe(true);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
