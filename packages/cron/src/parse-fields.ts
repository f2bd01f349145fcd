import { type FieldMasks, packDayRules } from './wall-matcher.js';

/**
 * The six fields of a cron expression (seconds first) parsed into bitmasks, with Vixie cron's
 * rules: each field is a set, so a list may repeat or overlap values (`0,7`, `1-10,5`); a field
 * whose text begins with `*` or `?` is a wildcard for the day-of-month / day-of-week rule. On top
 * of Vixie's grammar: names anywhere a number goes, `?`, `a/n` (= `a-max/n`), a day-of-week range
 * ending in `7` or `SUN` (`MON-SUN`), and the Quartz / croner extensions `L`, `LW`, `nW` (day of
 * month), `nL` and `n#k` (day of week).
 *
 * One pass over the text, no allocation on success (about a microsecond). An invalid field throws
 * a `FieldSyntaxError` naming the field, the offending text and what is allowed; the caller turns
 * it into a `SchedulerError`.
 */
export function parseFields(fields: readonly string[]): FieldMasks {
  const [second, minute, hour, dayOfMonth, month, dayOfWeek] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  parseField(second, SECOND);
  const secondsLow = scratch.low;
  const secondsHigh = scratch.high;
  parseField(minute, MINUTE);
  const minutesLow = scratch.low;
  const minutesHigh = scratch.high;
  parseField(hour, HOUR);
  const hours = scratch.low;
  parseField(month, MONTH);
  const months = scratch.low;
  parseField(dayOfMonth, DAY_OF_MONTH);
  const daysOfMonth = scratch.low | (scratch.high << 30);
  const nearestWeekdays = scratch.nearest;
  const domLast = scratch.last;
  const domLastWeekday = scratch.lastWeekday;
  parseField(dayOfWeek, DAY_OF_WEEK);
  // Bits 0-7 of the day-of-week values; 7 is Sunday.
  const weekdays = (scratch.low & 0x7f) | ((scratch.low >>> 7) & 1);
  const lastWeekdays = (scratch.lastWeekdays & 0x7f) | ((scratch.lastWeekdays >>> 7) & 1);
  return {
    secondsLow,
    secondsHigh,
    minutesLow,
    minutesHigh,
    hours,
    months,
    daysOfMonth,
    nearestWeekdays,
    dayRules: packDayRules({
      weekdays,
      lastWeekdays,
      nth: scratch.nth,
      daysOfMonth,
      nearestWeekdays,
      domStar: startsWithWildcard(dayOfMonth),
      dowStar: startsWithWildcard(dayOfWeek),
      domLast,
      domLastWeekday,
    }),
  };
}

/** Vixie's test for DOM_STAR / DOW_STAR: the field's first character (a step over `*` counts as a wildcard too). */
export function startsWithWildcard(field: string): boolean {
  const first = field.charCodeAt(0);
  return first === STAR || first === QUESTION;
}

/** A field that cannot be parsed: which field (0-5, seconds first), why, and what to write instead. */
export class FieldSyntaxError extends Error {
  constructor(
    readonly fieldIndex: number,
    readonly reason: string,
    readonly suggestion: string,
  ) {
    super(reason);
    this.name = 'FieldSyntaxError';
  }
}

