import { SchedulerError } from '@s3-scheduler/core';
import { resolveBackoff } from './options.js';
import { unitRandom } from './random.js';
import type { BackoffOptions } from './types.js';

/**
 * The wait before attempt `attempt` (2 is the first retry), in whole ms:
 * `d = min(maxMs, initialMs × factor^(attempt − 2))`, then jitter — `'full'` picks in [0, d],
 * `'equal'` in [d/2, d]. The random part depends only on `(seed, attempt)`, so the same seed gives
 * the same schedule in the executor and anywhere else (a plugin's `describe`, a test).
 * Attempt 1 has no wait (0). Throws `INVALID_OPTION` for out-of-range options.
 */
export function computeBackoff(attempt: number, options?: BackoffOptions, seed = 0): number {
  if (!Number.isSafeInteger(attempt) || attempt < 1) {
    throw new SchedulerError(`\`attempt\` must be a positive integer, got ${String(attempt)}`, {
      code: 'INVALID_OPTION',
      operation: 'computeBackoff',
      metadata: { option: 'attempt', value: Number.isFinite(attempt) ? attempt : String(attempt) },
      suggestion: 'Pass the 1-based number of the attempt about to start (2 for the first retry).',
    });
  }
  if (!Number.isSafeInteger(seed)) {
    throw new SchedulerError(`\`seed\` must be an integer, got ${String(seed)}`, {
      code: 'INVALID_OPTION',
      operation: 'computeBackoff',
      metadata: { option: 'seed', value: Number.isFinite(seed) ? seed : String(seed) },
      suggestion: 'Pass an integer seed, or leave it out.',
    });
  }
  const { initialMs, factor, maxMs, jitter } = resolveBackoff(options, 'computeBackoff');
  if (attempt < 2 || initialMs === 0 || maxMs === 0) return 0;
  // factor^n overflows to Infinity for large n; the cap then applies, as it should.
  const delay = Math.min(maxMs, initialMs * factor ** (attempt - 2));
  if (!Number.isFinite(delay)) return delay;
  const random = jitter === 'none' ? 0 : unitRandom(seed, attempt);
  switch (jitter) {
    case 'full':
      return Math.round(random * delay);
    case 'equal':
      return Math.round(delay / 2 + (random * delay) / 2);
    default:
      return Math.round(delay);
  }
}
