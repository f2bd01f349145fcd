import { ManualClock } from '@s3-scheduler/core/testing';
import { HistoryKeys } from '@s3-scheduler/history';
import {
  ForwardingStore,
  MemoryStore,
  type ObjectStore,
  type StoreOperation,
  storeUnavailable,
} from '@s3-scheduler/storage';
import { GatedStore, RefusedWrites } from '@s3-scheduler/storage/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_LAYOUT } from '../layout.js';
import { SchedulerPlugin } from '../scheduler-plugin.js';
import { stopAll } from '../test-support/stop-all.js';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HEARTBEAT = 5 * SECOND;
const START = Date.parse('2026-03-01T00:58:30Z');
const LONG_SLOT = '2026-03-01T00:59:00.000Z';
let clock: ManualClock;
const live: SchedulerPlugin[] = [];

afterEach(() => stopAll(live, clock));

/** Listings of history fail while `failing` (a store answering 503 to them). */
class FailingHistoryLists extends ForwardingStore {
  failing = false;

  protected override around<T>(operation: StoreOperation, key: string, request: () => Promise<T>) {
    if (this.failing && operation === 'list' && key.includes('/history/'))
      return Promise.reject(storeUnavailable('list', key, { statusCode: 503 }));
    return request();
  }
}

/**
 * Instances `a` (it leads: no cold start) and `b` on one bucket, through `aStore` and `bStore`,
 * with job `tick` every minute: its LONG_SLOT run lasts an hour, the others end at once. `b` is
 * stopped after the test; `a` is killed by the test (`aStore.kill()`) and never stopped.
 */
function twoInstances(aStore: GatedStore, bStore: ObjectStore, heartbeatInterval: number) {
  const [a, b] = (['a', 'b'] as const).map(
    (workerId) =>
      new SchedulerPlugin({
        store: workerId === 'a' ? aStore : bStore,
        clock,
        workerId,
        heartbeatInterval,
        skipColdStart: workerId === 'a',
        coldStartObservationWindow: SECOND,
        logger: null,
        jobs: {
          tick: {
            schedule: '* * * * *',
            overlap: 'allow',
            recovery: 'abandon',
            timeout: 2 * 60 * MINUTE,
            action: async (_db, ctx) => {
              if (ctx.slot === LONG_SLOT) await clock.sleep(60 * MINUTE).catch(() => undefined);
            },
          },
        },
      }),
  ) as [SchedulerPlugin, SchedulerPlugin];
  live.push(b);
  return { a, b };
}

describe('recovery of the runs of departed instances', () => {
  it('a recovery of a departure that failed is tried again at the next leader heartbeat', async () => {
    // The leader dies with an old run still `running` (not among the newest runs the promotion's
    // catch-up reads): only the departure sweep at the successor's heartbeat finds it. When that
    // sweep failed (a 503), the departure was forgotten and the run stayed `running` for good.
    clock = new ManualClock({ now: START });
    const shared = new MemoryStore({ clock });
    const aStore = new GatedStore(shared);
    const bStore = new FailingHistoryLists(shared);
    const abandoned: string[] = [];
    const errors: string[] = [];
    const { a, b } = twoInstances(aStore, bStore, HEARTBEAT); // a dies below, never stopped
    b.on('plg:scheduler:job-abandoned', (event) => abandoned.push(`${event.previousWorkerId} ${event.slot}`));
    b.on('plg:scheduler:error', (event) => errors.push(event.operation));
    // From b's promotion on, its listings of history fail until the test says otherwise.
    b.on('plg:scheduler:coordinator-promoted', () => {
      bStore.failing = true;
    });
    await a.start();
    await b.start();
    await clock.advanceTo(Date.parse('2026-03-01T01:03:30Z'));
    expect(a.isLeader()).toBe(true);
    const running = async () =>
      (await b.getJobHistory('tick')).filter((run) => run.status === 'running').map((run) => run.slot);
    expect(await running()).toEqual([LONG_SLOT]); // and 01:00–01:03 ran after it
    aStore.kill(); // the leader dies mid-run
    for (let i = 0; i < 120 && !b.isLeader(); i++) await clock.advance(SECOND);
    expect(b.isLeader()).toBe(true);
    await clock.advance(HEARTBEAT); // b's first heartbeat as leader: the departure sweep fails
    expect(errors).toContain('maintenance');
    expect(abandoned).toEqual([]);
    bStore.failing = false;
    await clock.advance(HEARTBEAT); // the next one tries again
    expect(abandoned).toEqual([`a ${LONG_SLOT}`]);
    expect(await running()).toEqual([]);
  });

  it('a refused recovery is tried again after a back-off, not a heartbeat later (simulation seed 316)', async () => {
    // The run's abandon write refused twice in a row (a 503, then a 409): with the next attempt
    // only at the next leader heartbeat, the run stayed `running` under a dead instance for
    // minutes. Here the heartbeat is a minute.
    const heartbeat = MINUTE;
    clock = new ManualClock({ now: START });
    const shared = new MemoryStore({ clock });
    const aStore = new GatedStore(shared);
    let longKey = '';
    const recoverErrors: number[] = [];
    // The run's writes are refused (past the store's own retries) until two recoveries failed.
    const bStore = new RefusedWrites(shared, (key) => key === longKey && recoverErrors.length < 2);
    const abandoned: number[] = [];
    const { a, b } = twoInstances(aStore, bStore, heartbeat); // a dies below, never stopped
    b.on('plg:scheduler:job-abandoned', () => void abandoned.push(clock.now()));
    b.on('plg:scheduler:error', (event) => {
      if (event.operation === 'recover') recoverErrors.push(clock.now());
    });
    await a.start();
    await b.start();
    await clock.advanceTo(Date.parse('2026-03-01T01:03:30Z'));
    expect(a.isLeader()).toBe(true);
    longKey = new HistoryKeys(DEFAULT_LAYOUT.inBucket(DEFAULT_LAYOUT.history)).run('tick', {
      slotMs: Date.parse(LONG_SLOT),
    });
    aStore.kill(); // the leader dies mid-run
    for (let i = 0; i < 10 * 60 && abandoned.length === 0; i++) await clock.advance(SECOND);
    expect(b.isLeader()).toBe(true);
    expect(recoverErrors).toHaveLength(2);
    expect(abandoned).toHaveLength(1);
    // Tried again a back-off step after each refusal (1 s, then 2 s, plus the store's own
    // retries), not a heartbeat later: recovered well within one heartbeat of the first refusal.
    expect(abandoned[0]! - recoverErrors[0]!).toBeLessThan(heartbeat / 2);
    const running = (await b.getJobHistory('tick')).filter((run) => run.status === 'running');
    expect(running).toEqual([]);
  });
});
