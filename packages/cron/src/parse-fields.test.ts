import { CronExpressionParser, type CronFieldCollection } from 'cron-parser';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateCron } from './index.js';
import { FieldSyntaxError, parseFields } from './parse-fields.js';
import { referenceCanFire, referenceRule } from './vixie-reference.test-helpers.js';
import { type FieldMasks, nextBit, nextOfSixty, prevBit, prevOfSixty } from './wall-matcher.js';

/**
 * The parser against cron-parser, where the two grammars agree, and against the Vixie reference of
 * `vixie-reference.test-helpers.ts` where they do not. For fields of numbers, names, `*`, `?`,
 * lists, ranges and steps (well-formed or not): when cron-parser accepts, we accept with the same
 * values; when we accept and cron-parser refuses, the reason is one of the documented differences
 * (a value listed twice or ranges that overlap, which Vixie cron accepts as a union; a day-of-week
 * range ending in SUN; a day of month no month has, which is checked after parsing); when we refuse
 * and cron-parser accepts, the field glues names together (`janfeb`, which cron-parser reads as
 * `12`). Malformed items made of the same characters are generated on purpose.
 */

const SEED = 20_251_127;

/** The value sets we compare: every mask except the packed day rules (whose flags differ by design). */
type Values = Omit<FieldMasks, 'dayRules' | 'nearestWeekdays'> & { weekdays: number };

function ours(fields: readonly string[]): Values | FieldSyntaxError {
  try {
    const masks = parseFields(fields);
    return { ...withoutDayRules(masks), weekdays: masks.dayRules & 0x7f };
  } catch (error) {
    if (error instanceof FieldSyntaxError) return error;
    throw error;
  }
}

function withoutDayRules(masks: FieldMasks): Omit<FieldMasks, 'dayRules' | 'nearestWeekdays'> {
  const { dayRules: _rules, nearestWeekdays: _nearest, ...values } = masks;
  return values;
}

/** cron-parser's verdict: its values as masks, or its error message. */
function cronParser(fields: readonly string[]): Values | string {
  try {
    return valuesOf(CronExpressionParser.parse(fields.join(' '), { currentDate: 0, tz: 'UTC' }).fields);
  } catch (error) {
    return (error as Error).message;
  }
}

function valuesOf(fields: CronFieldCollection): Values {
  const bits = (values: readonly (number | string)[]) =>
    values.reduce<number>((mask, v) => (typeof v === 'number' ? mask | (1 << v) : mask), 0);
  const sixty = (values: readonly number[]): [number, number] => [
    bits(values.filter((v) => v < 30)),
    bits(values.filter((v) => v >= 30).map((v) => v - 30)),
  ];
  const [secondsLow, secondsHigh] = sixty(fields.second.values as number[]);
  const [minutesLow, minutesHigh] = sixty(fields.minute.values as number[]);
  const weekdays = (fields.dayOfWeek.values as (number | string)[])
    .filter((v): v is number => typeof v === 'number')
    .reduce((mask, v) => mask | (1 << (v % 7)), 0);
  return {
    secondsLow,
    secondsHigh,
    minutesLow,
    minutesHigh,
    hours: bits(fields.hour.values as number[]),
    months: bits(fields.month.values as number[]),
    daysOfMonth: bits(fields.dayOfMonth.values as (number | string)[]),
    weekdays,
  };
}

/** cron-parser drops the days a single allowed month never has (`*,31` in April): compare the rest. */
const LONGEST_MONTH = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
function existingDays(values: Values): Values {
  const months = values.months;
  if ((months & (months - 1)) !== 0) return values;
  const existing = (2 << LONGEST_MONTH[31 - Math.clz32(months)]!) - 1;
  return { ...values, daysOfMonth: values.daysOfMonth & existing };
}

/** Where cron-parser refuses what Vixie cron (and we) accept; see the README's comparison table. */
function isDocumentedRefusal(message: string, fields: readonly string[]): boolean {
  return (
    /duplicate values found/.test(message) ||
    (/^Invalid range: \d+-0,/.test(message) && /-sun/i.test(fields[5]!)) ||
    /Invalid explicit day of month definition/.test(message) ||
    /W/i.test(fields[3]!)
  );
}

/** A number for a field of `min`-`max`: mostly in range, sometimes just outside or oddly written. */
function number(min: number, max: number): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 12, arbitrary: fc.integer({ min, max }).map(String) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(String(max + 1), String(min - 1), '00', '007', '0000000000000005'),
    },
    { weight: 1, arbitrary: fc.constantFrom('99999999999', '', '-0') },
  );
}
const step = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 1, max: 61 }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('0', '00', '05', '1000', '123456789012345678901234', '') },
);
const wildcard = fc.constantFrom('*', '?');

