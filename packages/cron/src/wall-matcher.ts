import type { CronFieldCollection } from 'cron-parser';
import { civilFromDays, dayOfWeek, daysFromCivil, daysInMonth, SECONDS_PER_DAY } from './calendar.js';

/**
 * The day-of-month and day-of-week rules of one expression, in the form the search needs. The
 * semantics are cron-parser's (`CronExpression#matchDayOfMonth`): when both fields are
 * restricted a day matches if either does (Vixie's OR); a field written as `*` or `?` is
 * unrestricted; `L` in day-of-month is the month's last day; `5L` in day-of-week is the month's
 * last Friday; `1#2` is its second Monday.
 */
interface DayRules {
  readonly domUnrestricted: boolean;
  readonly dowUnrestricted: boolean;
  readonly dom: Uint8Array; // index 1-31
  readonly domLast: boolean;
  readonly dow: Uint8Array; // index 0-6
  readonly dowLast: Uint8Array; // weekdays written `nL`
  readonly nth: number; // 1-5 from `#`, 0 when absent
}

/**
 * Matches wall-clock times (a local date and time, no zone) against the fields cron-parser
 * parsed, and finds the next or previous matching wall time by walking the fields: months, then
 * days, then hours, minutes and seconds, skipping whole ranges at each level. Wall times are
 * "wall seconds": seconds since 1970-01-01T00:00:00 *as if the local time were UTC*.
 */
export class WallMatcher {
  readonly #secondNext: Int8Array;
  readonly #secondPrev: Int8Array;
  readonly #minuteNext: Int8Array;
  readonly #minutePrev: Int8Array;
  readonly #hourNext: Int8Array;
  readonly #hourPrev: Int8Array;
  readonly #months: Uint8Array;
  readonly #days: DayRules;
  /** Day-of-month values in ascending order, for jumping straight to the next one. */
  readonly #domSorted: readonly number[];

  constructor(fields: CronFieldCollection) {
    [this.#secondNext, this.#secondPrev] = lookups(fields.second.values as number[], 60);
    [this.#minuteNext, this.#minutePrev] = lookups(fields.minute.values as number[], 60);
    [this.#hourNext, this.#hourPrev] = lookups(fields.hour.values as number[], 24);
    this.#months = new Uint8Array(13);
    for (const month of fields.month.values as number[]) this.#months[month] = 1;

    const dom = new Uint8Array(32);
    let domLast = false;
    for (const value of fields.dayOfMonth.values as (number | string)[]) {
      if (value === 'L') domLast = true;
      else dom[Number(value)] = 1;
    }
    const dow = new Uint8Array(7);
    const dowLast = new Uint8Array(7);
    for (const value of fields.dayOfWeek.values as (number | string)[]) {
      if (typeof value === 'number') dow[value % 7] = 1;
      else dowLast[Number(value.charAt(0)) % 7] = 1; // `nL`; cron-parser rejects a bare `L` here
    }
    this.#days = {
      domUnrestricted: fields.dayOfMonth.isWildcard,
      dowUnrestricted: fields.dayOfWeek.isWildcard,
      dom,
      domLast,
      dow,
      dowLast,
      nth: fields.dayOfWeek.nthDay,
    };
    this.#domSorted = [...dom.keys()].filter((day) => dom[day] === 1);
  }

  /** Whether the day can ever match in the given month of some year (February counted as 29 days). */
  canMatchInMonth(month: number): boolean {
    const days = this.#days;
    if (!this.#months[month]) return false;
    // An unrestricted or restricted day-of-week matches some day of every month (every weekday
    // occurs at least four times; `#5` needs a fifth, which every month but a common February has).
    if (!days.dowUnrestricted || days.domUnrestricted || days.domLast) return true;
    const longest = month === 2 ? 29 : daysInMonth(2001, month);
    return this.#domSorted.some((day) => day <= longest);
  }

  /** Whether the wall time (wall seconds) matches every field. */
  matches(wall: number): boolean {
    const days = Math.floor(wall / SECONDS_PER_DAY);
    const secondOfDay = wall - days * SECONDS_PER_DAY;
    const hour = Math.floor(secondOfDay / 3600);
    const minute = Math.floor((secondOfDay % 3600) / 60);
    const second = secondOfDay % 60;
    if (this.#hourNext[hour] !== hour || this.#minuteNext[minute] !== minute) return false;
    if (this.#secondNext[second] !== second) return false;
    const date = civilFromDays(days);
    return this.#months[date.month] === 1 && this.#dayMatches(date.year, date.month, date.day, days);
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
      if (this.#months[month] !== 1) {
        // Jump to the first day of the next allowed month.
        do {
          month++;
          if (month > 12) {
            month = 1;
            year++;
          }
        } while (this.#months[month] !== 1);
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
      if (this.#months[month] !== 1) {
        do {
          month--;
          if (month < 1) {
            month = 12;
            year--;
          }
        } while (this.#months[month] !== 1);
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
      const h = this.#hourNext[hour]!;
      if (h < 0) return -1;
      if (h !== hour) {
        hour = h;
        minute = 0;
        second = 0;
      }
      const m = this.#minuteNext[minute]!;
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
      const s = this.#secondNext[second]!;
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
      const h = this.#hourPrev[hour]!;
      if (h < 0) return -1;
      if (h !== hour) {
        hour = h;
        minute = 59;
        second = 59;
      }
      const m = this.#minutePrev[minute]!;
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
      const s = this.#secondPrev[second]!;
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
    const rules = this.#days;
    if (rules.domUnrestricted && rules.dowUnrestricted) return true;
    const monthLength = daysInMonth(year, month);
    const domMatch = rules.dom[day] === 1 || (rules.domLast && day === monthLength);
    if (rules.dowUnrestricted) return domMatch;
    if (domMatch && !rules.domUnrestricted) return true;
    const weekday = dayOfWeek(days);
    return (
      (rules.dow[weekday] === 1 && (rules.nth === 0 || Math.ceil(day / 7) === rules.nth)) ||
      (rules.dowLast[weekday] === 1 && day + 7 > monthLength)
    );
  }

  /**
   * When only the day of month is restricted (and without `L`), the next candidate day after
   * `day`: a day number, 0 when none is left this month, or -1 when this shortcut does not apply.
   */
  #nextDomOnly(day: number, monthLength: number): number {
    const rules = this.#days;
    if (!rules.dowUnrestricted || rules.domUnrestricted || rules.domLast) return -1;
    for (const candidate of this.#domSorted) {
      if (candidate > day) return candidate <= monthLength ? candidate : 0;
    }
    return 0;
  }
}

/** For each value, the nearest allowed value at or after it and at or before it (-1: none). */
function lookups(values: readonly number[], size: number): [Int8Array, Int8Array] {
  const allowed = new Uint8Array(size);
  for (const value of values) allowed[value] = 1;
  const next = new Int8Array(size).fill(-1);
  const prev = new Int8Array(size).fill(-1);
  let nearest = -1;
  for (let value = size - 1; value >= 0; value--) {
    if (allowed[value]) nearest = value;
    next[value] = nearest;
  }
  nearest = -1;
  for (let value = 0; value < size; value++) {
    if (allowed[value]) nearest = value;
    prev[value] = nearest;
  }
  return [next, prev];
}
