import { daysFromCivil, SECONDS_PER_DAY, yearOfSeconds } from './calendar.js';

/** A change of a zone's UTC offset. All values are whole seconds. */
export interface Transition {
  /** The first instant (seconds since the epoch) with the new offset. */
  readonly at: number;
  /** Offset (wall minus UTC, seconds) just before `at`. */
  readonly before: number;
  /** Offset from `at` on. */
  readonly after: number;
}

/** The offsets of one zone during one UTC calendar year. */
export interface YearRules {
  readonly year: number;
  /** First second of the year (UTC), seconds since the epoch. */
  readonly start: number;
  /** First second of the next year. */
  readonly end: number;
  /** Offset in effect at `start`. */
  readonly startOffset: number;
  /** Transitions with `start < at <= end`, in order. */
  readonly transitions: readonly Transition[];
}

/**
 * Offsets are sampled this far apart and each change found is narrowed to the second by bisection.
 * Two changes closer together than this could hide each other (an offset that changes and changes
 * back between two samples). In the tz database the closest pair since 1900 is 6.96 days apart
 * (America/Boa_Vista, October 2000; Asia/Gaza's predicted 2040 rules): checked for every zone,
 * 1900-2100, against sampling every six hours.
 */
const SAMPLE_STEP_SECONDS = 5 * SECONDS_PER_DAY;

/**
 * The UTC offsets of one IANA zone, computed from `Intl` once per zone and year and cached, so that
 * the next-run search reads offsets and transitions from small arrays instead of formatting dates.
 * Loading a year costs about 110 `Intl` calls (well under a millisecond).
 */
export class ZoneRules {
  readonly #offsetAt: (seconds: number) => number;
  readonly #years = new Map<number, YearRules>();
  #last: YearRules | undefined;

  private constructor(offsetAt: (seconds: number) => number) {
    this.#offsetAt = offsetAt;
  }

  /** Rules for a zone `Intl` accepts; one shared instance per canonical zone name. */
  static for(zone: string): ZoneRules {
    const known = byName.get(zone);
    if (known !== undefined) return known;
    const canonical = new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
    let rules = byCanonicalName.get(canonical);
    if (rules === undefined) {
      const fixed = fixedOffsetSeconds(canonical);
      rules = new ZoneRules(fixed === undefined ? intlOffsetReader(canonical) : () => fixed);
      byCanonicalName.set(canonical, rules);
    }
    byName.set(zone, rules);
    return rules;
  }

  /** The rules of the UTC year containing `seconds`. */
  year(seconds: number): YearRules {
    const last = this.#last;
    if (last !== undefined && seconds >= last.start && seconds < last.end) return last;
    const rules = this.yearRules(yearOfSeconds(seconds));
    this.#last = rules;
    return rules;
  }

  yearRules(year: number): YearRules {
    let rules = this.#years.get(year);
    if (rules === undefined) {
      rules = this.#load(year);
      this.#years.set(year, rules);
    }
    return rules;
  }

  /** Offset (wall minus UTC, seconds) at an instant. */
  offsetAt(seconds: number): number {
    const rules = this.year(seconds);
    const index = countAtOrBefore(rules, seconds);
    return index === 0 ? rules.startOffset : rules.transitions[index - 1]!.after;
  }

  /** The latest transition at or before `seconds`, looking back at most into the previous year. */
  transitionAtOrBefore(seconds: number): Transition | undefined {
    const rules = this.year(seconds);
    const index = countAtOrBefore(rules, seconds);
    if (index > 0) return rules.transitions[index - 1];
    const previous = this.yearRules(rules.year - 1).transitions;
    return previous[previous.length - 1];
  }

  /** The earliest transition after `seconds`, looking ahead at most into the next year. */
  transitionAfter(seconds: number): Transition | undefined {
    const rules = this.year(seconds);
    const index = countAtOrBefore(rules, seconds);
    if (index < rules.transitions.length) return rules.transitions[index];
    return this.yearRules(rules.year + 1).transitions[0];
  }

