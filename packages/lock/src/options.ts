import { SchedulerError } from '@s3-scheduler/core';

/** Throws `INVALID_OPTION` unless `value` is a finite number within [min, max]. */
export function checkDuration(
  operation: string,
  option: string,
  value: unknown,
  min = 1,
  max = Infinity,
): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) {
    throw new SchedulerError(
      `Option '${option}' must be a number of milliseconds ≥ ${min}, got ${String(value)}`,
      {
        code: 'INVALID_OPTION',
        operation,
        metadata: { option, value },
        suggestion: `Pass ${option} as a number of milliseconds, for example 30000.`,
      },
    );
  }
  return value;
}

/** Throws `UNKNOWN_OPTION` for a key not in `known` (usually a typo). */
export function checkKnownOptions(operation: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new SchedulerError(`Unknown option '${key}'`, {
        code: 'UNKNOWN_OPTION',
        operation,
        metadata: { option: key, known },
        suggestion: `Use one of: ${known.join(', ')}.`,
      });
    }
  }
}

/**
 * Extra time an observer waits beyond a lease before taking it over: it absorbs clock-rate drift
 * and gives a holder whose signal fired time to stop. A tenth of the lease, within 100 ms–2 s.
 */
export function defaultMarginMs(leaseMs: number): number {
  return Math.min(2000, Math.max(100, Math.round(leaseMs / 10)));
}
