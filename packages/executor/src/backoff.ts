import { exponentialBackoff, invalidOption } from '@s3-scheduler/core';
import { RUN_LIMITS, resolveBackoff } from './options.js';
import { unitRandom } from './random.js';
import type { BackoffOptions } from './types.js';

/**
 * The wait before attempt `attempt` (2 is the first retry), in whole ms:
 * `d = min(maxMs, 1 day, initialMs × factor^(attempt − 2))`, then jitter — `'full'` picks in [0, d],
 * `'equal'` in [d/2, d]. The random part depends only on `(seed, attempt)`, so the same seed gives
 * the same schedule in the executor and anywhere else (a plugin's `describe`, a test).
 * Attempt 1 has no wait (0). Throws `INVALID_OPTION` for out-of-range options.
 */
export function computeBackoff(attempt: number, options?: BackoffOptions, seed = 0): number {
  if (!Number.isSafeInteger(attempt) || attempt < 1) {
    throw invalidOption(
      { operation: 'computeBackoff', option: 'attempt' },
      attempt,
      'a positive integer',
      'Pass the 1-based number of the attempt about to start (2 for the first retry).',
    );
  }
  if (!Number.isSafeInteger(seed)) {
    throw invalidOption(
      { operation: 'computeBackoff', option: 'seed' },
      seed,
      'an integer',
      'Pass an integer seed, or leave it out.',
    );
  }
  const { initialMs, factor, maxMs, jitter } = resolveBackoff(options, 'computeBackoff');
  if (attempt < 2 || initialMs === 0 || maxMs === 0) return 0;
  // Attempt 2 is the first retry: the first wait of the back-off.
  const delay = exponentialBackoff(attempt - 1, {
    initialMs,
    maxMs: Math.min(maxMs, RUN_LIMITS.backoffMs),
    factor,
  });
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
