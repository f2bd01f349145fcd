import type { ManualClock } from '@s3-scheduler/core/testing';
import { ForwardingStore, MemoryStore, type ObjectStore, type StoreOperation } from '@s3-scheduler/storage';
import { GatedStore, RealStoreStepper, s3TestStore } from '@s3-scheduler/storage/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { SchedulerPlugin } from './scheduler-plugin.js';
import { SharedBucket, type SharedBucketOptions } from './testing/index.js';

const START = Date.parse('2026-03-01T00:00:30Z');
const MINUTE = 60_000;
/** The cluster of the test running now: stopped after it (a leader's stop() takes clock time). */
let current: SharedBucket | undefined;

afterEach(async () => {
  await current?.stop();
  current = undefined;
});

/** Instances on `bucket`, each seeing it through a `GatedStore` (to kill one). */
function gatedCluster(options: SharedBucketOptions): {
  cluster: SharedBucket;
  gates: Map<string, GatedStore>;
} {
  const cluster = new SharedBucket({ start: START, ...options });
  const gates = new Map<string, GatedStore>();
  cluster.wrapStore = (store, workerId) => {
    const gate = new GatedStore(store);
    gates.set(workerId, gate);
    return gate;
  };
  current = cluster;
  return { cluster, gates };
}

interface Cluster {
  clock: ManualClock;
  /** Moves time; on a real server in steps, letting every request in flight finish first. */
  advance(ms: number): Promise<void>;
  instances: Array<{ plugin: SchedulerPlugin; store: GatedStore }>;
  executions: Map<string, string[]>;
}

/** Three instances with the same job set on one store, as three processes would be. */
async function startCluster(shared: ObjectStore, stepped: boolean, size = 3): Promise<Cluster> {
  const executions = new Map<string, string[]>();
  const { cluster, gates } = gatedCluster({
    bucket: shared,
    instance: () => ({
      jobs: {
        minutely: {
          schedule: '* * * * *',
          action: (_db, context) => {
            const slot = context.slot!;
            executions.set(slot, [...(executions.get(slot) ?? []), context.workerId]);
          },
        },
      },
    }),
  });
  const instances: Cluster['instances'] = [];
  for (let i = 0; i < size; i++) {
    const plugin = cluster.add(`worker-${i}`);
    instances.push({ plugin, store: gates.get(`worker-${i}`)! });
  }
  await cluster.start();
  const { clock } = cluster;
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
  current!.plugins.splice(current!.plugins.indexOf(first.plugin), 1); // a dead process is never stopped
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
    const runs: string[] = [];
    current = new SharedBucket({
      bucket: new MemoryStore(),
      start: START,
      instance: () => ({
        enableCoordinator: false,
        jobs: { tick: { schedule: '* * * * *', action: (_db, ctx) => void runs.push(ctx.slot!) } },
      }),
    });
    const { clock } = current;
    for (const workerId of ['a', 'b']) {
      const plugin = current.add(workerId);
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
    const runs: string[] = [];
    const { cluster, gates } = gatedCluster({
      bucket: new MemoryStore(),
      instance: () => ({
        heartbeatInterval: 20_000,
        leaseDuration: 60_000, // the failover takes longer than a minute
        coldStartObservationWindow: 1_000,
        jobs: {
          fresh: {
            schedule: '* * * * *',
            action: (_db, ctx) => void runs.push(`${ctx.workerId} ${ctx.slot}`),
          },
        },
      }),
    });
    const { clock } = cluster;
    const first = cluster.add('w0', { skipColdStart: true });
    const second = cluster.add('w1');
    const stores = [gates.get('w0'), gates.get('w1')];
    await first.start();
    await second.start();
    await clock.advance(10_000);
    expect(first.isLeader()).toBe(true);
    stores[0]!.kill(); // 00:00:40: the leader dies before the job ever ran
    cluster.plugins.splice(cluster.plugins.indexOf(first), 1); // a dead process is never stopped
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

/** Passes every request on, telling `onList` each listed prefix. */
class ListRecorder extends ForwardingStore {
  constructor(
    inner: ObjectStore,
    private readonly onList: (prefix: string) => void,
  ) {
    super(inner);
  }
  protected override around<T>(operation: StoreOperation, key: string, request: () => Promise<T>) {
    if (operation === 'list') this.onList(key);
    return request();
  }
}

describe('idle cost of job documents (issue 20)', () => {
  it('nobody lists jobs/ while nothing changes; a follower’s change reaches the leader and the other follower', async () => {
    const lists = new Map<string, string[]>();
    const cluster = new SharedBucket({
      start: START,
      instance: () => ({ jobs: { daily: { schedule: '0 3 * * *', action: () => undefined } } }),
    });
    cluster.wrapStore = (store, workerId) =>
      new ListRecorder(store, (prefix) => lists.get(workerId)!.push(prefix));
    current = cluster;
    for (const id of ['w0', 'w1', 'w2']) {
      lists.set(id, []);
      cluster.add(id);
    }
    await cluster.start();
    await cluster.until(() => cluster.leader() !== undefined);
    await cluster.advance(2 * MINUTE);
    for (const listed of lists.values()) listed.length = 0;
    await cluster.advance(90_000); // 18 heartbeats of 5 s
    for (const listed of lists.values()) {
      // main listed jobs/ at each of them: now at most the periodic sweep or backstop (every 20).
      expect(listed.filter((prefix) => prefix.endsWith('jobs/')).length).toBeLessThanOrEqual(1);
      expect(listed.filter((prefix) => prefix.endsWith('requests/')).length).toBeLessThanOrEqual(1);
    }
    const leader = cluster.leader()!;
    const [follower, other] = cluster.plugins.filter((plugin) => plugin !== leader);
    await follower!.updateJob('daily', { schedule: '0 4 * * *' });
    // The leader sees the change signal at its next heartbeat (5 s); the other follower sees the
    // leader's new digest at a renewal after that (9 s) and lists at its next heartbeat (5 s).
    await cluster.advance(20_000);
    expect((await leader.describe('daily')).schedule).toBe('0 4 * * *');
    expect((await other!.describe('daily')).schedule).toBe('0 4 * * *');
  });
});
