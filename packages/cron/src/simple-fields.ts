import type { FieldMasks } from './field-masks.js';
import { packDayRules } from './wall-matcher.js';

/**
 * A fast path for the common case: every field made of numbers, `*`, `?`, lists, ranges and steps
 * (month and weekday names allowed, replaced as cron-parser replaces them). It reproduces what
 * cron-parser 5 accepts and the values it produces for that subset, in about a microsecond
 * instead of the 25-35 µs `CronExpressionParser.parse` takes (which builds luxon dates, field
 * objects and arrays we would throw away).
 *
 * It never reports an error: anything outside the subset, anything cron-parser would reject
 * (out of range, reversed range, zero step, a value listed twice, stray characters) and any
 * expression that cannot fire returns `null`, and the caller takes the cron-parser path, which
 * produces the error. So an expression is accepted or rejected exactly as before, and the
 * differential property test in `simple-fields.test.ts` checks that the masks equal the ones
 * built from cron-parser's parse.
 *
 * cron-parser's rules mirrored here (`CronExpressionParser#parseField` and the field classes):
 * `*` or `?` as a whole list item, alone or before `/`, is the field's full range; `a/n` is
 * `a-max/n`; numbers are decimal digits (leading zeros allowed); a range needs `a <= b` within
 * the field's bounds; a step is a positive integer; a value listed twice is an error (in the
 * day-of-week field a range ending on 7 also lists 0, a single 7 is 0); a field written exactly
 * `*` or `?` is unrestricted (matters for the day-of-month / day-of-week OR); with exactly one
 * month, days of month that month never has are dropped unless none is left.
 */
export function parseSimpleFields(fields: readonly string[]): FieldMasks | null {
  if (fields.length !== 6) return null;
  const [second, minute, hour, dayOfMonth, month, dayOfWeek] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (!parseField(second, 0, 59, false) || hasDuplicates()) return null;
  const secondsLow = scratch.low;
  const secondsHigh = scratch.high;
  if (!parseField(minute, 0, 59, false) || hasDuplicates()) return null;
  const minutesLow = scratch.low;
  const minutesHigh = scratch.high;
  if (!parseField(hour, 0, 23, false) || hasDuplicates()) return null;
  const hours = scratch.low;
  const monthText = replaceNames(month, MONTH_NAMES);
  if (monthText === null || !parseField(monthText, 1, 12, false) || hasDuplicates()) return null;
  const months = scratch.low;
  if (!parseField(dayOfMonth, 1, 31, false)) return null;
  let daysOfMonth = scratch.low | (scratch.high << 30);
  let domDuplicates = scratch.duplicatesLow | (scratch.duplicatesHigh << 30);
  const dowText = replaceNames(dayOfWeek, WEEKDAY_NAMES);
  if (dowText === null || !parseField(dowText, 0, 7, true) || hasDuplicates()) return null;
  // Bits 0-7 of the raw day-of-week values; 7 is Sunday.
  const dow = (scratch.low & 0x7f) | ((scratch.low >>> 7) & 1);

  // CronDayOfMonth.fromMonth: with a single month, drop the days it never has (February: 29),
  // unless none is left. Its duplicate check comes after, so `*,31` in April is accepted.
  if ((months & (months - 1)) === 0) {
    const existing = (2 << LONGEST_MONTH[31 - Math.clz32(months)]!) - 1;
    if ((daysOfMonth & existing) !== 0) {
      daysOfMonth &= existing;
      domDuplicates &= existing;
    }
  }
  if (domDuplicates !== 0) return null;
  const domUnrestricted = dayOfMonth === '*' || dayOfMonth === '?';
  const dowUnrestricted = dayOfWeek === '*' || dayOfWeek === '?';
  // cron-parser (CronFieldCollection) rejects a day of month that no allowed month has, when the
  // day of week is unrestricted: leave that, and its error, to the general path.
  if (dowUnrestricted && !domUnrestricted && !someMonthHasDay(months, daysOfMonth)) return null;
  return {
    secondsLow,
    secondsHigh,
    minutesLow,
    minutesHigh,
    hours,
    months,
    daysOfMonth,
    dayRules: packDayRules(dow, 0, 0, domUnrestricted, dowUnrestricted, false),
  };
}

/** cron-parser's month lengths (`CronDate.DAYS_IN_MONTH`), indexed 1-12, February 29. */
const LONGEST_MONTH = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

function someMonthHasDay(months: number, daysOfMonth: number): boolean {
  const smallest = 31 - Math.clz32(daysOfMonth & -daysOfMonth);
  for (let month = 1; month <= 12; month++) {
    if ((months >>> month) & 1 && smallest <= LONGEST_MONTH[month]!) return true;
  }
  return false;
}

