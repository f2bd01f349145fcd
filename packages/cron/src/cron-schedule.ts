import { SchedulerError } from '@s3-scheduler/core';
import { IANAZone } from 'luxon';
import { type DstPolicy, resolveDstPolicy } from './dst-policy.js';
import { type ErrorContext, invalidTimezone } from './errors.js';
import { parseExpression } from './parse-expression.js';
import type { WallMatcher } from './wall-matcher.js';
import { countAtOrBefore, ZoneRules } from './zone-rules.js';

export interface ParseCronOptions {
  /** IANA zone the expression's wall times are read in. Default `'UTC'`. */
  timezone?: string;
  /** Overrides the default DST policy (see `DstPolicy`) field by field. */
  dst?: Partial<DstPolicy>;
  /** Named in error messages: `Job '<name>' has invalid cron expression: <expression>`. */
  jobName?: string;
}

export interface CronScheduleJSON {
  expression: string;
  timezone: string;
  dst: DstPolicy;
  isFixedTime: boolean;
}

/** A validated, immutable cron schedule in one time zone. Every result is a whole second. */
export interface CronSchedule {
  /** The expression as given. */
  readonly expression: string;
  readonly timezone: string;
  /** The DST policy in force: the default for the kind of schedule, with any override applied. */
  readonly dst: DstPolicy;
  /** Second, minute and hour contain no `*`, `?` or step: single values, lists and ranges (see README, DST policy). */
  readonly isFixedTime: boolean;
  /** The first fire time strictly after `after`; `null` only beyond the range of `Date`. */
  next(after: Date | number): Date | null;
  /** The last fire time strictly before `before`; `null` only beyond the range of `Date`. */
  prev(before: Date | number): Date | null;
  /** The first `n` fire times strictly after `after`. */
  take(n: number, after: Date | number): Date[];
  /** Whether the instant is a fire time (whole second, matching, and chosen by the DST policy). */
  matches(date: Date | number): boolean;
  toJSON(): CronScheduleJSON;
}

/** Largest and smallest instants (seconds) a `Date` can hold. */
const MAX_SECONDS = 8.64e12;
/** More than any UTC offset (at most 15 hours either way) and any gap (at most a day, Apia 2011). */
const SLACK = 2 * 86_400;
/** How far a search looks: far beyond the longest interval between two fires of a valid expression. */
const HORIZON = 500 * 366 * 86_400;
/**
 * A valid expression fires at least once every 40 years or so (the rarest: the fifth Monday of
 * February), and a zone has at most a few offset changes a year, so a search that crosses this
 * many offset periods is abandoned as a safety net; it never happens for an accepted expression.
 */
const MAX_PERIODS = 4000;

/** Parsed expressions shared between schedules, so 100,000 jobs on a few expressions cost little. */
const parsedCache = new Map<string, WallMatcher>();
const PARSED_CACHE_LIMIT = 10_000;

/**
 * Validates a cron expression and time zone once and returns an immutable schedule.
 * Throws a `SchedulerError` with code `INVALID_CRON`, `INVALID_TIMEZONE`, `INVALID_OPTION` or
 * `UNKNOWN_OPTION`.
 */
export function parseCron(expression: string, options: ParseCronOptions = {}): CronSchedule {
  if (options === null || typeof options !== 'object') {
    throw new SchedulerError(
      `parseCron options must be an object, got ${options === null ? 'null' : typeof options}`,
      {
        code: 'INVALID_OPTION',
        operation: 'parseCron',
        suggestion: "Pass { timezone?, dst?, jobName? }, for example { timezone: 'Europe/London' }.",
        metadata: { options },
      },
    );
  }
  const { timezone = 'UTC', dst, jobName, ...unknown } = options;
  const unknownKeys = Object.keys(unknown);
  if (unknownKeys.length > 0) {
    throw new SchedulerError(`Unknown parseCron option '${unknownKeys[0]}'`, {
      code: 'UNKNOWN_OPTION',
      operation: 'parseCron',
      suggestion: 'parseCron accepts only timezone, dst and jobName.',
      metadata: { option: unknownKeys[0] },
    });
  }
  if (jobName !== undefined && typeof jobName !== 'string') {
    throw new SchedulerError(`parseCron option jobName must be a string, got ${typeof jobName}`, {
      code: 'INVALID_OPTION',
      operation: 'parseCron',
      suggestion: 'Pass the job name as a string, or leave jobName out.',
      metadata: { option: 'jobName' },
    });
  }
  const context: ErrorContext = { jobName, timezone };
  const matcher = parseCached(expression, context);
  if (!isValidTimezone(timezone)) throw invalidTimezone(timezone, context);
  const policy = resolveDstPolicy(matcher.isFixedTime, dst, jobName);
  // Every schedule in a zone refers to one copy of its name, however the caller built the string.
  return new Schedule(expression, validZones.get(timezone) ?? timezone, policy, matcher);
}

/** The error `parseCron` would throw for these arguments, or `null` when they are valid. */
export function validateCron(expression: string, options: ParseCronOptions = {}): SchedulerError | null {
  try {
    parseCron(expression, options);
    return null;
  } catch (error) {
    if (SchedulerError.is(error)) return error;
    throw error;
  }
}

