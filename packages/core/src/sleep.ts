import { type Clock, systemClock } from './clock.js';

export interface SleepOptions {
  /** Aborting it rejects the sleep at once with the signal's reason. */
  signal?: AbortSignal | undefined;
  /** Defaults to the system clock; pass a `ManualClock` in tests. */
  clock?: Clock | undefined;
}

/**
 * Waits `ms` milliseconds. Unlike a bare `setTimeout`, it is correct for delays beyond
 * 2^31−1 ms (about 24.8 days) and stops as soon as `signal` aborts.
 */
export function sleep(ms: number, options: SleepOptions = {}): Promise<void> {
  return (options.clock ?? systemClock).sleep(ms, options.signal);
}
