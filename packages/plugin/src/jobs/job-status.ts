import { fireTime, nextSlot } from '../schedule/slot-math.js';
import type { JobState, JobStatus } from './job-state.js';

/**
 * `getJobStatus()` of one job. Started, the job's next fire time is the one queued; before
 * `start()` (or after `stop()`) nothing is queued, so it is computed the way `start()` would
 * queue it: `nextRun` is known as soon as the job is defined, as `describe()` knows it.
 */
export function jobStatus(state: JobState, started: boolean, now: number): JobStatus {
  if (started) return state.status();
  const def = state.def;
  const slot = def.enabled && !state.paused && !state.removed ? nextSlot(def, now) : null;
  return state.status(slot === null ? null : fireTime(def, slot));
}
