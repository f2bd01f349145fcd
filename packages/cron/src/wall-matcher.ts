import { civilFromDays, dayOfWeek, daysFromCivil, daysInMonth, SECONDS_PER_DAY } from './calendar.js';

/**
 * The values of the six fields of an expression as bitmasks: a parsed schedule is a handful of
 * small integers instead of arrays or lookup tables, so 100,000 distinct expressions cost little
 * heap. Every mask stays within 32 bits (V8 keeps such values unboxed, as small integers); the
 * 60 values of seconds and minutes are split at 30 into a low and a high word.
 *
 * - `secondsLow`/`secondsHigh`, `minutesLow`/`minutesHigh`: bit `v` of low is value `v` (0-29),
 *   bit `v - 30` of high is value `v` (30-59).
 * - `hours`: bit `h` (0-23). `months`: bit `m` (1-12). `daysOfMonth`: bit `d` (1-31; bit 31 is
 *   the sign bit, which the bit helpers below handle).
 * - `nearestWeekdays`: bit `d` for each `dW` of the day-of-month field (1-31).
 * - `dayRules`: day-of-week values, `nL` weekdays, the `#` number and the flags, packed as
 *   described by the `DOW_*` and `*_BIT` constants below (see `packDayRules`).
 *
 * The type lives with its only reader, the matcher; the parser (`parse-fields.ts`) builds it.
 */
export interface FieldMasks {
  readonly secondsLow: number;
  readonly secondsHigh: number;
  readonly minutesLow: number;
  readonly minutesHigh: number;
  readonly hours: number;
  readonly months: number;
  readonly daysOfMonth: number;
  readonly nearestWeekdays: number;
  readonly dayRules: number;
}

/**
 * Matches wall-clock times (a local date and time, no zone) against the fields of an expression,
 * and finds the next or previous matching wall time by walking the fields: months, then days,
 * then hours, minutes and seconds, skipping whole ranges at each level. Wall times are "wall
 * seconds": seconds since 1970-01-01T00:00:00 *as if the local time were UTC*.
 *
 * The fields are held as the bitmasks of `FieldMasks` (nine small integers, about 100 bytes per
 * distinct expression), and one matcher is shared by every schedule on the same expression.
 *
 * Day semantics are Vixie cron's (`cron.c`): when the text of either day field begins with `*`
 * (`*`, a step over `*`, or `?`) a day must match **both** fields; when both are restricted it must match
 * **either**. Within a field: `L` in day-of-month is the month's last day, `LW` its last weekday
 * (Monday-Friday), `15W` the weekday nearest the 15th within the month; `5L` in day-of-week is the
 * month's last Friday, `1#2` its second Monday.
 */