const MONTH_NAMES: Readonly<Record<string, number>> = {
  jan: 1,
  feb: 2,
  mar: 3,
  apr: 4,
  may: 5,
  jun: 6,
  jul: 7,
  aug: 8,
  sep: 9,
  oct: 10,
  nov: 11,
  dec: 12,
};
const WEEKDAY_NAMES: Readonly<Record<string, number>> = {
  sun: 0,
  mon: 1,
  tue: 2,
  wed: 3,
  thu: 4,
  fri: 5,
  sat: 6,
};
const LETTERS = /[a-z]/i;
const NAME = /[a-z]{3}/gi;

/** cron-parser's alias replacement (every run of three letters); `null` for an unknown name. */
function replaceNames(text: string, names: Readonly<Record<string, number>>): string | null {
  if (!LETTERS.test(text)) return text;
  let unknown = false;
  const replaced = text.replace(NAME, (match) => {
    const value = Object.hasOwn(names, match.toLowerCase()) ? names[match.toLowerCase()] : undefined;
    if (value === undefined) unknown = true;
    return String(value);
  });
  return unknown ? null : replaced;
}

/**
 * The values of the field just parsed: bit `v` of `low` for v < 30, bit `v - 30` of `high`; and
 * the values listed more than once, which cron-parser rejects (after its day-of-month filter).
 * Module state rather than a returned object, so the fast path allocates nothing per field.
 */
const scratch = { low: 0, high: 0, duplicatesLow: 0, duplicatesHigh: 0 };

function hasDuplicates(): boolean {
  return (scratch.duplicatesLow | scratch.duplicatesHigh) !== 0;
}

/** Where `parseField` is in its text. */
const cursor = { index: 0 };

/** The decimal number at the cursor, moving past it; -1 when there is no digit there. */
function readNumber(text: string): number {
  const start = cursor.index;
  let index = start;
  let value = 0;
  for (; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < DIGIT_0 || code > DIGIT_9) break;
    value = value * 10 + (code - DIGIT_0);
  }
  cursor.index = index;
  return index === start ? -1 : value;
}

const DIGIT_0 = 48;
const DIGIT_9 = 57;
const COMMA = 44;
const DASH = 45;
const SLASH = 47;
const STAR = 42;
const QUESTION = 63;

/**
 * Parses one field of the subset into `scratch`; false when the field is outside the subset or
 * cron-parser would reject it. `weekday`: the 0-7 field, where a single 7 is 0 and a range that
 * reaches 7 also lists 0.
 */
function parseField(text: string, min: number, max: number, weekday: boolean): boolean {
  let low = 0;
  let high = 0;
  let duplicatesLow = 0;
  let duplicatesHigh = 0;
  const length = text.length;
  cursor.index = 0;
  for (;;) {
    // One list item: `*`, `?`, `a` or `a-b`, optionally followed by `/n`.
    let from: number;
    let to: number;
    let single = false;
    const first = text.charCodeAt(cursor.index);
    if (first === STAR || first === QUESTION) {
      from = min;
      to = max;
      cursor.index++;
    } else {
      from = readNumber(text);
      if (from < 0) return false;
      to = from;
      single = true;
      if (text.charCodeAt(cursor.index) === DASH) {
        cursor.index++;
        to = readNumber(text);
        if (to < 0) return false;
        single = false;
      }
    }
    let step = 1;
    if (text.charCodeAt(cursor.index) === SLASH) {
      cursor.index++;
      step = readNumber(text);
      if (step <= 0) return false;
      if (single) to = max; // `a/n` is `a-max/n`
      single = false;
    }
    const index = cursor.index;
    if (index < length && text.charCodeAt(index) !== COMMA) return false;
    // Many digits could lose precision; such values are out of range anyway.
    if (!(from >= min && to <= max && from <= to)) return false;

    // The raw values cron-parser pushes for this item, as bits.
    let itemLow = 0;
    let itemHigh = 0;
    if (single) {
      const value = weekday ? from % 7 : from;
      if (value < 30) itemLow = 1 << value;
      else itemHigh = 1 << (value - 30);
    } else {
      for (let value = from; value <= to; value += step) {
        if (value < 30) itemLow |= 1 << value;
        else itemHigh |= 1 << (value - 30);
      }
      if (weekday && (itemLow >>> 7) & 1) itemLow |= 1; // a range reaching 7 lists 0 too
    }
    duplicatesLow |= low & itemLow;
    duplicatesHigh |= high & itemHigh;
    low |= itemLow;
    high |= itemHigh;

    if (index >= length) break;
    cursor.index = index + 1; // past the comma
    if (cursor.index >= length) return false; // an empty list item
  }
  scratch.low = low;
  scratch.high = high;
  scratch.duplicatesLow = duplicatesLow;
  scratch.duplicatesHigh = duplicatesHigh;
  return true;
}
