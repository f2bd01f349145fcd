import {
  checkInteger,
  checkNumber,
  checkString,
  invalidOption as coreInvalidOption,
  type SchedulerError,
  type Where,
} from '@s3-scheduler/core';

// The checks of this package's inputs, on the shared validation of `@s3-scheduler/core`.

/** Where an option of this package came from. */
function at(option: string): Where {
  return { operation: 'history', option };
}

export function checkJob(job: unknown): asserts job is string {
  // Checked on every claim: a valid name passes without building the check's description.
  if (typeof job === 'string' && job.length >= 1 && job.length <= 1024) return;
  checkString(job, at('job'), { minLength: 1, maxLength: 1024 });
}

export function invalidOption(
  option: string,
  value: unknown,
  suggestion: string,
  expected = 'valid',
): SchedulerError {
  return coreInvalidOption(at(option), value, expected, suggestion);
}

export function integerOption(
  option: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number,
): number {
  return value === undefined ? fallback : checkInteger(value, at(option), { min, max });
}

export function nonNegative(option: string, value: unknown): number {
  return checkNumber(value, at(option), { unit: 'ms' });
}

export function nullableInteger(option: string, value: unknown): number | null {
  if (value === undefined || value === null) return null;
  return integerOption(option, value, 0, 0, Number.MAX_SAFE_INTEGER);
}

export function nullableString(option: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw invalidOption(option, value, 'Use a string.', 'a string');
  return value.slice(0, 500);
}