/** Two values in range, in order. */
function ordered(min: number, max: number): fc.Arbitrary<[number, number]> {
  return fc
    .tuple(fc.integer({ min, max }), fc.integer({ min, max }))
    .map(([a, b]): [number, number] => (a <= b ? [a, b] : [b, a]));
}

/** A list item of the subset's characters: well-formed (`tame`) or anything. */
function item(min: number, max: number, names: readonly string[], tame: boolean): fc.Arbitrary<string> {
  const inRange = fc.integer({ min, max }).map(String);
  const value = tame ? inRange : number(min, max);
  const named = names.length > 0 ? fc.oneof(value, fc.constantFrom(...names)) : value;
  const steps = tame ? fc.integer({ min: 1, max: 61 }).map(String) : step;
  const wellFormed: fc.WeightedArbitrary<string>[] = [
    { weight: 6, arbitrary: named },
    { weight: 1, arbitrary: wildcard },
    { weight: 4, arbitrary: ordered(min, max).map(([a, b]) => `${a}-${b}`) },
    { weight: 2, arbitrary: fc.tuple(wildcard, steps).map(([a, s]) => `${a}/${s}`) },
    { weight: 2, arbitrary: fc.tuple(value, steps).map(([a, s]) => `${a}/${s}`) },
    { weight: 3, arbitrary: fc.tuple(ordered(min, max), steps).map(([[a, b], s]) => `${a}-${b}/${s}`) },
  ];
  if (tame) return fc.oneof(...wellFormed);
  return fc.oneof(
    ...wellFormed,
    { weight: 4, arbitrary: fc.tuple(named, named).map(([a, b]) => `${a}-${b}`) },
    { weight: 3, arbitrary: fc.tuple(named, named, step).map(([a, b, s]) => `${a}-${b}/${s}`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '',
        '-5',
        '5-',
        '*5',
        '**',
        '*-5',
        '5/',
        '/5',
        '1-2-3',
        '1/2/3',
        '*/5/2',
        '?/0',
      ),
    },
  );
}

/** A field; mostly well-formed, one in six anything (reversed ranges, junk, out of range). */
function field(min: number, max: number, names: readonly string[] = []): fc.Arbitrary<string> {
  const list = (tame: boolean) =>
    fc.array(item(min, max, names, tame), { minLength: 1, maxLength: 3 }).map((items) => items.join(','));
  return fc
    .oneof(
      { weight: 3, arbitrary: fc.constantFrom('*', '?') },
      { weight: 6, arbitrary: list(true) },
      { weight: 2, arbitrary: list(false) },
    )
    .filter((text) => text.length > 0); // an empty field would merge with its neighbour when joined
}

const MONTHS = ['jan', 'FEB', 'Mar', 'apr', 'jun', 'sep', 'nov', 'dec', 'janfeb', 'xyz', 'june'];
const WEEKDAYS = ['sun', 'MON', 'Tue', 'wed', 'thu', 'fri', 'SAT', 'monfri', 'abc', 'sunday'];

/** Six fields of the subset's characters (plus names, some unknown). */
const subsetFields = fc.tuple(
  field(0, 59),
  field(0, 59),
  field(0, 23),
  field(1, 31),
  field(1, 12, MONTHS),
  field(0, 7, WEEKDAYS),
);

/** Fields that also contain what only some grammars have (`L`, `#`, `nL`, `H`, `W`). */
const foreign = fc.constantFrom('L', '5L', '1#2', 'H', 'H/5', '15W', 'L-2', 'LW', '0#5', '7L');
const mixedFields = fc
  .tuple(subsetFields, fc.integer({ min: 0, max: 5 }), foreign)
  .map(([fields, index, extra]) => fields.map((text, i) => (i === index ? `${text},${extra}` : text)));

/** Whether a field is written only with the subset's characters and known names. */
function inSubset(fields: readonly string[]): boolean {
  const known = /^(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|sun|mon|tue|wed|thu|fri|sat)$/i;
  return fields.every((text) =>
    (text.match(/[a-z]{3}/gi) ?? []).every((name) => known.test(name))
      ? /^[0-9*?,/-]*$/.test(text.replace(/[a-z]{3}/gi, '0'))
      : false,
  );
}

