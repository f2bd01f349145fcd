import { SchedulerError } from '@s3-scheduler/core';
import { ManualClock } from '@s3-scheduler/core/testing';
import { MemoryStore, type ObjectStore } from '@s3-scheduler/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { SchedulerPlugin } from '../scheduler-plugin.js';
import { stopAll } from '../test-support/stop-all.js';

const START = Date.parse('2026-03-01T00:00:30Z');
const MINUTE = 60_000;
const live: SchedulerPlugin[] = [];
let currentClock: ManualClock | undefined;

afterEach(() => stopAll(live, currentClock));

const at = (minute: number) => new Date(Date.parse('2026-03-01T00:00:00Z') + minute * MINUTE).toISOString();

let failedMarkerDeletes = 0;

/** A store whose deletes of `active/` markers fail, as a 500 from the server would. */
function failingMarkerDeletes(inner: ObjectStore): ObjectStore {
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (property === 'delete') {
        return (key: string, options?: unknown) => {
          if (key.includes('active/')) {
            failedMarkerDeletes++;
            return Promise.reject(
              new SchedulerError(`Store request delete '${key}' failed: serverError500`, {
                code: 'STORE_UNAVAILABLE',
                operation: 'delete',
                retriable: true,
              }),
            );
          }
          return (target.delete as (key: string, options?: unknown) => Promise<unknown>)(key, options);
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * Two instances with one `skip` job whose runs last `durationMs` each; `w0` leads. Slots as the
 * actions saw them, and the history (oldest first).
 */
async function twoInstances(options: {
  durationMs: (slot: string | null) => number;
  heartbeatInterval?: number;
  stores?: (shared: MemoryStore) => ObjectStore[];
}) {
  const clock = new ManualClock({ now: START });
  currentClock = clock;
  const shared = new MemoryStore();
  const stores = options.stores?.(shared) ?? [shared, shared];
  const executions: string[] = [];
  const running = new Set<string>();
  let overlaps = 0;
  const plugins = ['w0', 'w1'].map(
    (workerId, i) =>
      new SchedulerPlugin({
        store: stores[i]!,
        clock,
        workerId,
        heartbeatInterval: options.heartbeatInterval ?? 5_000,
        skipColdStart: i === 0,
        coldStartObservationWindow: 1_000,
        stopTimeout: 30 * MINUTE,
        logger: null,
        jobs: {
          job: {
            schedule: '* * * * *',
            overlap: 'skip',
            catchUp: 'all',
            timeout: 0,
            action: async (_db, context) => {
              const name = `${context.workerId} ${context.slot ?? 'manual'}`;
              executions.push(name);
              if (running.size > 0) overlaps++;
              running.add(name);
              await clock.sleep(options.durationMs(context.slot));
              running.delete(name);
            },
          },
        },
      }),
  ) as [SchedulerPlugin, SchedulerPlugin];
  for (const plugin of plugins) {
    live.push(plugin);
    await plugin.start();
    await clock.advance(1);
  }
  await clock.advance(5_000);
  expect(plugins[0].isLeader()).toBe(true);
  const history = async () =>
    (await plugins[1].getJobHistory('job', { limit: 100 }))
      .map((entry) => `${entry.slot ?? 'manual'} ${entry.workerId} ${entry.status}`)
      .reverse();
  const markers = async () =>
    (await shared.list('plugin=scheduler/active/')).objects.map((object) => object.key);
  return { clock, plugins, executions, overlaps: () => overlaps, history, markers };
}

describe('runs on other instances, as the leader sees them for overlap', () => {
  it('a marker whose delete failed does not keep the job busy: the leader deletes it (seeds 208, 214)', async () => {
    failedMarkerDeletes = 0;
    const { clock, plugins, executions, history, markers } = await twoInstances({
      durationMs: () => 10_000,
      stores: (shared) => [shared, failingMarkerDeletes(shared)],
    });
    await clock.advance(1_000);
    const manual = plugins[1].runJob('job'); // on the follower: announced by a marker
    await clock.advance(30_000); // the run, then the failed delete of its marker tried again
    expect((await manual).status).toBe('completed');
    expect(failedMarkerDeletes).toBeGreaterThan(0); // its holder could not delete it
    await clock.advance(4 * MINUTE);
    expect(await markers()).toEqual([]);
    // Every slot after the manual run ran on the leader; none was skipped for the stale marker.
    expect(executions.filter((name) => name.startsWith('w0'))).toEqual([
      `w0 ${at(1)}`,
      `w0 ${at(2)}`,
      `w0 ${at(3)}`,
      `w0 ${at(4)}`,
      `w0 ${at(5)}`,
    ]);
    expect((await history()).filter((entry) => entry.includes('skipped'))).toEqual([]);
  });

  it('overlap skip holds across a graceful hand-over, and the new leader runs the first slot after the run ends', async () => {
    // The 00:01 run lasts until 00:06:50; 00:02–00:04 are skipped on w0, which stops at 00:04:30
    // (its three newest records are skipped slots). The maintenance heartbeat is 30 s, so the
    // new leader would only see the run end at 00:07:00.x, after the 00:07 slot.
    const { clock, plugins, executions, overlaps, history, markers } = await twoInstances({
      durationMs: (slot) => (slot === at(1) ? 5 * MINUTE + 50_000 : 1_000),
      heartbeatInterval: 30_000,
    });
    await clock.advance(Date.parse(at(4)) + 30_000 - clock.now());
    const stopped = plugins[0].stop();
    await clock.advance(30_000);
    expect(plugins[1].isLeader()).toBe(true);
    await clock.advance(Date.parse(at(7)) + 30_000 - clock.now());
    await stopped;
    expect(overlaps()).toBe(0);
    expect(executions).toEqual([`w0 ${at(1)}`, `w1 ${at(7)}`]);
    expect(await history()).toEqual([
      `${at(1)} w0 completed`,
      `${at(2)} w0 skipped`,
      `${at(3)} w0 skipped`,
      `${at(4)} w0 skipped`,
      `${at(5)} w1 skipped`,
      `${at(6)} w1 skipped`,
      `${at(7)} w1 completed`,
    ]);
    expect(await markers()).toEqual([]);
  });
});
