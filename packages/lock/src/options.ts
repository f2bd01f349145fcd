import { checkKnownKeys, checkNumber } from '@s3-scheduler/core';

/**
 * Throws `INVALID_OPTION` unless `value` is a number of milliseconds within [min, max]. Delegates
 * to the shared validation of `@s3-scheduler/core`, as every package does.
 */
export function checkDuration(
  operation: string,
  option: string,
  value: unknown,
  min = 1,
  max = Infinity,
): number {
  return checkNumber(value, { operation, option }, { min, max, unit: 'ms' });
}

/** Throws `UNKNOWN_OPTION` for a key not in `known` (usually a typo), naming the closest known one. */
export function checkKnownOptions(operation: string, options: object, known: readonly string[]): void {
  checkKnownKeys(options, known, { operation, option: 'options' });
}

/**
 * Extra time an observer waits beyond a lease before taking it over: it absorbs clock-rate drift
 * and gives a holder whose signal fired time to stop. A tenth of the lease, within 100 ms–2 s.
 */
export function defaultMarginMs(leaseMs: number): number {
  return Math.min(2000, Math.max(100, Math.round(leaseMs / 10)));
}