describe('parseFields agrees with cron-parser where the grammars agree', () => {
  function compare(fields: readonly string[]): 'accepted' | 'refused' {
    const fast = ours(fields);
    const slow = cronParser(fields);
    if (!(fast instanceof FieldSyntaxError)) {
      if (typeof slow === 'string')
        expect(isDocumentedRefusal(slow, fields), `${fields.join(' ')}: ${slow}`).toBe(true);
      else expect(existingDays(fast)).toEqual(existingDays(slow));
      return 'accepted';
    }
    // Names of other fields (a month name in day-of-week) and glued names are foreign to both.
    if (typeof slow !== 'string' && inSubset(fields)) {
      expect(
        fields.some((text) => /[a-z]{4,}/i.test(text)),
        `${fields.join(' ')}: ${fast.reason}`,
      ).toBe(true);
    }
    return 'refused';
  }

  it('on fields of numbers, names, wildcards, lists, ranges and steps, well-formed or not', () => {
    let accepted = 0;
    fc.assert(
      fc.property(subsetFields, (fields) => {
        if (compare(fields) === 'accepted') accepted++;
      }),
      { seed: SEED, numRuns: 10_000 },
    );
    // The generator must reach accepted expressions often enough for the comparison to mean something.
    expect(accepted).toBeGreaterThan(1_000);
  });

  it('on common expressions', () => {
    for (const expression of [
      '0 * * * * *',
      '0 30 2 * * *',
      '0 */15 * * * *',
      '0 0 9-17 * * 1-5',
      '0 0 0 1 1 *',
      '0 0 0 29 2 *',
      '0 0 0 30 2 1',
      '0 0 0 31 4,6 1',
      '0 0 0 15,31 4 *',
      '0 0 0 * * 7',
      '0 0 0 * * 5-7',
      '0 0 0 * * 1-7/2',
      '0 0 0 * * */7',
      '0 0 12 * JAN-MAR MON-FRI',
      '*/10 * * ? * ?',
      '5/20 10-50/7 0,12 1-31/10 */5 0',
      '0 0 0 L * *',
      '0 0 0 L,15 * *',
      '0 0 0 * * 5L',
      '0 0 0 * * 1#2',
      '0 0 0 * * 7#1',
    ]) {
      const fields = expression.split(' ');
      expect(ours(fields), expression).not.toBeInstanceOf(FieldSyntaxError);
      expect(existingDays(ours(fields) as Values), expression).toEqual(
        existingDays(cronParser(fields) as Values),
      );
    }
  });

  it('on fields mixing in what only some grammars have (L, #, nL, H, W)', () => {
    fc.assert(
      fc.property(mixedFields, (fields) => {
        compare(fields);
      }),
      { seed: SEED + 1, numRuns: 2_000 },
    );
  });
});

describe('the syntax Vixie cron and croner accept', () => {
  it.each([
    // Overlaps are a union (Vixie builds each field as a set).
    ['0 0 * * 0,7', '0 0 * * 0'],
    ['1 1 0-6,1,10 * * *', '1 1 0-6,10 * * *'],
    ['*/10,30-35 * * * * *', '0,10,20,30-35,40,50 * * * * *'],
    ['0,0 * * * *', '0 * * * *'],
    ['0 0 1-10,5 * *', '0 0 1-10 * *'],
    ['0 0 * JAN,1 *', '0 0 * 1 *'],
    // A day-of-week range may end on Sunday, written SUN or 7.
    ['0 0 * * MON-SUN', '0 0 * * 0-6'],
    ['0 0 * * FRI-SUN', '0 0 * * 0,5,6'],
    ['0 0 * * 5-7', '0 0 * * 0,5,6'],
    ['0 0 * * SUN-SAT', '0 0 * * 0-6'],
  ])('%s has the values of %s', (expression, same) => {
    const a = parseFields(['0', ...expression.split(' ')].slice(-6));
    const b = parseFields(['0', ...same.split(' ')].slice(-6));
    expect(withoutDayRules(a)).toEqual(withoutDayRules(b));
    expect(a.dayRules & 0x7f).toBe(b.dayRules & 0x7f);
  });

  it.each([
    ['1-0', 'day-of-week', "range '1-0' is reversed", 'up to 7'],
    ['5-1', 'day-of-week', "range '5-1' is reversed", 'smaller value first'],
    ['1#2,3', 'day-of-week', '# must stand alone', 'n#k'],
    ['1#6', 'day-of-week', 'must be 1-5, got 6', '1#2'],
    ['8', 'day-of-week', '8 is out of range (allowed: 0-7', 'within 0-7'],
    ['1W', 'day-of-week', 'W (nearest weekday) is only allowed in the day-of-month field', 'nW'],
    ['L', 'day-of-week', "unknown name 'L'", 'three-letter names'],
    ['monday', 'day-of-week', "unknown name 'monday'", 'three-letter names'],
  ])(
    'refuses day-of-week %j, naming the field, the value and what is allowed',
    (dow, field, reason, suggestion) => {
      expectRefused(['0', '0', '0', '*', '*', dow], field, reason, suggestion);
    },
  );

  it.each([
    ['L-2', 'an offset from the last day) is not supported'],
    ['1W-3', "unexpected '-' in '1W-3'"],
    ['32W', "32 in '32W' is out of range (allowed: 1-31"],
    ['0', '0 is out of range (allowed: 1-31, L'],
    ['1,,2', 'has an empty list item'],
    ['1,', 'has an empty list item'],
  ])('refuses day-of-month %j', (dom, reason) => {
    expectRefused(['0', '0', '0', dom, '*', '*'], 'day-of-month', reason, '');
  });

  function expectRefused(fields: string[], field: string, reason: string, suggestion: string): void {
    const error = ours(fields);
    expect(error).toBeInstanceOf(FieldSyntaxError);
    const { reason: got, suggestion: help, fieldIndex } = error as FieldSyntaxError;
    expect(['second', 'minute', 'hour', 'day-of-month', 'month', 'day-of-week'][fieldIndex]).toBe(field);
    expect(got).toContain(`${field} field '${fields[fieldIndex]}': `);
    expect(got).toContain(reason);
    expect(help).toContain(suggestion);
  }
});

