/**
 * An independent reference for the tests: Vixie cron's matching rules written out the slow, obvious
 * way (sets of numbers, `Date` for weekdays and month lengths), sharing no code with the
 * implementation. It reads only well-formed expressions (what the tests generate) and throws on
 * anything else.
 *
 * - Each field is the union of its list items (`0,7`, `1-10,5` are fine).
 * - Day-of-month and day-of-week: when the text of either begins with `*` or `?`, a day must match
 *   both; otherwise either (Vixie `cron.c`).
 * - `L` (last day), `LW` (last Monday-Friday), `nW` (the Monday-Friday nearest day n, never leaving
 *   the month; Quartz), `nL` (last weekday n of the month), `n#k` (k-th weekday n).
 */

const PRESETS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

export interface ReferenceRule {
  seconds: Set<number>;
  minutes: Set<number>;
  hours: Set<number>;
  /** Whether the calendar date (month 1-12) matches the month and day fields. */
  dateMatches(year: number, month: number, day: number): boolean;
  /** Whether the wall time (milliseconds, wall clock read as UTC) matches every field. */
  matches(wallMs: number): boolean;
}

function value(text: string, names: string[] | undefined, offset: number): number {
  if (/^\d+$/.test(text)) return Number(text);
  const index = names?.indexOf(text.toLowerCase()) ?? -1;
  if (index < 0) throw new Error(`reference: cannot read '${text}'`);
  return index + offset;
}

/** The numbers of a field of plain items (`*`, `?`, values, ranges, steps); other items go to `special`. */
function expand(
  field: string,
  min: number,
  max: number,
  names?: string[],
  offset = 0,
  special: (item: string) => boolean = () => false,
): Set<number> {
  const out = new Set<number>();
  for (const item of field.split(',')) {
    if (special(item)) continue;
    const match = /^(?:([*?])|(\w+)(?:-(\w+))?)(?:\/(\d+))?$/.exec(item);
    if (!match) throw new Error(`reference: cannot read '${item}'`);
    const [, star, a, b, step] = match;
    let from = min;
    let to = max;
    if (!star) {
      from = value(a!, names, offset);
      to = b === undefined ? (step === undefined ? from : max) : value(b, names, offset);
      // `MON-SUN`: Sunday ending a range is 7.
      if (b !== undefined && b.toLowerCase() === 'sun') to = 7;
    }
    for (let v = from; v <= to; v += step === undefined ? 1 : Number(step)) out.add(v);
  }
  return out;
}

const DAY_MS = 86_400_000;

function weekdayOf(year: number, month: number, day: number): number {
  return (((Math.floor(Date.UTC(year, month - 1, day) / DAY_MS) + 4) % 7) + 7) % 7; // 1970-01-01: Thursday
}

function lengthOf(year: number, month: number): number {
  return (Date.UTC(year, month, 1) - Date.UTC(year, month - 1, 1)) / DAY_MS;
}

function lastWeekdayOf(year: number, month: number): number {
  let day = lengthOf(year, month);
  while (weekdayOf(year, month, day) % 6 === 0) day--;
  return day;
}

/** The Monday-Friday day nearest day `n` of the month, within the month; undefined if no day `n`. */
export function nearestWeekday(year: number, month: number, n: number): number | undefined {
  const length = lengthOf(year, month);
  if (n > length) return undefined;
  const weekday = weekdayOf(year, month, n);
  if (weekday === 6) return n === 1 ? 3 : n - 1;
  if (weekday === 0) return n === length ? n - 2 : n + 1;
  return n;
}

export function referenceRule(expression: string): ReferenceRule {
  const source = PRESETS[expression.trim().toLowerCase()] ?? expression;
  const parts = source.trim().split(/\s+/);
  if (parts.length === 5) parts.unshift('0');
  const [secondText, minuteText, hourText, domText, monthText, dowText] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const seconds = expand(secondText, 0, 59);
  const minutes = expand(minuteText, 0, 59);
  const hours = expand(hourText, 0, 23);
  const months = expand(monthText, 1, 12, MONTHS, 1);

  const domItems = domText.split(',');
  const domLast = domItems.some((item) => item.toUpperCase() === 'L');
  const domLastWeekday = domItems.some((item) => item.toUpperCase() === 'LW');
  const nearest = domItems.filter((item) => /^\d+W$/i.test(item)).map((item) => Number.parseInt(item, 10));
  const dom = expand(domText, 1, 31, undefined, 0, (item) => /^(L|LW|\d+W)$/i.test(item));

  const dowItems = dowText.split(',');
  const lastOf = new Set(
    dowItems
      .filter((item) => /^\w+L$/i.test(item) && item.length > 1)
      .map((item) => value(item.slice(0, -1), WEEKDAYS, 0) % 7),
  );
  const nthItem = dowItems.map((item) => /^(\w+)#(\d)$/.exec(item)).find((match) => match !== null);
  const nth = nthItem ? Number(nthItem[2]) : undefined;
  const dow = new Set(
    [
      ...expand(dowText, 0, 7, WEEKDAYS, 0, (item) => /^\w+L$/i.test(item) || item.includes('#')),
      ...(nthItem ? [value(nthItem[1]!, WEEKDAYS, 0)] : []),
    ].map((day) => day % 7),
  );
  const and = /^[*?]/.test(domText) || /^[*?]/.test(dowText);

  const dateMatches = (year: number, month: number, day: number): boolean => {
    if (!months.has(month)) return false;
    const length = lengthOf(year, month);
    const weekday = weekdayOf(year, month, day);
    const domMatch =
      dom.has(day) ||
      (domLast && day === length) ||
      (domLastWeekday && day === lastWeekdayOf(year, month)) ||
      nearest.some((n) => nearestWeekday(year, month, n) === day);
    const dowMatch =
      (dow.has(weekday) && (nth === undefined || Math.ceil(day / 7) === nth)) ||
      (lastOf.has(weekday) && day + 7 > length);
    return and ? domMatch && dowMatch : domMatch || dowMatch;
  };

  return {
    seconds,
    minutes,
    hours,
    dateMatches,
    matches(wallMs) {
      const wall = new Date(wallMs);
      if (!seconds.has(wall.getUTCSeconds()) || !minutes.has(wall.getUTCMinutes())) return false;
      if (!hours.has(wall.getUTCHours())) return false;
      return dateMatches(wall.getUTCFullYear(), wall.getUTCMonth() + 1, wall.getUTCDate());
    },
  };
}

/**
 * Whether the expression's day fields match some date in 2000-2399 (one whole 400-year cycle of
 * the Gregorian calendar, so the answer holds for every year): the reference for "can never fire".
 */
export function referenceCanFire(rule: ReferenceRule): boolean {
  for (let year = 2000; year < 2400; year++) {
    for (let month = 1; month <= 12; month++) {
      const length = lengthOf(year, month);
      for (let day = 1; day <= length; day++) if (rule.dateMatches(year, month, day)) return true;
    }
  }
  return false;
}
