import type { CronFieldCollection } from 'cron-parser';
import { packDayRules } from './wall-matcher.js';

/**
 * The values of the six fields of an expression as bitmasks: a parsed schedule is a handful of
 * small integers instead of arrays or lookup tables, so 100,000 distinct expressions cost little
 * heap. Every mask stays within 32 bits (V8 keeps such values unboxed, as small integers); the
 * 60 values of seconds and minutes are split at 30 into a low and a high word.
 *
 * - `secondsLow`/`secondsHigh`, `minutesLow`/`minutesHigh`: bit `v` of low is value `v` (0-29),
 *   bit `v - 30` of high is value `v` (30-59).
 * - `hours`: bit `h` (0-23). `months`: bit `m` (1-12). `daysOfMonth`: bit `d` (1-31; bit 31 is
 *   the sign bit, which the bit helpers of `wall-matcher.ts` handle).
 * - `dayRules`: day-of-week values, `nL` weekdays, the `#` number and three flags, packed as
 *   described by the `DOW_*` and `*_BIT` constants of `wall-matcher.ts`.
 */
export interface FieldMasks {
  readonly secondsLow: number;
  readonly secondsHigh: number;
  readonly minutesLow: number;
  readonly minutesHigh: number;
  readonly hours: number;
  readonly months: number;
  readonly daysOfMonth: number;
  readonly dayRules: number;
}

/** The masks of the fields cron-parser parsed (the general path: names, `L`, `#`, `nL`). */
export function masksFromCronParser(fields: CronFieldCollection): FieldMasks {
  const [secondsLow, secondsHigh] = sixtyBits(fields.second.values as number[]);
  const [minutesLow, minutesHigh] = sixtyBits(fields.minute.values as number[]);
  let daysOfMonth = 0;
  let domLast = false;
  for (const value of fields.dayOfMonth.values as (number | string)[]) {
    if (value === 'L') domLast = true;
    else daysOfMonth |= 1 << Number(value);
  }
  let dow = 0;
  let dowLast = 0;
  for (const value of fields.dayOfWeek.values as (number | string)[]) {
    if (typeof value === 'number') dow |= 1 << (value % 7);
    else dowLast |= 1 << (Number(value.charAt(0)) % 7); // `nL`; cron-parser rejects a bare `L` here
  }
  return {
    secondsLow,
    secondsHigh,
    minutesLow,
    minutesHigh,
    hours: bits(fields.hour.values as number[]),
    months: bits(fields.month.values as number[]),
    daysOfMonth,
    dayRules: packDayRules(
      dow,
      dowLast,
      fields.dayOfWeek.nthDay,
      fields.dayOfMonth.isWildcard,
      fields.dayOfWeek.isWildcard,
      domLast,
    ),
  };
}

function bits(values: readonly number[]): number {
  let mask = 0;
  for (const value of values) mask |= 1 << value;
  return mask;
}

function sixtyBits(values: readonly number[]): [low: number, high: number] {
  let low = 0;
  let high = 0;
  for (const value of values) {
    if (value < 30) low |= 1 << value;
    else high |= 1 << (value - 30);
  }
  return [low, high];
}
