import { SchedulerError } from '@s3-scheduler/core';

/** One UTC day in milliseconds: the unit of date partitions and of retention. */
export const DAY_MS = 86_400_000;

/** Instants in keys are 13 decimal digits of milliseconds: up to the year 2286. */
export const MAX_INSTANT_MS = 9_999_999_999_999;

/** An instant as users pass it: a `Date`, epoch milliseconds or an ISO 8601 string. */
export type Instant = Date | number | string;

/** Epoch milliseconds of an instant, or a clear `INVALID_OPTION` naming the option. */
export function toMs(value: Instant, option: string): number {
  const ms =
    value instanceof Date
      ? value.getTime()
      : typeof value === 'number'
        ? value
        : typeof value === 'string'
          ? Date.parse(value)
          : Number.NaN;
  if (!Number.isFinite(ms) || !Number.isInteger(ms) || ms < 0 || ms > MAX_INSTANT_MS) {
    throw new SchedulerError(`'${option}' is not a valid instant: ${describe(value)}`, {
      code: 'INVALID_OPTION',
      operation: option,
      metadata: { option, value: describe(value) },
      suggestion: 'Pass a Date, whole epoch milliseconds or an ISO 8601 string between 1970 and 2286.',
    });
  }
  return ms;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function describe(value: unknown): string {
  if (value instanceof Date) return 'Invalid Date';
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 100)) : String(value);
}