/**
 * The `INVALID_TIMEZONE` error for `zone`, or `null` when it is an IANA time zone name this runtime
 * knows. The one check for every package that takes a zone, so the wording is the same everywhere:
 * `Invalid timezone: 'Europe/Pariss' — not an IANA time zone name known to this Node.js; did you
 * mean 'Europe/Paris'?`, or `Job '<name>' has invalid timezone: …` with `jobName`.
 * `operation` (default `'parseCron'`) and `option` (the name of the option that held the zone,
 * kept in `metadata.option`, with the zone in `metadata.value`) say where the zone came from.
 */
export function timezoneError(
  zone: unknown,
  where: { jobName?: string; operation?: string; option?: string } = {},
): SchedulerError | null {
  if (isValidTimezone(zone)) return null;
  return invalidTimezone(
    zone,
    { jobName: where.jobName, timezone: zone },
    where.operation,
    // Option checks elsewhere name the option and its value in `metadata`; keep that shape too.
    where.option === undefined ? {} : { option: where.option, value: zone },
  );
}

/** Whether `zone` is an IANA time zone name this runtime knows (`'UTC'`, `'America/New_York'`). */
export function isValidTimezone(zone: unknown): zone is string {
  if (typeof zone !== 'string' || zone.length === 0) return false;
  if (validZones.has(zone)) return true;
  // Newer ICU (Node 24) also accepts offsets such as "+05:00"; an offset has no DST rules and is
  // not an IANA name, so it is refused on every Node version alike.
  if (!IANA_NAME.test(zone)) return false;
  // luxon builds an Intl.DateTimeFormat per check; remember the (few) zones that passed.
  if (!IANAZone.isValidZone(zone)) return false;
  validZones.set(zone, zone);
  return true;
}

/** Zone names that passed, each mapped to the first string seen with that name (interned). */
const validZones = new Map<string, string>();
const IANA_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/;

function parseCached(expression: unknown, context: ErrorContext): WallMatcher {
  if (typeof expression === 'string') {
    const hit = parsedCache.get(expression);
    if (hit !== undefined) return hit;
  }
  const parsed = parseExpression(expression, context);
  if (parsedCache.size >= PARSED_CACHE_LIMIT) parsedCache.clear();
  parsedCache.set(expression as string, parsed);
  return parsed;
}

class Schedule implements CronSchedule {
  readonly expression: string;
  readonly timezone: string;
  readonly dst: DstPolicy;
  readonly isFixedTime: boolean;
  readonly #matcher: WallMatcher;
  readonly #zone: ZoneRules;

  // Six fields and no more: the DST policy is read from the shared, frozen `dst` object rather
  // than copied, so a schedule costs about 70 bytes besides its shared matcher.
  constructor(expression: string, timezone: string, dst: DstPolicy, matcher: WallMatcher) {
    this.expression = expression;
    this.timezone = timezone;
    this.dst = dst;
    this.isFixedTime = matcher.isFixedTime;
    this.#matcher = matcher;
    this.#zone = ZoneRules.for(timezone);
    Object.freeze(this);
  }

  next(after: Date | number): Date | null {
    const seconds = this.#firstAtOrAfter(Math.floor(toMillis(after, 'next') / 1000) + 1);
    return seconds === null ? null : new Date(seconds * 1000);
  }

  prev(before: Date | number): Date | null {
    const seconds = this.#lastAtOrBefore(Math.ceil(toMillis(before, 'prev') / 1000) - 1);
    return seconds === null ? null : new Date(seconds * 1000);
  }

