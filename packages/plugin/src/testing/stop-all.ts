import type { ManualClock } from '@s3-scheduler/core/testing';
import type { SchedulerPlugin } from '../scheduler-plugin.js';

/**
 * Stops every plugin of `plugins` (emptying the array). `stop()` waits for running jobs (and
 * cancels them after `stopTimeout`) on the plugins' clock, so with a manual clock time is moved
 * while it waits: in 1 s steps of `advance` (default `clock.advance`), at most 120 of them.
 */
export async function stopAll(
  plugins: SchedulerPlugin[],
  clock: ManualClock | undefined,
  advance: (ms: number) => Promise<void> = async (ms) => clock?.advance(ms),
): Promise<void> {
  const stopping = Promise.all(plugins.splice(0).map((plugin) => plugin.stop()));
  let done = false;
  void stopping.then(() => {
    done = true;
  });
  for (let i = 0; i < 120 && !done; i++) await advance(1_000);
  await stopping;
}
