import { ManualClock } from '@s3-scheduler/core/testing';
import { MemoryStore, type ObjectStore } from '@s3-scheduler/storage';
import { GatedStore, RealStoreStepper, s3TestStore } from '@s3-scheduler/storage/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { SchedulerPlugin } from './scheduler-plugin.js';
import { stopAll } from './test-support/stop-all.js';

const START = Date.parse('2026-03-01T00:00:30Z');
const MINUTE = 60_000;
const plugins: SchedulerPlugin[] = [];
/** The clock of the test running now: a leader's stop() hands over, which takes clock time. */
let clockOfTest: ManualClock | undefined;

afterEach(async () => {
  await stopAll(plugins, clockOfTest);
});

interface Cluster {
  clock: ManualClock;
  /** Moves time; on a real server in steps, letting every request in flight finish first. */
  advance(ms: number): Promise<void>;
  instances: Array<{ plugin: SchedulerPlugin; store: GatedStore }>;
  executions: Map<string, string[]>;
}

/** Three instances with the same job set on one store, as three processes would be. */
async function startCluster(shared: ObjectStore, stepped: boolean, size = 3): Promise<Cluster> {
  const clock = new ManualClock({ now: START });
  clockOfTest = clock;
  const executions = new Map<string, string[]>();
  const instances: Cluster['instances'] = [];
  for (let i = 0; i < size; i++) {
    const store = new GatedStore(shared);
    const plugin = new SchedulerPlugin({
      store,
      clock,
      workerId: `worker-${i}`,
      heartbeatInterval: 5_000,
      coldStartObservationWindow: 10_000,
      logger: null,
      jobs: {
        minutely: {
          schedule: '* * * * *',
          action: (_db, context) => {
            const slot = context.slot!;
            executions.set(slot, [...(executions.get(slot) ?? []), context.workerId]);
          },
        },
      },
    });
    plugins.push(plugin);
    instances.push({ plugin, store });
  }
  await Promise.all(instances.map(({ plugin }) => plugin.start()));
  const time = new RealStoreStepper(clock, () => instances.map(({ store }) => store), 1000);
  const advance = (ms: number) => (stepped ? time.advance(ms) : clock.advance(ms));
  return { clock, advance, instances, executions };
}

function leaders(cluster: Cluster) {
  return cluster.instances.filter(({ plugin }) => plugin.isLeader());
}

/**
 * Cold start, `leadMinutes` under the first leader, its crash, `afterMinutes` more. On the real
 * server time moves from timer to timer, each time once every request is answered
 * (`RealStoreStepper`), which costs wall time per timer, so that run is shorter: it proves the
 * same on S3 with fewer slots.
 */
async function runClusterScenario(
  shared: ObjectStore,
  { stepped = false, leadMinutes = 10, afterMinutes = 20 } = {},
) {
  const cluster = await startCluster(shared, stepped);
  const { advance, executions } = cluster;
  // Cold start: nobody leads during the observation window, then exactly one instance does.
  expect(leaders(cluster)).toHaveLength(0);
  await advance(20_000);
  expect(leaders(cluster)).toHaveLength(1);
  // To 35 s before a slot, so that slot falls into the failover (at least half a lease plus margin).
  await advance(leadMinutes * MINUTE + 5_000);
  const first = leaders(cluster)[0]!;
  const firstEpoch = first.plugin.getEpoch();
  // The leader dies without releasing anything: its requests hang from now on.
  first.store.kill();
  plugins.splice(plugins.indexOf(first.plugin), 1); // a dead process is never stopped
  await advance(afterMinutes * MINUTE);
  const survivors = leaders(cluster).filter((instance) => instance !== first);
  expect(survivors).toHaveLength(1);
  expect(survivors[0]!.plugin.getEpoch()).toBeGreaterThan(firstEpoch);

  const slots = [...executions.keys()].sort();
  // Every minute from the first slot after the cold start to the last one ran exactly once.
  const expected: string[] = [];
  for (let at = Date.parse(slots[0]!); at <= Date.parse(slots.at(-1)!); at += MINUTE) {
    expected.push(new Date(at).toISOString());
  }
  expect(slots).toEqual(expected);
  expect(slots.length).toBeGreaterThanOrEqual(leadMinutes + afterMinutes - 1);
  for (const [slot, workers] of executions) expect(workers, slot).toHaveLength(1);
  // The slot that fell into the hand-over gap was caught up by the new leader.
  const history = await survivors[0]!.plugin.getJobHistory('minutely', { limit: 100 });
  expect(history.some((entry) => entry.trigger === 'catch-up')).toBe(true);
  expect(new Set(history.map((entry) => entry.slot)).size).toBe(history.length);
}