  #load(year: number): YearRules {
    const start = daysFromCivil(year, 1, 1) * SECONDS_PER_DAY;
    const end = daysFromCivil(year + 1, 1, 1) * SECONDS_PER_DAY;
    const offsetAt = this.#offsetAt;
    const transitions: Transition[] = [];
    const startOffset = offsetAt(start);
    let low = start;
    let lowOffset = startOffset;
    while (low < end) {
      const high = Math.min(low + SAMPLE_STEP_SECONDS, end);
      const highOffset = offsetAt(high);
      if (highOffset !== lowOffset) findTransitions(offsetAt, low, lowOffset, high, highOffset, transitions);
      low = high;
      lowOffset = highOffset;
    }
    return { year, start, end, startOffset, transitions };
  }
}

/** One instance per canonical zone, found by any name it was asked for (`utc`, `Etc/UTC`). */
const byCanonicalName = new Map<string, ZoneRules>();
const byName = new Map<string, ZoneRules>();

/** How many transitions of the year happen at or before `seconds`. */
export function countAtOrBefore(rules: YearRules, seconds: number): number {
  const transitions = rules.transitions;
  let index = 0;
  while (index < transitions.length && transitions[index]!.at <= seconds) index++;
  return index;
}

/** Every transition in `(low, high]`, where the offsets at both ends are known to differ. */
function findTransitions(
  offsetAt: (seconds: number) => number,
  low: number,
  lowOffset: number,
  high: number,
  highOffset: number,
  out: Transition[],
): void {
  let from = low;
  let fromOffset = lowOffset;
  // A sample interval may hold more than one transition (A to B to C): find the first change,
  // then continue from it until the offset at the end of the interval is reached.
  while (fromOffset !== highOffset) {
    let a = from;
    let b = high;
    while (b - a > 1) {
      const mid = a + Math.floor((b - a) / 2);
      if (offsetAt(mid) === fromOffset) a = mid;
      else b = mid;
    }
    const after = offsetAt(b);
    out.push({ at: b, before: fromOffset, after });
    from = b;
    fromOffset = after;
  }
}

/** Zones whose offset never changes, so no table is needed. */
function fixedOffsetSeconds(canonical: string): number | undefined {
  if (/^(Etc\/)?(UTC|UCT|GMT|GMT0|Universal|Zulu|Greenwich)$/.test(canonical)) return 0;
  const match = /^Etc\/GMT([+-])(\d{1,2})$/.exec(canonical);
  // POSIX sign convention: Etc/GMT+5 is five hours *behind* UTC.
  if (match) return (match[1] === '+' ? -1 : 1) * Number(match[2]) * 3600;
  return undefined;
}

const WALL_PATTERN = /^(\d+)\/(\d+)\/(\d+) (AD|BC),? (\d+):(\d+):(\d+)$/;

/**
 * Reads a zone's offset at an instant by formatting it with `Intl` and subtracting. `format` plus
 * a regular expression is about four times faster than `formatToParts` (what luxon uses).
 */
function intlOffsetReader(zone: string): (seconds: number) => number {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    era: 'short',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  return (seconds) => {
    const text = format.format(seconds * 1000);
    const match = WALL_PATTERN.exec(text);
    let year: number;
    let month: number;
    let day: number;
    let hour: number;
    let minute: number;
    let second: number;
    if (match) {
      year = Number(match[3]);
      month = Number(match[1]);
      day = Number(match[2]);
      if (match[4] === 'BC') year = 1 - year;
      hour = Number(match[5]);
      minute = Number(match[6]);
      second = Number(match[7]);
    } else {
      // Some ICU builds format differently: fall back to the slower, structured form.
      const parts: Record<string, string> = {};
      for (const part of format.formatToParts(seconds * 1000)) parts[part.type] = part.value;
      year = Number(parts.year);
      if (parts.era === 'BC' || parts.era === 'B') year = 1 - year;
      month = Number(parts.month);
      day = Number(parts.day);
      hour = Number(parts.hour) % 24;
      minute = Number(parts.minute);
      second = Number(parts.second);
    }
    const wall = daysFromCivil(year, month, day) * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second;
    return wall - seconds;
  };
}
