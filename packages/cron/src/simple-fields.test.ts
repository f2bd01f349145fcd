import { CronExpressionParser } from 'cron-parser';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type FieldMasks, masksFromCronParser } from './field-masks.js';
import { parseSimpleFields } from './simple-fields.js';
import { nextBit, nextOfSixty, prevBit, prevOfSixty } from './wall-matcher.js';

/**
 * The fast path must be indistinguishable from cron-parser: for every expression it accepts,
 * cron-parser accepts it too and its parsed values give the same masks; for every expression of
 * the subset (numbers, names, `*`, `?`, lists, ranges, steps) that cron-parser accepts, the fast
 * path accepts it (so it does not silently fall back for the common case). Malformed items made of
 * the same characters are generated on purpose: those must be refused by both.
 */

const SEED = 20_251_127;

/** cron-parser's verdict: the masks of its parse, or null when it throws. */
function reference(fields: readonly string[]): FieldMasks | null {
  try {
    return masksFromCronParser(
      CronExpressionParser.parse(fields.join(' '), { currentDate: 0, tz: 'UTC' }).fields,
    );
  } catch {
    return null;
  }
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

/** Fields that also contain what only cron-parser handles (`L`, `#`, `nL`, `H`, `W`). */
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

describe('parseSimpleFields agrees with cron-parser', () => {
  it('on fields of numbers, names, wildcards, lists, ranges and steps, well-formed or not', () => {
    let accepted = 0;
    fc.assert(
      fc.property(subsetFields, (fields) => {
        const fast = parseSimpleFields(fields);
        const slow = reference(fields);
        if (fast !== null) {
          accepted++;
          expect(slow).toEqual(fast);
        }
        // Names of other fields (a month name in day-of-week) are foreign to the subset too.
        if (slow !== null && inSubset(fields)) expect(fast).toEqual(slow);
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
    ]) {
      const fields = expression.split(' ');
      const fast = parseSimpleFields(fields);
      expect(fast, expression).not.toBeNull();
      expect(fast, expression).toEqual(reference(fields));
    }
  });

  it('leaves what it does not handle to cron-parser', () => {
    fc.assert(
      fc.property(mixedFields, (fields) => {
        const fast = parseSimpleFields(fields);
        if (fast !== null) expect(reference(fields)).toEqual(fast);
      }),
      { seed: SEED + 1, numRuns: 2_000 },
    );
    for (const expression of [
      '0 0 0 L * *',
      '0 0 0 * * 5L',
      '0 0 0 * * 1#2',
      '0 0 0 30 2 *',
      '0 0 0 31 4,6 *',
    ]) {
      expect(parseSimpleFields(expression.split(' ')), expression).toBeNull();
    }
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
