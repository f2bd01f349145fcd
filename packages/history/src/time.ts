import { checkInstant, isoInstant } from '@s3-scheduler/core';

/** One UTC day in milliseconds: the unit of date partitions and of retention. */
export const DAY_MS = 86_400_000;

/** Instants in keys are 13 decimal digits of milliseconds: up to the year 2286. */
export { MAX_INSTANT_MS } from '@s3-scheduler/core';

/** An instant as users pass it: a `Date`, epoch milliseconds or an ISO 8601 string. */
export type Instant = Date | number | string;

/** Epoch milliseconds of an instant, or a clear `INVALID_OPTION` naming the option. */
export function toMs(value: Instant, option: string): number {
  return checkInstant(value, { operation: 'history', option });
}

/** An instant as stored: ISO 8601 in UTC with milliseconds (the last one formatted is reused). */
export const iso = isoInstant;
