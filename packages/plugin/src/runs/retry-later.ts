import { exponentialBackoff } from '@s3-scheduler/core';
import type { Runtime } from '../runtime.js';

/** The wait before trying store work again after its `attempt`th failure: 1 s, 2 s, 4 s … 30 s. */
export function retryDelay(attempt: number): number {
  return exponentialBackoff(attempt, { initialMs: 1000, maxMs: 30_000 });
}

/**
 * Runs `work` after a back-off (`retryDelay(attempt)`: 1 s, 2 s, 4 s … 30 s) if this instance
 * still leads then: leader work the store refused (a slot's claim, a catch-up, a recovery) is
 * tried again, not dropped. Tracked, so `stop()` waits for it; a stop ends the wait, and the work
 * is not done.
 */
export function retryLater(runtime: Runtime, attempt: number, work: () => Promise<void>): void {
  const { clock, leader } = runtime;
  void runtime.track(
    clock.sleep(retryDelay(attempt), leader.stopSignal).then(
      () => (leader.leading ? work() : undefined),
      () => undefined,
    ),
  );
}
