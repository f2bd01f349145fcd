import type { ManualClock } from '@s3-scheduler/core/testing';
import type { SchedulerPlugin } from '../scheduler-plugin.js';

/**
 * Stops every plugin. `stop()` waits for running jobs (and cancels them after `stopTimeout`)
 * on the plugins' clock, so with a manual clock time is moved while it waits.
 */
export async function stopAll(plugins: SchedulerPlugin[], clock: ManualClock | undefined): Promise<void> {
  const stopping = Promise.all(plugins.splice(0).map((plugin) => plugin.stop()));
  let done = false;
  void stopping.then(() => {
    done = true;
  });
  for (let i = 0; i < 120 && !done; i++) await clock?.advance(1_000);
  await stopping;
}
