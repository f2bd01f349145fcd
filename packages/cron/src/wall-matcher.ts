import { civilFromDays, dayOfWeek, daysFromCivil, daysInMonth, SECONDS_PER_DAY } from './calendar.js';
import type { FieldMasks } from './field-masks.js';

/**
 * Matches wall-clock times (a local date and time, no zone) against the fields of an expression,
 * and finds the next or previous matching wall time by walking the fields: months, then days,
 * then hours, minutes and seconds, skipping whole ranges at each level. Wall times are "wall
 * seconds": seconds since 1970-01-01T00:00:00 *as if the local time were UTC*.
 *
 * The fields are held as the bitmasks of `FieldMasks` (eight small integers, about 100 bytes per
 * distinct expression), and one matcher is shared by every schedule on the same expression.
 *
 * Day semantics are cron-parser's (`CronExpression#matchDayOfMonth`): when both day fields are
 * restricted a day matches if either does (Vixie's OR); a field written as `*` or `?` is
 * unrestricted; `L` in day-of-month is the month's last day; `5L` in day-of-week is the month's
 * last Friday; `1#2` is its second Monday.
 */
export class WallMatcher {
  /** True when second, minute and hour are each one value or a list of values (see README). */
  readonly isFixedTime: boolean;
  readonly #secondsLow: number;
  readonly #secondsHigh: number;
  readonly #minutesLow: number;
  readonly #minutesHigh: number;
  readonly #hours: number;
  readonly #months: number;
  readonly #daysOfMonth: number;
  readonly #dayRules: number;

  constructor(masks: FieldMasks, isFixedTime: boolean) {
    this.isFixedTime = isFixedTime;
    this.#secondsLow = masks.secondsLow;
    this.#secondsHigh = masks.secondsHigh;
    this.#minutesLow = masks.minutesLow;
    this.#minutesHigh = masks.minutesHigh;
    this.#hours = masks.hours;
    this.#months = masks.months;
    this.#daysOfMonth = masks.daysOfMonth;
    this.#dayRules = masks.dayRules;
  }

  /** Whether some allowed month has a day that can match (in some year). */
  canFire(): boolean {
    for (let month = 1; month <= 12; month++) if (this.canMatchInMonth(month)) return true;
    return false;
  }