interface FieldSpec {
  readonly index: number;
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** What the field accepts, for error messages. */
  readonly allowed: string;
  readonly names?: Readonly<Record<string, number>>;
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

const SECOND: FieldSpec = { index: 0, name: 'second', min: 0, max: 59, allowed: '0-59' };
const MINUTE: FieldSpec = { index: 1, name: 'minute', min: 0, max: 59, allowed: '0-59' };
const HOUR: FieldSpec = { index: 2, name: 'hour', min: 0, max: 23, allowed: '0-23' };
const DAY_OF_MONTH: FieldSpec = {
  index: 3,
  name: 'day-of-month',
  min: 1,
  max: 31,
  allowed: '1-31, L (last day), LW (last weekday) or 1W-31W (nearest weekday)',
};
const MONTH: FieldSpec = {
  index: 4,
  name: 'month',
  min: 1,
  max: 12,
  allowed: '1-12 or JAN-DEC',
  names: MONTH_NAMES,
};
const DAY_OF_WEEK: FieldSpec = {
  index: 5,
  name: 'day-of-week',
  min: 0,
  max: 7,
  allowed: '0-7 or SUN-SAT (0 and 7 are Sunday), 5L (last Friday), 1#2 (second Monday)',
  names: WEEKDAY_NAMES,
};

/** The field just parsed. Module state rather than a returned object, so parsing allocates nothing. */
const scratch = {
  /** Values: bit `v` for v < 30, bit `v - 30` of `high`. */
  low: 0,
  high: 0,
  /** Day of month: bits of `nW`, and whether `L` / `LW` appear. */
  nearest: 0,
  last: false,
  lastWeekday: false,
  /** Day of week: bits of `nL` (0-7), and the `k` of `n#k`. */
  lastWeekdays: 0,
  nth: 0,
};

/** Where `parseField` is in its text. */
let cursor = 0;

const DIGIT_0 = 48;
const DIGIT_9 = 57;
const COMMA = 44;
const DASH = 45;
const SLASH = 47;
const STAR = 42;
const QUESTION = 63;
const HASH = 35;

/** Fields longer than this are refused (cron-parser's limit for a whole expression). */
const MAX_FIELD_LENGTH = 1024;

function parseField(text: string, spec: FieldSpec): void {
  scratch.low = 0;
  scratch.high = 0;
  scratch.nearest = 0;
  scratch.last = false;
  scratch.lastWeekday = false;
  scratch.lastWeekdays = 0;
  scratch.nth = 0;
  if (text.length > MAX_FIELD_LENGTH) {
    fail(
      spec,
      text,
      `is longer than ${MAX_FIELD_LENGTH} characters`,
      'Write a shorter list, using ranges and steps.',
    );
  }
  cursor = 0;
  const length = text.length;
  for (;;) {
    const itemStart = cursor;
    parseItem(text, spec);
    if (cursor < length && text.charCodeAt(cursor) !== COMMA) {
      unexpected(text, spec, cursor, itemStart);
    }
    if (cursor >= length) break;
    cursor++; // past the comma
    if (cursor >= length || text.charCodeAt(cursor) === COMMA) {
      fail(spec, text, 'has an empty list item', 'Separate values with single commas: 1,15,30.');
    }
  }
  if (scratch.nth !== 0 && text.includes(',')) {
    fail(
      spec,
      text,
      'combines n#k with other values; # must stand alone in the day-of-week field',
      'Use one n#k per expression (1#2 is the second Monday), or list plain weekdays.',
    );
  }
}

/** One list item at the cursor, added to `scratch`; the cursor ends after it. */
function parseItem(text: string, spec: FieldSpec): void {
  const start = cursor;
  const first = text.charCodeAt(cursor);
  let from: number;
  let to: number;
  let single = false;
  if (first === STAR || first === QUESTION) {
    from = spec.min;
    to = spec.max;
    cursor++;
  } else if (spec === DAY_OF_MONTH && (first === 76 || first === 108)) {
    // `L`, `LW`
    cursor++;
    const next = text.charCodeAt(cursor);
    if (next === 87 || next === 119) {
      cursor++;
      scratch.lastWeekday = true;
    } else if (next === DASH) {
      fail(
        spec,
        text,
        `'${itemText(text, start)}' (an offset from the last day) is not supported`,
        'Use L for the last day of the month, LW for its last weekday, or list the days.',
      );
    } else {
      scratch.last = true;
    }
    return;
  } else {
    from = readValue(text, spec, false);
    to = from;
    single = true;
    if (text.charCodeAt(cursor) === DASH) {
      cursor++;
      to = readValue(text, spec, true);
      single = false;
    }
  }
  let step = 1;
  if (text.charCodeAt(cursor) === SLASH) {
    cursor++;
    const stepStart = cursor;
    step = readDigits(text);
    if (step < 0) unexpected(text, spec, stepStart, start);
    if (step === 0) {
      fail(
        spec,
        text,
        `step 0 in '${itemText(text, start)}' must be a positive integer`,
        `Write a step of 1 or more, for example */15; allowed values: ${spec.allowed}.`,
      );
    }
    if (single) to = spec.max; // `a/n` is `a-max/n`
    single = false;
  }
  if (!(from >= spec.min && from <= spec.max)) outOfRange(text, spec, from, start);
  if (!(to >= spec.min && to <= spec.max)) outOfRange(text, spec, to, start);
  if (from > to) {
    fail(
      spec,
      text,
      `range '${itemText(text, start)}' is reversed (${from} is after ${to})`,
      spec === DAY_OF_WEEK && to === 0
        ? 'Write the range up to 7 (Sunday), for example 1-7 or MON-SUN.'
        : `Write the smaller value first; for a range that wraps around, list both parts (22-23,0-2). Allowed values: ${spec.allowed}.`,
    );
  }
  if (single) {
    const next = text.charCodeAt(cursor);
    if (spec === DAY_OF_MONTH && (next === 87 || next === 119)) {
      cursor++;
      scratch.nearest |= 1 << from;
      return;
    }
    if (spec === DAY_OF_WEEK && (next === 76 || next === 108)) {
      cursor++;
      scratch.lastWeekdays |= 1 << from;
      return;
    }
    if (spec === DAY_OF_WEEK && next === HASH) {
      cursor++;
      const nthStart = cursor;
      const nth = readDigits(text);
      if (nth < 0) unexpected(text, spec, nthStart, start);
      if (nth < 1 || nth > 5) {
        fail(
          spec,
          text,
          `'${itemText(text, start)}': the week number after # must be 1-5, got ${nth}`,
          'Write n#k with k from 1 to 5, for example 1#2 for the second Monday of the month.',
        );
      }
      scratch.nth = nth;
      scratch.low |= 1 << from;
      return;
    }
  }
  if (single) {
    if (from < 30) scratch.low |= 1 << from;
    else scratch.high |= 1 << (from - 30);
    return;
  }
  for (let value = from; value <= to; value += step) {
    if (value < 30) scratch.low |= 1 << value;
    else scratch.high |= 1 << (value - 30);
  }
}

/** The number or name at the cursor, moving past it. `rangeEnd`: `SUN` ending a range is 7. */
function readValue(text: string, spec: FieldSpec, rangeEnd: boolean): number {
  const start = cursor;
  const digits = readDigits(text);
  if (digits >= 0) return digits;
  const names = spec.names;
  const name = text.slice(start, start + 3).toLowerCase();
  if (names !== undefined && Object.hasOwn(names, name)) {
    cursor = start + 3;
    // A name must stand alone: `FRIL` is `5L`, but `janfeb` or `monday` is not a name.
    const after = text.charCodeAt(cursor);
    const isSuffix =
      spec === DAY_OF_WEEK && (after === 76 || after === 108) && !isLetter(text.charCodeAt(cursor + 1));
    if (!isLetter(after) || isSuffix) {
      const value = names[name]!;
      return rangeEnd && spec === DAY_OF_WEEK && value === 0 ? 7 : value;
    }
  }
  cursor = start;
  return unexpected(text, spec, start);
}

/** The decimal number at the cursor, moving past it; -1 when there is no digit there. */
function readDigits(text: string): number {
  const start = cursor;
  let index = start;
  let value = 0;
  for (; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < DIGIT_0 || code > DIGIT_9) break;
    value = value * 10 + (code - DIGIT_0);
  }
  cursor = index;
  return index === start ? -1 : value;
}