describe('can-never-fire detection agrees with a scan of a whole 400-year cycle', () => {
  const dayField = (...values: string[]) => fc.constantFrom(...values);
  const dayFields = fc.tuple(
    dayField(
      '*',
      '?',
      '1',
      '29',
      '30',
      '31',
      '30,31',
      'L',
      'LW',
      '1W',
      '31W',
      '*/2',
      '*/31',
      '?/15',
      '15-31/8',
      '2-5',
    ),
    dayField('*', '2', '4,6,9,11', 'feb', '*/2', '2,4'),
    dayField('*', '?', '0', '6', '0,6', '*/7', '*/1', '1-5', '5L', '0#5', '1#5', '6#1', 'SAT-SUN', '*/6'),
  );

  it('for random day-of-month, month and day-of-week fields', () => {
    let refused = 0;
    fc.assert(
      fc.property(dayFields, ([dom, month, dow]) => {
        const expression = `0 0 ${dom} ${month} ${dow}`;
        const error = validateCron(expression);
        const fires = referenceCanFire(referenceRule(expression));
        expect(error === null, `${expression}: ${error?.message}`).toBe(fires);
        if (error !== null) {
          refused++;
          expect(String(error.metadata.reason)).toMatch(/^it can never fire: /);
        }
      }),
      { seed: SEED + 4, numRuns: 300 },
    );
    expect(refused).toBeGreaterThan(5);
  });

  it('relies on every month starting on every weekday, in both lengths of February, within 400 years', () => {
    const seen = new Set<string>();
    for (let year = 2000; year < 2400; year++) {
      for (let month = 0; month < 12; month++) {
        const length = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
        seen.add(`${month}:${length}:${new Date(Date.UTC(year, month, 1)).getUTCDay()}`);
      }
    }
    expect(seen.size).toBe(13 * 7);
  });
});

describe('bit helpers', () => {
  const mask = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
  const naiveNext = (m: number, from: number) => {
    for (let bit = Math.max(from, 0); bit <= 31; bit++) if ((m >>> bit) & 1) return bit;
    return -1;
  };
  const naivePrev = (m: number, from: number) => {
    for (let bit = Math.min(from, 31); bit >= 0; bit--) if ((m >>> bit) & 1) return bit;
    return -1;
  };

  it('nextBit and prevBit find the nearest set bit, bit 31 included', () => {
    fc.assert(
      fc.property(mask, fc.integer({ min: 0, max: 33 }), (m, from) => {
        expect(nextBit(m, from)).toBe(naiveNext(m, from));
        expect(prevBit(m, from)).toBe(naivePrev(m, from));
      }),
      { seed: SEED + 2, numRuns: 5_000 },
    );
    expect(nextBit(1 << 31, 5)).toBe(31);
    expect(prevBit(1 << 31, 31)).toBe(31);
    expect(prevBit(-1, -1)).toBe(-1);
  });

  it('nextOfSixty and prevOfSixty find the nearest value 0-59', () => {
    const half = fc.integer({ min: 0, max: 2 ** 30 - 1 });
    fc.assert(
      fc.property(half, half, fc.integer({ min: 0, max: 59 }), (low, high, from) => {
        const has = (v: number) => (v < 30 ? (low >>> v) & 1 : (high >>> (v - 30)) & 1) === 1;
        const values = Array.from({ length: 60 }, (_, v) => v).filter(has);
        const next = values.find((v) => v >= from) ?? -1;
        const prev = values.findLast((v) => v <= from) ?? -1;
        expect(nextOfSixty(low, high, from)).toBe(next);
        expect(prevOfSixty(low, high, from)).toBe(prev);
      }),
      { seed: SEED + 3, numRuns: 5_000 },
    );
  });
});