export class WallMatcher {
  /** True when second, minute and hour contain no `*`, `?` or step (see README, DST policy). */
  readonly isFixedTime: boolean;
  readonly #secondsLow: number;
  readonly #secondsHigh: number;
  readonly #minutesLow: number;
  readonly #minutesHigh: number;
  readonly #hours: number;
  readonly #months: number;
  readonly #daysOfMonth: number;
  readonly #nearestWeekdays: number;
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
    this.#nearestWeekdays = masks.nearestWeekdays;
    this.#dayRules = masks.dayRules;
  }

  /**
   * Whether some day of some allowed month can match, in some year. A month's days are decided by
   * its length and the weekday of its 1st, and within every 400-year cycle of the Gregorian
   * calendar each month starts on each weekday in both its lengths (February: 28 and 29 days), so
   * trying those at most 12 x 2 x 7 month shapes is exact. At most about 5,000 day checks (tens of
   * microseconds), and one for the common expressions.
   */
  canFire(): boolean {
    if (this.#dayRules & ANY_DAY_BIT) return this.#months !== 0;
    for (let month = 1; month <= 12; month++) {
      if (!hasBit(this.#months, month)) continue;
      const longest = month === 2 ? 29 : daysInMonth(2001, month);
      for (let length = month === 2 ? 28 : longest; length <= longest; length++) {
        for (let firstWeekday = 0; firstWeekday < 7; firstWeekday++) {
          for (let day = 1; day <= length; day++) {
            if (this.#dayMatchesIn(day, length, (firstWeekday + day - 1) % 7)) return true;
          }
        }
      }
    }
    return false;
  }

  /** Whether the day-of-month field alone (ignoring day-of-week) matches some day of an allowed month. */
  domCanMatch(): boolean {
    for (let month = 1; month <= 12; month++) {
      if (!hasBit(this.#months, month)) continue;
      const length = month === 2 ? 29 : daysInMonth(2001, month);
      for (let firstWeekday = 0; firstWeekday < 7; firstWeekday++) {
        for (let day = 1; day <= length; day++) {
          if (this.#domMatches(day, length, (firstWeekday + day - 1) % 7)) return true;
        }
      }
    }
    return false;
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
        const target = this.#nextCandidateDay(day, days, monthLength);
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
    if (rules & ANY_DAY_BIT) return true;
    if (rules & DOM_ONLY_BIT) return hasBit(this.#daysOfMonth, day);
    return this.#dayMatchesIn(day, daysInMonth(year, month), dayOfWeek(days));
  }

  /** The day rule for day `day` of a month of `length` days, where `day` falls on `weekday` (0 = Sunday). */
  #dayMatchesIn(day: number, length: number, weekday: number): boolean {
    const rules = this.#dayRules;
    if (rules & ANY_DAY_BIT) return true;
    const domMatch = this.#domMatches(day, length, weekday);
    // Vixie: a day field whose text begins with `*` makes the two fields combine with AND.
    if (rules & (DOM_STAR_BIT | DOW_STAR_BIT)) return domMatch && dowMatches(rules, day, length, weekday);
    return domMatch || dowMatches(rules, day, length, weekday);
  }

  #domMatches(day: number, length: number, weekday: number): boolean {
    if (hasBit(this.#daysOfMonth, day)) return true;
    const rules = this.#dayRules;
    if (rules & DOM_LAST_BIT && day === length) return true;
    if (weekday === 0 || weekday === 6) return false; // `W` and `LW` are Monday to Friday
    if (rules & DOM_LAST_WEEKDAY_BIT && day === lastWeekday(length, (weekday + length - day) % 7))
      return true;
    return this.#nearestWeekdays !== 0 && isNearestWeekday(this.#nearestWeekdays, day, length, weekday);
  }

  /**
   * A lower bound for the next matching day after `day` (a day of the month on day number `days`),
   * so the walk can skip days that cannot match. With AND and every weekday allowed: the next
   * listed day of month, or the last day for `L`. With AND and every day of month allowed: the
   * next allowed weekday, within the k-th week for `n#k`, within the last seven days for `nL`.
   * Returns a day number, 0 when no later day of this month can match, or -1 when no shortcut
   * applies (try the next day).
   */
  #nextCandidateDay(day: number, days: number, monthLength: number): number {
    const rules = this.#dayRules;
    if (rules & DOM_JUMP_BIT) {
      let candidate = nextBit(this.#daysOfMonth, day + 1);
      if (candidate < 0 || candidate > monthLength) candidate = rules & DOM_LAST_BIT ? monthLength : 0;
      return candidate > day ? candidate : 0;
    }
    if (rules & DOW_JUMP_BIT) {
      const weekdays = rules & DOW_MASK;
      const nth = (rules >>> NTH_SHIFT) & 7;
      if (nth !== 0 && day >= nth * 7) return 0;
      const lowest = nth !== 0 ? (nth - 1) * 7 + 1 : weekdays === 0 ? monthLength - 6 : 1;
      let target = Math.max(day + 1, lowest);
      // Move on to the first allowed weekday (plain or `nL`) at or after `target`.
      const allowed = weekdays | ((rules >>> DOW_LAST_SHIFT) & DOW_MASK);
      const weekday = dayOfWeek(days + (target - day));
      const rotated = ((allowed >>> weekday) | (allowed << (7 - weekday))) & DOW_MASK;
      target += 31 - Math.clz32(rotated & -rotated);
      return target <= monthLength ? target : 0;
    }
    return -1;
  }
}

/** The day-of-week field alone, for day `day` of a month of `length` days falling on `weekday`. */
function dowMatches(rules: number, day: number, length: number, weekday: number): boolean {
  const nth = (rules >>> NTH_SHIFT) & 7;
  return (
    (hasBit(rules & DOW_MASK, weekday) && (nth === 0 || Math.ceil(day / 7) === nth)) ||
    (hasBit(rules >>> DOW_LAST_SHIFT, weekday) && day + 7 > length)
  );
}

/** The last Monday-to-Friday day of a month of `length` days whose last day falls on `lastDayWeekday`. */
function lastWeekday(length: number, lastDayWeekday: number): number {
  return lastDayWeekday === 6 ? length - 1 : lastDayWeekday === 0 ? length - 2 : length;
}

/**
 * Whether weekday `day` (Monday-Friday, falling on `weekday`) is the weekday nearest one of the
 * days `d` listed as `dW` in `mask`, within a month of `length` days (Quartz and croner): `d`
 * itself on a weekday; a Saturday `d` moves to Friday, or to Monday the 3rd when `d` is the 1st; a
 * Sunday `d` moves to Monday, or to Friday when `d` is the month's last day. A `d` the month does
 * not have never matches (like a plain day of month).
 */
function isNearestWeekday(mask: number, day: number, length: number, weekday: number): boolean {
  if (hasBit(mask, day)) return true;
  if (weekday === 5) {
    // Saturday the next day (day + 1 >= 2); Sunday in two days, when that is the last day.
    return (day + 1 <= length && hasBit(mask, day + 1)) || (day + 2 === length && hasBit(mask, day + 2));
  }
  if (weekday === 1) {
    // Sunday the day before (never the last day); Saturday the 1st, when this is the 3rd.
    return (day >= 2 && hasBit(mask, day - 1)) || (day === 3 && hasBit(mask, 1));
  }
  return false;
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
/** The day-of-month text begins with `*` or `?` (Vixie's DOM_STAR). */
const DOM_STAR_BIT = 1 << 20;
/** The day-of-week text begins with `*` or `?` (Vixie's DOW_STAR). */
const DOW_STAR_BIT = 1 << 21;
/** Day-of-month contains `L` (the month's last day). */
const DOM_LAST_BIT = 1 << 22;
/** Day-of-month contains `LW` (the month's last weekday). */
const DOM_LAST_WEEKDAY_BIT = 1 << 23;
/** Derived: every day matches (so the day fields need not be read at all). */
const ANY_DAY_BIT = 1 << 24;
/** Derived: a day matches exactly when its number is in `daysOfMonth`. */
const DOM_ONLY_BIT = 1 << 25;
/** Derived: AND with every weekday, day-of-month plain or with `L`: the walk jumps to listed days. */
const DOM_JUMP_BIT = 1 << 26;
/** Derived: AND with every day of month, day-of-week restricted: the walk jumps to allowed weekdays. */
const DOW_JUMP_BIT = 1 << 27;

const ALL_DAYS_OF_MONTH = 0xfffffffe | 0; // bits 1-31
const ALL_WEEKDAYS = 0x7f;

/** What the parser read from the two day fields. */
export interface DayFields {
  /** Bits 0-6: plain weekdays (7 folded into 0). */
  readonly weekdays: number;
  /** Bits 0-6: weekdays written `nL`. */
  readonly lastWeekdays: number;
  /** The `k` of `n#k`, or 0. */
  readonly nth: number;
  readonly daysOfMonth: number;
  readonly nearestWeekdays: number;
  readonly domStar: boolean;
  readonly dowStar: boolean;
  readonly domLast: boolean;
  readonly domLastWeekday: boolean;
}

/** Packs the day fields into `dayRules`, with the derived shortcuts the search uses. */
export function packDayRules(day: DayFields): number {
  const and = day.domStar || day.dowStar;
  const domPlain = !day.domLast && !day.domLastWeekday && day.nearestWeekdays === 0;
  const dowPlain = day.lastWeekdays === 0 && day.nth === 0;
  const domAll = domPlain && day.daysOfMonth === ALL_DAYS_OF_MONTH;
  const dowAll = dowPlain && day.weekdays === ALL_WEEKDAYS;
  const anyDay = and ? domAll && dowAll : domAll || dowAll;
  // With AND and every weekday allowed, only the day-of-month decides (and the reverse).
  const domOnly = domPlain && and && dowAll;
  const domJump = and && dowAll && !day.domLastWeekday && day.nearestWeekdays === 0;
  const dowJump = and && domAll && !dowAll;
  return (
    day.weekdays |
    (day.lastWeekdays << DOW_LAST_SHIFT) |
    (day.nth << NTH_SHIFT) |
    (day.domStar ? DOM_STAR_BIT : 0) |
    (day.dowStar ? DOW_STAR_BIT : 0) |
    (day.domLast ? DOM_LAST_BIT : 0) |
    (day.domLastWeekday ? DOM_LAST_WEEKDAY_BIT : 0) |
    (anyDay ? ANY_DAY_BIT : 0) |
    (domOnly ? DOM_ONLY_BIT : 0) |
    (domJump ? DOM_JUMP_BIT : 0) |
    (dowJump ? DOW_JUMP_BIT : 0)
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