  /** Whether the day can ever match in the given month of some year (February counted as 29 days). */
  canMatchInMonth(month: number): boolean {
    const rules = this.#dayRules;
    if (!hasBit(this.#months, month)) return false;
    // An unrestricted or restricted day-of-week matches some day of every month (every weekday
    // occurs at least four times; `#5` needs a fifth, which every month but a common February has).
    if (!(rules & DOW_UNRESTRICTED_BIT) || rules & DOM_UNRESTRICTED_BIT || rules & DOM_LAST_BIT) return true;
    const longest = month === 2 ? 29 : daysInMonth(2001, month);
    return prevBit(this.#daysOfMonth, longest) > 0;
  }

  /** Whether the wall time (wall seconds) matches every field. */
  matches(wall: number): boolean {
    const days = Math.floor(wall / SECONDS_PER_DAY);
    const secondOfDay = wall - days * SECONDS_PER_DAY;
    const hour = Math.floor(secondOfDay / 3600);
    const minute = Math.floor((secondOfDay % 3600) / 60);
    const second = secondOfDay % 60;
    if (!hasBit(this.#hours, hour) || !hasOfSixty(this.#minutesLow, this.#minutesHigh, minute)) return false;
    if (!hasOfSixty(this.#secondsLow, this.#secondsHigh, second)) return false;
    const date = civilFromDays(days);
    return hasBit(this.#months, date.month) && this.#dayMatches(date.year, date.month, date.day, days);
  }

  /** The first matching wall time in `[from, limit)`, or `NaN` when there is none. */
  next(from: number, limit: number): number {
    let days = Math.floor(from / SECONDS_PER_DAY);
    let secondOfDay = from - days * SECONDS_PER_DAY;
    let { year, month, day } = civilFromDays(days);
    // Each pass moves forward by at least one unit of the level that failed, and `limit` is at
    // most about a year away, so the loop ends after a few hundred passes at worst.
    for (;;) {
      if (days * SECONDS_PER_DAY >= limit) return Number.NaN;
      if (!hasBit(this.#months, month)) {
        // Jump to the first day of the next allowed month.
        const later = nextBit(this.#months, month + 1);
        if (later > 0) {
          month = later;
        } else {
          month = nextBit(this.#months, 1);
          year++;
        }
        day = 1;
        days = daysFromCivil(year, month, 1);
        secondOfDay = 0;
        continue;
      }
      const monthLength = daysInMonth(year, month);
      if (!this.#dayMatches(year, month, day, days)) {
        const target = this.#nextDomOnly(day, monthLength);
        if (target > 0) {
          days += target - day;
          day = target;
        } else if (target === 0 || day >= monthLength) {
          // No later day this month can match: go to the next month.
          days += monthLength - day + 1;
          day = 1;
          month++;
          if (month > 12) {
            month = 1;
            year++;
          }
        } else {
          days++;
          day++;
        }
        secondOfDay = 0;
        continue;
      }
      const time = this.#nextTimeOfDay(secondOfDay);
      if (time >= 0) {
        const wall = days * SECONDS_PER_DAY + time;
        return wall < limit ? wall : Number.NaN;
      }
      // Nothing left today.
      if (day >= monthLength) {
        day = 1;
        month++;
        if (month > 12) {
          month = 1;
          year++;
        }
      } else {
        day++;
      }
      days++;
      secondOfDay = 0;
    }
  }

  /** The last matching wall time in `[floor, from]`, or `NaN` when there is none. */
  prev(from: number, floor: number): number {
    let days = Math.floor(from / SECONDS_PER_DAY);
    let secondOfDay = from - days * SECONDS_PER_DAY;
    let { year, month, day } = civilFromDays(days);
    for (;;) {
      if ((days + 1) * SECONDS_PER_DAY <= floor) return Number.NaN;
      if (!hasBit(this.#months, month)) {
        const earlier = prevBit(this.#months, month - 1);
        if (earlier > 0) {
          month = earlier;
        } else {
          month = prevBit(this.#months, 12);
          year--;
        }
        day = daysInMonth(year, month);
        days = daysFromCivil(year, month, day);
        secondOfDay = SECONDS_PER_DAY - 1;
        continue;
      }
      if (this.#dayMatches(year, month, day, days)) {
        const time = this.#prevTimeOfDay(secondOfDay);
        if (time >= 0) {
          const wall = days * SECONDS_PER_DAY + time;
          return wall >= floor ? wall : Number.NaN;
        }
      }
      if (day <= 1) {
        month--;
        if (month < 1) {
          month = 12;
          year--;
        }
        day = daysInMonth(year, month);
      } else {
        day--;
      }
      days--;
      secondOfDay = SECONDS_PER_DAY - 1;
    }
  }

  /** The first allowed time of day at or after `secondOfDay`, or -1. */
  #nextTimeOfDay(secondOfDay: number): number {
    let hour = Math.floor(secondOfDay / 3600);
    let minute = Math.floor((secondOfDay % 3600) / 60);
    let second = secondOfDay % 60;
    for (;;) {
      const h = nextBit(this.#hours, hour);
      if (h < 0) return -1;
      if (h !== hour) {
        hour = h;
        minute = 0;
        second = 0;
      }
      const m = nextOfSixty(this.#minutesLow, this.#minutesHigh, minute);
      if (m < 0) {
        if (++hour > 23) return -1;
        minute = 0;
        second = 0;
        continue;
      }
      if (m !== minute) {
        minute = m;
        second = 0;
      }
      const s = nextOfSixty(this.#secondsLow, this.#secondsHigh, second);
      if (s < 0) {
        second = 0;
        if (++minute > 59) {
          minute = 0;
          if (++hour > 23) return -1;
        }
        continue;
      }
      return hour * 3600 + minute * 60 + s;
    }
  }

  /** The last allowed time of day at or before `secondOfDay`, or -1. */
  #prevTimeOfDay(secondOfDay: number): number {
    let hour = Math.floor(secondOfDay / 3600);
    let minute = Math.floor((secondOfDay % 3600) / 60);
    let second = secondOfDay % 60;
    for (;;) {
      const h = prevBit(this.#hours, hour);
      if (h < 0) return -1;
      if (h !== hour) {
        hour = h;
        minute = 59;
        second = 59;
      }
      const m = prevOfSixty(this.#minutesLow, this.#minutesHigh, minute);
      if (m < 0) {
        if (--hour < 0) return -1;
        minute = 59;
        second = 59;
        continue;
      }
      if (m !== minute) {
        minute = m;
        second = 59;
      }
      const s = prevOfSixty(this.#secondsLow, this.#secondsHigh, second);
      if (s < 0) {
        second = 59;
        if (--minute < 0) {
          minute = 59;
          if (--hour < 0) return -1;
        }
        continue;
      }
      return hour * 3600 + minute * 60 + s;
    }
  }

  #dayMatches(year: number, month: number, day: number, days: number): boolean {
    const rules = this.#dayRules;
    const domUnrestricted = (rules & DOM_UNRESTRICTED_BIT) !== 0;
    const dowUnrestricted = (rules & DOW_UNRESTRICTED_BIT) !== 0;
    if (domUnrestricted && dowUnrestricted) return true;
    const monthLength = daysInMonth(year, month);
    const domMatch = hasBit(this.#daysOfMonth, day) || ((rules & DOM_LAST_BIT) !== 0 && day === monthLength);
    if (dowUnrestricted) return domMatch;
    if (domMatch && !domUnrestricted) return true;
    const weekday = dayOfWeek(days);
    const nth = (rules >>> NTH_SHIFT) & 7;
    return (
      (hasBit(rules & DOW_MASK, weekday) && (nth === 0 || Math.ceil(day / 7) === nth)) ||
      (hasBit(rules >>> DOW_LAST_SHIFT, weekday) && day + 7 > monthLength)
    );
  }

  /**
   * When only the day of month is restricted (and without `L`), the next candidate day after
   * `day`: a day number, 0 when none is left this month, or -1 when this shortcut does not apply.
   */
  #nextDomOnly(day: number, monthLength: number): number {
    const rules = this.#dayRules;
    if (!(rules & DOW_UNRESTRICTED_BIT) || rules & DOM_UNRESTRICTED_BIT || rules & DOM_LAST_BIT) return -1;
    const candidate = nextBit(this.#daysOfMonth, day + 1);
    return candidate > 0 && candidate <= monthLength ? candidate : 0;
  }
}

// The bit layout of `FieldMasks`, and the helpers the search uses on it. They live in this module
// (rather than next to `FieldMasks`) so the search loops call them directly: under Vitest, an
// imported function or constant is read through a getter of the module object on every use.

/** Bits 0-6 of `dayRules`: the weekdays (0 = Sunday) of the day-of-week field. */
const DOW_MASK = 0x7f;
/** Bits 8-14: weekdays written `nL` (the month's last such weekday). */
const DOW_LAST_SHIFT = 8;
/** Bits 16-18: the `#` number, 1-5, or 0 when absent. */
const NTH_SHIFT = 16;
/** Day-of-month written `*` or `?`. */
const DOM_UNRESTRICTED_BIT = 1 << 20;
/** Day-of-week written `*` or `?`. */
const DOW_UNRESTRICTED_BIT = 1 << 21;
/** Day-of-month contains `L` (the month's last day). */
const DOM_LAST_BIT = 1 << 22;

export function packDayRules(
  dow: number,
  dowLast: number,
  nth: number,
  domUnrestricted: boolean,
  dowUnrestricted: boolean,
  domLast: boolean,
): number {
  return (
    dow |
    (dowLast << DOW_LAST_SHIFT) |
    (nth << NTH_SHIFT) |
    (domUnrestricted ? DOM_UNRESTRICTED_BIT : 0) |
    (dowUnrestricted ? DOW_UNRESTRICTED_BIT : 0) |
    (domLast ? DOM_LAST_BIT : 0)
  );
}

/** Whether bit `value` (0-31) of `mask` is set. */
export function hasBit(mask: number, value: number): boolean {
  return ((mask >>> value) & 1) === 1;
}

/** The smallest set bit of `mask` at or above `from` (0-31), or -1. */
export function nextBit(mask: number, from: number): number {
  if (from > 31) return -1;
  const above = mask & (-1 << from);
  return above === 0 ? -1 : 31 - Math.clz32(above & -above);
}

/** The largest set bit of `mask` at or below `from` (up to 31), or -1. */
export function prevBit(mask: number, from: number): number {
  if (from < 0) return -1;
  const below = from >= 31 ? mask : mask & ((2 << from) - 1);
  return below === 0 ? -1 : 31 - Math.clz32(below);
}

// The two helpers below run for every `next()`/`prev()`; they are written out rather than built on
// nextBit/prevBit so they stay small enough for V8 to inline into the search loops.

/** The smallest value at or after `from` (0-59) in a low/high pair, or -1. */
export function nextOfSixty(low: number, high: number, from: number): number {
  let start = from;
  if (start < 30) {
    const above = low & (-1 << start);
    if (above !== 0) return 31 - Math.clz32(above & -above);
    start = 30;
  }
  const above = high & (-1 << (start - 30));
  return above === 0 ? -1 : 61 - Math.clz32(above & -above);
}

/** The largest value at or before `from` (0-59) in a low/high pair, or -1. */
export function prevOfSixty(low: number, high: number, from: number): number {
  let start = from;
  if (start >= 30) {
    const below = high & ((2 << (start - 30)) - 1);
    if (below !== 0) return 61 - Math.clz32(below);
    start = 29;
  }
  const below = low & ((2 << start) - 1);
  return below === 0 ? -1 : 31 - Math.clz32(below);
}

/** Whether value `value` (0-59) is in a low/high pair. */
export function hasOfSixty(low: number, high: number, value: number): boolean {
  return value < 30 ? hasBit(low, value) : hasBit(high, value - 30);
}