describe('three instances sharing one store', () => {
  it('on the memory store: one leader, no slot twice, none lost across a crash of the leader', async () => {
    await runClusterScenario(new MemoryStore());
  });

  it('two instances that both believe they lead still run each slot once (slot claims)', async () => {
    const clock = new ManualClock({ now: START });
    clockOfTest = clock;
    const shared = new MemoryStore();
    const runs: string[] = [];
    for (const workerId of ['a', 'b']) {
      const plugin = new SchedulerPlugin({
        store: shared,
        clock,
        workerId,
        enableCoordinator: false,
        logger: null,
        jobs: { tick: { schedule: '* * * * *', action: (_db, ctx) => void runs.push(ctx.slot!) } },
      });
      plugins.push(plugin);
      await plugin.start();
      expect(plugin.isLeader()).toBe(true);
    }
    await clock.advance(10 * MINUTE);
    expect(runs).toHaveLength(10);
    expect(new Set(runs).size).toBe(10);
  });
});

describe('catch-up of a job that never ran', () => {
  it('a first slot that falls into a hand-over is caught up by the new leader', async () => {
    const clock = new ManualClock({ now: START });
    clockOfTest = clock;
    const shared = new MemoryStore();
    const runs: string[] = [];
    const stores = ['w0', 'w1'].map(() => new GatedStore(shared));
    const [first, second] = ['w0', 'w1'].map((workerId, i) => {
      const plugin = new SchedulerPlugin({
        store: stores[i]!,
        clock,
        workerId,
        heartbeatInterval: 20_000,
        leaseDuration: 60_000, // the failover takes longer than a minute
        skipColdStart: i === 0,
        coldStartObservationWindow: 1_000,
        logger: null,
        jobs: {
          fresh: {
            schedule: '* * * * *',
            action: (_db, ctx) => void runs.push(`${ctx.workerId} ${ctx.slot}`),
          },
        },
      });
      return plugin;
    }) as [SchedulerPlugin, SchedulerPlugin];
    plugins.push(second);
    await first.start();
    await second.start();
    await clock.advance(10_000);
    expect(first.isLeader()).toBe(true);
    stores[0]!.kill(); // 00:00:40: the leader dies before the job ever ran
    await clock.advance(3 * MINUTE);
    expect(second.isLeader()).toBe(true);
    expect(runs).toEqual([
      'w1 2026-03-01T00:01:00.000Z',
      'w1 2026-03-01T00:02:00.000Z',
      'w1 2026-03-01T00:03:00.000Z',
    ]);
    const [oldest] = (await second.getJobHistory('fresh')).reverse();
    expect(oldest).toMatchObject({ slot: '2026-03-01T00:01:00.000Z', trigger: 'catch-up' });
  });
});

const s3 = await s3TestStore({ prefix: 'plugin-cluster/' });
describe.runIf(s3 !== undefined)('three instances sharing the real S3 server', () => {
  it('one leader, no slot twice, none lost across a crash of the leader', async () => {
    await runClusterScenario(s3!, { stepped: true, leadMinutes: 3, afterMinutes: 4 });
  });
});
