import type { RunOutcome } from '@s3-scheduler/executor';
import type { JobState } from '../jobs/job-state.js';
import type { Runtime } from '../runtime.js';

/**
 * `pauseOnFailure: N`: consecutive failed runs are counted in the shared document (a write per
 * failure, none per success unless a streak ends); the Nth pauses the job with a note. Returns
 * whether this run paused the job (the caller reschedules it).
 */
/** Whether `countFailures` has anything to write for this outcome: a failure, or the end of a streak. */
export function failuresCount(state: JobState, outcome: RunOutcome<unknown>): boolean {
  if (state.def.pauseOnFailure === 0 || outcome.status === 'cancelled') return false;
  return outcome.status !== 'completed' || (state.document?.consecutiveFailures ?? 0) > 0;
}

export async function countFailures(
  runtime: Runtime,
  state: JobState,
  outcome: RunOutcome<unknown>,
): Promise<boolean> {
  if (!failuresCount(state, outcome)) return false;
  const limit = state.def.pauseOnFailure;
  const failed = outcome.status !== 'completed';
  const wasPaused = state.paused;
  state.document = await runtime.store.documents.update(state.def.name, (doc) => {
    if (!failed) {
      if (doc.consecutiveFailures === 0) return false;
      doc.consecutiveFailures = 0;
      return true;
    }
    doc.consecutiveFailures++;
    if (doc.consecutiveFailures >= limit && !doc.paused) {
      doc.paused = true;
      doc.pausedNote = `Paused after ${doc.consecutiveFailures} consecutive failed runs; last error: ${outcome.error?.message ?? outcome.status}`;
    }
    return true;
  });
  return state.paused && !wasPaused;
}
