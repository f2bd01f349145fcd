import type { NormalizedJob } from '../types.js';

/**
 * However short `catchUpWindow` is, the slot the timer woke for is on time within this much:
 * timers fire a few milliseconds late, and a slot must not be missed for that.
 */
export const ON_TIME_TOLERANCE_MS = 5_000;

/**
 * Of the slots that are due now (oldest first; more than one after a pause or a clock jump),
 * which to run: with `catchUp: 'all'` every one inside the window, otherwise only the newest.
 * The rest are missed.
 */
export function selectDueSlots(
  due: readonly number[],
  job: Pick<NormalizedJob, 'catchUp' | 'catchUpWindow'>,
  now: number,
): { run: number[]; missed: number[] } {
  const window = Math.max(job.catchUpWindow, ON_TIME_TOLERANCE_MS);
  const inWindow = due.filter((slot) => now - slot <= window);
  const run = job.catchUp === 'all' ? inWindow : inWindow.slice(-1);
  const chosen = new Set(run);
  return { run, missed: due.filter((slot) => !chosen.has(slot)) };
}
