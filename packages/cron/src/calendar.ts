/**
 * Proleptic Gregorian calendar arithmetic on whole days since 1970-01-01, with no `Date` objects:
 * the next-run search runs on the hot path of a scheduler with 100,000 jobs, and integer maths is
 * an order of magnitude cheaper than building dates. The day algorithms are Howard Hinnant's
 * (`days_from_civil`, `civil_from_days`), exact for every year JavaScript can represent.
 */

export const SECONDS_PER_DAY = 86_400;

/** Days from 1970-01-01 to the given date; `month` is 1-12. */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** A calendar date; `month` is 1-12. */
export interface CivilDate {
  year: number;
  month: number;
  day: number;
}

/** The calendar date `days` days after 1970-01-01. */
export function civilFromDays(days: number): CivilDate {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

export function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month]!;
}

/** 0 = Sunday … 6 = Saturday; 1970-01-01 was a Thursday. */
export function dayOfWeek(days: number): number {
  return (((days + 4) % 7) + 7) % 7;
}

/** The UTC calendar year containing the instant (seconds since the epoch). */
export function yearOfSeconds(seconds: number): number {
  return civilFromDays(Math.floor(seconds / SECONDS_PER_DAY)).year;
}
