import type { NormalizedJob, RunTrigger } from '../types.js';

/**
 * What a due slot does, given the job's overlap policy and whether a run of the job is going on
 * (here or on another instance):
 * - `run`: claim and run it;
 * - `skip`: record it skipped;
 * - `buffer`: keep it in the job's buffer (`limit` slots at most) until the run ends;
 * - `cancel-then-buffer`: ask the running run to stop, and buffer the slot meanwhile;
 * - `terminate-then-run`: stop the running run and run this slot now.
 */
export type OverlapDecision =
  | { action: 'run' }
  | { action: 'skip' }
  | { action: 'buffer'; limit: number }
  | { action: 'cancel-then-buffer'; limit: number }
  | { action: 'terminate-then-run' };

/** How many slots the job's buffer keeps: `bufferLimit` for `buffer-all`, else one. */
export function bufferLimit(def: Pick<NormalizedJob, 'overlap' | 'bufferLimit'>): number {
  return def.overlap === 'buffer-all' ? def.bufferLimit : 1;
}

// The decisions without a limit are shared: one is made for every due slot.
const RUN: OverlapDecision = Object.freeze({ action: 'run' });
const SKIP: OverlapDecision = Object.freeze({ action: 'skip' });
const TERMINATE_THEN_RUN: OverlapDecision = Object.freeze({ action: 'terminate-then-run' });

export function decideOverlap(
  def: Pick<NormalizedJob, 'overlap' | 'bufferLimit'>,
  busy: boolean,
  trigger: RunTrigger,
): OverlapDecision {
  if (!busy) return RUN;
  // Slots caught up after an outage run one after the other, whatever the overlap policy.
  if (trigger === 'catch-up' && def.overlap !== 'allow') return { action: 'buffer', limit: def.bufferLimit };
  switch (def.overlap) {
    case 'allow':
      return RUN;
    case 'skip':
      return SKIP;
    case 'buffer-one':
    case 'buffer-all':
      return { action: 'buffer', limit: bufferLimit(def) };
    case 'cancel-other':
      return { action: 'cancel-then-buffer', limit: bufferLimit(def) };
    case 'terminate-other':
      return TERMINATE_THEN_RUN;
  }
}