function isLetter(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

/** The list item that starts at `start`. */
function itemText(text: string, start: number): string {
  const end = text.indexOf(',', start);
  return text.slice(start, end < 0 ? text.length : end);
}

function outOfRange(text: string, spec: FieldSpec, value: number, start: number): never {
  const item = itemText(text, start);
  const shown = Number.isSafeInteger(value) ? String(value) : 'the value';
  return fail(
    spec,
    text,
    `${shown}${item === shown ? '' : ` in '${item}'`} is out of range (allowed: ${spec.allowed})`,
    `Keep each ${spec.name} value within ${spec.min}-${spec.max}.`,
  );
}

/** A character the grammar does not allow at `at`: says which, with the special cases named. */
function unexpected(text: string, spec: FieldSpec, at: number, itemStart = at): never {
  const item = itemText(text, itemStart);
  const rest = text.slice(at);
  const bare = text.replace(/[a-z]{3}/gi, '');
  if (/h/i.test(bare) && /h/i.test(rest.replace(/[a-z]{3}/gi, ''))) {
    return fail(
      spec,
      text,
      `hashed values (H) are not supported: every scheduler instance would hash its own value`,
      'Write the value explicitly, for example 17 instead of H.',
    );
  }
  if (/^[0-9]*[wW]/.test(rest) && spec !== DAY_OF_MONTH) {
    return fail(
      spec,
      text,
      `W (nearest weekday) is only allowed in the day-of-month field`,
      'Write nW in the day-of-month field (15W: the weekday nearest the 15th), or LW for the last weekday.',
    );
  }
  if (/^[a-z]/i.test(rest)) {
    const word = /^[a-z]+/i.exec(rest)![0];
    return fail(
      spec,
      text,
      spec.names === undefined
        ? `'${word}' is not a number (allowed: ${spec.allowed})`
        : `unknown name '${word}' (allowed: ${spec.allowed})`,
      spec.names === undefined
        ? `Write ${spec.name} values as numbers within ${spec.min}-${spec.max}.`
        : `Use three-letter names (${Object.keys(spec.names).join(', ').toUpperCase()}) or numbers.`,
    );
  }
  const shown = rest.length === 0 ? 'the end of the field' : `'${rest.charAt(0)}'`;
  return fail(
    spec,
    text,
    `unexpected ${shown}${item.length > 0 ? ` in '${item}'` : ''} (allowed: ${spec.allowed}, with lists 1,15, ranges 1-5 and steps */15)`,
    `Write ${spec.name} values as numbers${spec.names ? ' or names' : ''}, *, lists, ranges and steps.`,
  );
}

function fail(spec: FieldSpec, text: string, detail: string, suggestion: string): never {
  throw new FieldSyntaxError(spec.index, `${spec.name} field '${text}': ${detail}`, suggestion);
}
