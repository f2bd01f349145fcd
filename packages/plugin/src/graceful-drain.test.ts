import { ManualClock } from '@s3-scheduler/core/testing';
import { MemoryStore } from '@s3-scheduler/storage';
import { GatedStore } from '@s3-scheduler/storage/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { SchedulerPlugin } from './scheduler-plugin.js';

const START = Date.parse('2026-03-01T00:58:30Z');
const MINUTE = 60_000;
const plugins: SchedulerPlugin[] = [];

afterEach(async () => {
  await Promise.all(plugins.splice(0).map((plugin) => plugin.stop()));
});

/**
 * Two instances; the leader is stopped gracefully 3 s into a 10 s run of an hourly job, as a
 * SIGTERM handler calling stop() would. The successor takes over within a second, while the old
 * leader is still draining.
 */
async function stopLeaderMidRun(recovery: 'abandon' | 'rerun', crashWhileDraining = false) {
  const clock = new ManualClock({ now: START });
  const shared = new MemoryStore();
  const executions: string[] = [];
  const abandoned: string[] = [];
  const stores = ['a', 'b'].map(() => new GatedStore(shared));
  const [a, b] = ['a', 'b'].map(
    (workerId, i) =>
      new SchedulerPlugin({
        store: stores[i]!,
        clock,
        workerId,
        heartbeatInterval: 5_000,
        skipColdStart: i === 0,
        coldStartObservationWindow: 1_000,
        stopTimeout: 60_000,
        logger: null,
        jobs: {
          report: {
            schedule: '0 * * * *',
            recovery,
            action: async (_db, ctx) => {
              executions.push(`${ctx.workerId} ${ctx.slot}`);
              await clock.sleep(10_000);
            },
          },
        },
      }),
  ) as [SchedulerPlugin, SchedulerPlugin];
  plugins.push(b);
  b.on('plg:scheduler:job-abandoned', (event) => abandoned.push(`${event.action} ${event.slot}`));
  await a.start();
  await b.start();
  await clock.advance(10_000);
  expect(a.isLeader()).toBe(true);
  await clock.advance(Date.parse('2026-03-01T01:00:03Z') - clock.now()); // 3 s into the 01:00 run
  expect(executions).toEqual(['a 2026-03-01T01:00:00.000Z']);
  const stopped = a.stop();
  if (crashWhileDraining) {
    await clock.advance(1_000);
    stores[0]!.kill(); // it dies while draining: its heartbeats stop, its run is an orphan after all
    await clock.advance(2 * MINUTE);
  } else {
    await clock.advance(30_000);
    await stopped;
  }
  expect(b.isLeader()).toBe(true);
  await clock.advance(2 * MINUTE);
  const history = await b.getJobHistory('report');
  return { executions, abandoned, history };
}

describe('graceful stop() of the leader mid-run', () => {
  for (const recovery of ['abandon', 'rerun'] as const) {
    it(`recovery '${recovery}': the draining run is not an orphan; one execution, recorded with its true status`, async () => {
      const { executions, abandoned, history } = await stopLeaderMidRun(recovery);
      expect(executions).toEqual(['a 2026-03-01T01:00:00.000Z']);
      expect(abandoned).toEqual([]);
      expect(history.map((entry) => [entry.slot, entry.workerId, entry.status])).toEqual([
        ['2026-03-01T01:00:00.000Z', 'a', 'completed'],
      ]);
    });
  }

  it('a leader that crashes while draining leaves an orphan the successor recovers, as before', async () => {
    const { abandoned, history } = await stopLeaderMidRun('abandon', true);
    expect(abandoned).toEqual(['abandon 2026-03-01T01:00:00.000Z']);
    expect(history.map((entry) => entry.status)).toEqual(['abandoned']);
  });
});