  take(n: number, after: Date | number): Date[] {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new SchedulerError(`take(n) needs a non-negative integer, got ${String(n)}`, {
        code: 'INVALID_OPTION',
        operation: 'take',
        suggestion: 'Pass how many fire times you want, for example take(5, new Date()).',
        metadata: { n },
      });
    }
    const out: Date[] = [];
    let seconds = Math.floor(toMillis(after, 'take') / 1000);
    while (out.length < n) {
      const found = this.#firstAtOrAfter(seconds + 1);
      if (found === null) break;
      out.push(new Date(found * 1000));
      seconds = found;
    }
    return out;
  }

  matches(date: Date | number): boolean {
    const millis = toMillis(date, 'matches');
    if (millis % 1000 !== 0) return false;
    const seconds = millis / 1000;
    return this.#firstAtOrAfter(seconds) === seconds;
  }

  toJSON(): CronScheduleJSON {
    return {
      expression: this.expression,
      timezone: this.timezone,
      dst: { gap: this.dst.gap, overlap: this.dst.overlap },
      isFixedTime: this.isFixedTime,
    };
  }

  /**
   * The first fire time at or after `start` (seconds). The zone's timeline is cut into periods of
   * constant offset; inside one, wall time and UTC differ by a constant, so the wall-clock search
   * of the matcher maps straight onto instants. At the start of a period that follows a
   * spring-forward gap, a matching wall time inside the gap fires there (`gap: 'shift'`); a wall
   * time repeated by a fall-back is filtered by `overlap`.
   */
  #firstAtOrAfter(start: number): number | null {
    const zone = this.#zone;
    const matcher = this.#matcher;
    const overlap = this.dst.overlap;
    let seconds = start;
    for (let period = 0; period < MAX_PERIODS && seconds <= MAX_SECONDS; period++) {
      // Skip quiet stretches without reading the zone: a fire at instant v needs a matching wall
      // time within a day of v (its own, or one in the gap it ends), so none can come before the
      // first matching wall time at or after `seconds - SLACK`, minus SLACK.
      const quietUntil = matcher.next(seconds - SLACK, seconds + HORIZON) - SLACK;
      if (Number.isNaN(quietUntil)) return null;
      if (quietUntil > seconds) seconds = quietUntil;
      const year = zone.year(seconds);
      const transitions = year.transitions;
      const index = countAtOrBefore(year, seconds);
      const offset = index === 0 ? year.startOffset : transitions[index - 1]!.after;
      if (this.dst.gap === 'shift') {
        // A transition exactly at the start of a UTC year is listed with the previous year.
        const transition =
          index > 0
            ? transitions[index - 1]
            : seconds === year.start
              ? zone.transitionAtOrBefore(seconds)
              : undefined;
        if (
          transition !== undefined &&
          transition.at === seconds &&
          transition.after > transition.before &&
          !Number.isNaN(matcher.next(seconds + transition.before, seconds + transition.after))
        ) {
          return seconds;
        }
      }
      const end = index < transitions.length ? transitions[index]!.at : year.end;
      const limit = end + offset;
      let wall = matcher.next(seconds + offset, limit);
      while (!Number.isNaN(wall)) {
        const instant = wall - offset;
        if (overlap === 'both' || this.#isChosenOccurrence(instant, wall, overlap)) {
          return instant <= MAX_SECONDS ? instant : null;
        }
        wall = matcher.next(wall + 1, limit);
      }
      seconds = end;
    }
    return null;
  }

  /** The last fire time at or before `start` (seconds); the mirror image of `#firstAtOrAfter`. */
  #lastAtOrBefore(start: number): number | null {
    const zone = this.#zone;
    const matcher = this.#matcher;
    const overlap = this.dst.overlap;
    let seconds = start;
    for (let period = 0; period < MAX_PERIODS && seconds >= -MAX_SECONDS; period++) {
      const quietFrom = matcher.prev(seconds + SLACK, seconds - HORIZON) + SLACK;
      if (Number.isNaN(quietFrom)) return null;
      if (quietFrom < seconds) seconds = quietFrom;
      const year = zone.year(seconds);
      const transitions = year.transitions;
      const index = countAtOrBefore(year, seconds);
      const offset = index === 0 ? year.startOffset : transitions[index - 1]!.after;
      const periodStart = index > 0 ? transitions[index - 1]!.at : year.start;
      const floor = periodStart + offset;
      let wall = matcher.prev(seconds + offset, floor);
      while (!Number.isNaN(wall)) {
        const instant = wall - offset;
        if (overlap === 'both' || this.#isChosenOccurrence(instant, wall, overlap)) {
          return instant >= -MAX_SECONDS ? instant : null;
        }
        wall = matcher.prev(wall - 1, floor);
      }
      if (this.dst.gap === 'shift') {
        const transition = index > 0 ? transitions[index - 1] : zone.transitionAtOrBefore(periodStart);
        if (
          transition !== undefined &&
          transition.at === periodStart &&
          transition.after > transition.before &&
          !Number.isNaN(matcher.next(periodStart + transition.before, periodStart + transition.after))
        ) {
          return periodStart;
        }
      }
      seconds = periodStart - 1;
    }
    return null;
  }

  /**
   * For a wall time that a fall-back repeats, whether `instant` is the occurrence the overlap
   * policy runs. `first`: not the second pass (the wall time already happened before the latest
   * backward transition). `last`: not the first pass (it happens again after the next one).
   */
  #isChosenOccurrence(instant: number, wall: number, overlap: DstPolicy['overlap']): boolean {
    if (overlap === 'first') {
      const previous = this.#zone.transitionAtOrBefore(instant);
      return !(
        previous !== undefined &&
        previous.before > previous.after &&
        wall < previous.at + previous.before
      );
    }
    const following = this.#zone.transitionAfter(instant);
    return !(
      following !== undefined &&
      following.before > following.after &&
      wall >= following.at + following.after
    );
  }
}

function toMillis(value: Date | number, method: string): number {
  const millis = value instanceof Date ? value.getTime() : value;
  if (typeof millis !== 'number' || !Number.isFinite(millis)) {
    throw new SchedulerError(`${method}() needs a valid Date or epoch milliseconds, got ${String(value)}`, {
      code: 'INVALID_OPTION',
      operation: method,
      suggestion: 'Pass a Date (not an Invalid Date) or a finite number of milliseconds since the epoch.',
      metadata: { value: String(value) },
    });
  }
  return millis;
}
