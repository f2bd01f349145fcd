import { ManualClock } from '@s3-scheduler/core/testing';
import { MemoryStore, SchedulerPlugin } from '@s3-scheduler/plugin';
import { pluginSource } from './plugin-source.js';
import type { DashboardSource } from './source.js';

/** A secret that must never reach a page or an API answer. */
export const SECRET = 'Sup3rS3cretValue-9f2c';
const START = Date.parse('2026-03-02T08:00:30Z');
const MINUTE = 60_000;

export interface TestCluster {
  clock: ManualClock;
  /** The bucket every instance shares (the plugins' default keyPrefix `plugin=scheduler/` inside). */
  store: MemoryStore;
  plugins: SchedulerPlugin[];
  /** The instance the dashboard reads through: worker-1, the leader after the hand-over. */
  plugin: SchedulerPlugin;
  /** A source over `plugin`, created before the cluster started: it saw both leadership changes. */
  source: DashboardSource;
  stop(): Promise<void>;
}

/**
 * Three instances on one in-process MemoryStore, as three processes on one bucket: worker-0
 * leads after the cold start, then 12 minutes of `minutely-sync` runs (every fourth fails, with
 * a secret in its error text), `cleanup` paused with a note, one manual export; then worker-0
 * stops and hands over to worker-1 (epoch 2). Every instance is given a connection string and a
 * job context holding `SECRET`.
 */
export async function startTestCluster(): Promise<TestCluster> {
  const clock = new ManualClock({ now: START });
  // On the plugins' clock: the read model judges leases by the store's write times.
  const shared = new MemoryStore({ clock });
  const plugins: SchedulerPlugin[] = [];
  for (let i = 0; i < 3; i++) {
    plugins.push(
      new SchedulerPlugin({
        store: shared,
        // Ignored while a store is given, but held by the plugin: the dashboard must not show it.
        connectionString: `s3://AKIAEXAMPLE:${SECRET}@scheduler-bucket/prod?endpoint=http://127.0.0.1:9`,
        clock,
        workerId: `worker-${i}`,
        heartbeatInterval: 5_000,
        coldStartObservationWindow: 10_000,
        logger: null,
        jobs: {
          'minutely-sync': {
            schedule: '* * * * *',
            description: 'Copies new orders to the warehouse',
            context: { apiToken: SECRET },
            retries: 0,
            action: async (_db, context) => {
              const minute = new Date(context.scheduledTime).getUTCMinutes();
              await clock.sleep(500 + (minute % 5) * 700);
              if (minute % 4 === 3) {
                throw new Error(`upstream returned 503 for https://sync:${SECRET}@orders.example/api`);
              }
            },
          },
          'nightly-report': {
            schedule: '0 3 * * *',
            timezone: 'Europe/Berlin',
            description: 'Sends the daily sales report',
            action: () => undefined,
          },
          cleanup: { schedule: '*/15 * * * *', action: () => undefined },
          'on-demand-export': { schedule: null, description: 'Exports a CSV when asked', action: () => 'ok' },
        },
      }),
    );
  }
  const [first, plugin] = plugins as [SchedulerPlugin, SchedulerPlugin];
  const source = pluginSource(plugin, { clock });
  await Promise.all(plugins.map((instance) => instance.start()));
  await clock.advance(20_000);
  await first.pauseJob('cleanup', 'Waiting for the storage migration');
  // To 08:12:30: the 08:12 run is over, and the hand-over below ends well before 08:13.
  await clock.advance(12 * MINUTE - 20_000);
  await first.runJob('on-demand-export');
  await stopMoving(clock, [first]);
  // Long enough for worker-2 to follow the new leader, short of the next minute's slot.
  await clock.advance(5_000);
  return {
    clock,
    store: shared,
    plugins,
    plugin,
    source,
    stop: () => stopMoving(clock, plugins),
  };
}

/** stop() waits for running jobs and hands over on the plugins' clock: move it while it waits. */
async function stopMoving(clock: ManualClock, plugins: SchedulerPlugin[]): Promise<void> {
  const stopping = Promise.all(plugins.map((instance) => instance.stop()));
  let done = false;
  void stopping.then(() => {
    done = true;
  });
  for (let i = 0; i < 120 && !done; i++) await clock.advance(500);
  await stopping;
}
