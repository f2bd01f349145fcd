import { SchedulerError } from '@s3-scheduler/core';
import { describe, expect, it } from 'vitest';
import {
  type DstPolicy,
  isValidTimezone,
  type ParseCronOptions,
  parseCron,
  timezoneError,
  validateCron,
} from './index.js';
import { nearestWeekday } from './vixie-reference.test-helpers.js';

/** The next `expected.length` fire times after `from`, compared as instants. */
function expectFires(
  expression: string,
  timezone: string,
  from: string,
  expected: string[],
  dst?: Partial<DstPolicy>,
): void {
  const schedule = parseCron(expression, dst === undefined ? { timezone } : { timezone, dst });
  const got = schedule.take(expected.length, new Date(from)).map((date) => date.toISOString());
  expect(got).toEqual(expected.map((text) => new Date(text).toISOString()));
}

/** The same fire times walked backwards with `prev`, starting just after the last one. */
function expectPrevs(
  expression: string,
  timezone: string,
  expected: string[],
  dst?: Partial<DstPolicy>,
): void {
  const schedule = parseCron(expression, dst === undefined ? { timezone } : { timezone, dst });
  const instants = expected.map((text) => new Date(text).getTime());
  let cursor = instants[instants.length - 1]! + 1;
  const got: number[] = [];
  for (let i = 0; i < instants.length; i++) {
    const found = schedule.prev(cursor);
    if (found === null) break;
    got.unshift(found.getTime());
    cursor = found.getTime();
  }
  expect(got.map((ms) => new Date(ms).toISOString())).toEqual(
    instants.map((ms) => new Date(ms).toISOString()),
  );
}

function catchError(run: () => unknown): SchedulerError {
  try {
    run();
  } catch (error) {
    expect(SchedulerError.is(error)).toBe(true);
    return error as SchedulerError;
  }
  throw new Error('expected a SchedulerError');
}

describe('grammar', () => {
  const cases: [string, string, string[]][] = [
    [
      '*/15 * * * *',
      '2025-01-01T00:07:00Z',
      ['2025-01-01T00:15:00Z', '2025-01-01T00:30:00Z', '2025-01-01T00:45:00Z'],
    ],
    [
      '1-5/2 * * * *',
      '2025-01-01T00:00:00Z',
      ['2025-01-01T00:01:00Z', '2025-01-01T00:03:00Z', '2025-01-01T00:05:00Z'],
    ],
    [
      '0 9 * * MON-FRI',
      '2025-01-03T10:00:00Z',
      ['2025-01-06T09:00:00Z', '2025-01-07T09:00:00Z', '2025-01-08T09:00:00Z'],
    ],
    [
      '0 0 1 JAN,jul *',
      '2025-03-01T00:00:00Z',
      ['2025-07-01T00:00:00Z', '2026-01-01T00:00:00Z', '2026-07-01T00:00:00Z'],
    ],
    [
      '0 12 ? * 7',
      '2025-01-01T00:00:00Z',
      ['2025-01-05T12:00:00Z', '2025-01-12T12:00:00Z', '2025-01-19T12:00:00Z'],
    ],
    [
      '0 12 * * sun',
      '2025-01-01T00:00:00Z',
      ['2025-01-05T12:00:00Z', '2025-01-12T12:00:00Z', '2025-01-19T12:00:00Z'],
    ],
    [
      '30 */20 9-17/4 * * *',
      '2025-01-01T00:00:00Z',
      ['2025-01-01T09:00:30Z', '2025-01-01T09:20:30Z', '2025-01-01T09:40:30Z'],
    ],
    [
      '0 0 L * *',
      '2024-02-10T00:00:00Z',
      ['2024-02-29T00:00:00Z', '2024-03-31T00:00:00Z', '2024-04-30T00:00:00Z'],
    ],
    [
      '0 0 * * 5L',
      '2025-01-01T00:00:00Z',
      ['2025-01-31T00:00:00Z', '2025-02-28T00:00:00Z', '2025-03-28T00:00:00Z'],
    ],
    [
      '0 0 * * 1#2',
      '2025-01-01T00:00:00Z',
      ['2025-01-13T00:00:00Z', '2025-02-10T00:00:00Z', '2025-03-10T00:00:00Z'],
    ],
    [
      '0 0 29 2 *',
      '2025-01-01T00:00:00Z',
      ['2028-02-29T00:00:00Z', '2032-02-29T00:00:00Z', '2036-02-29T00:00:00Z'],
    ],
    // Both day fields restricted: cron's OR, so the Mondays of February fire too.
    [
      '0 0 30 2 1',
      '2025-01-01T00:00:00Z',
      ['2025-02-03T00:00:00Z', '2025-02-10T00:00:00Z', '2025-02-17T00:00:00Z'],
    ],
    [
      '0 0 13 * 5',
      '2025-06-01T00:00:00Z',
      ['2025-06-06T00:00:00Z', '2025-06-13T00:00:00Z', '2025-06-20T00:00:00Z'],
    ],
    ['@yearly', '2025-03-01T00:00:00Z', ['2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z']],
    ['@annually', '2025-03-01T00:00:00Z', ['2026-01-01T00:00:00Z']],
    ['@monthly', '2025-03-01T00:00:00Z', ['2025-04-01T00:00:00Z', '2025-05-01T00:00:00Z']],
    ['@weekly', '2025-03-01T00:00:00Z', ['2025-03-02T00:00:00Z', '2025-03-09T00:00:00Z']],
    ['@daily', '2025-03-01T00:00:00Z', ['2025-03-02T00:00:00Z', '2025-03-03T00:00:00Z']],
    ['@midnight', '2025-03-01T00:00:00Z', ['2025-03-02T00:00:00Z']],
    ['@DAILY', '2025-03-01T00:00:00Z', ['2025-03-02T00:00:00Z']],
    ['@hourly', '2025-03-01T00:00:00Z', ['2025-03-01T01:00:00Z', '2025-03-01T02:00:00Z']],
    ['  0   3 * * *  ', '2025-03-01T00:00:00Z', ['2025-03-01T03:00:00Z']],
    ['59 59 23 31 12 *', '2025-03-01T00:00:00Z', ['2025-12-31T23:59:59Z', '2026-12-31T23:59:59Z']],
  ];
  it.each(cases)('%s after %s', (expression, from, expected) => {
    expectFires(expression, 'UTC', from, expected);
    expectPrevs(expression, 'UTC', expected);
  });

  it('reads a 5-field expression as seconds 0', () => {
    const schedule = parseCron('* * * * *');
    expect(schedule.next(new Date('2025-01-01T00:00:00.500Z'))?.toISOString()).toBe(
      '2025-01-01T00:01:00.000Z',
    );
  });

  it('is strictly after and strictly before, in whole seconds', () => {
    const schedule = parseCron('* * * * * *');
    expect(schedule.next(Date.UTC(2025, 0, 1, 0, 0, 0))?.toISOString()).toBe('2025-01-01T00:00:01.000Z');
    expect(schedule.next(Date.UTC(2025, 0, 1, 0, 0, 0, 999))?.toISOString()).toBe('2025-01-01T00:00:01.000Z');
    expect(schedule.prev(Date.UTC(2025, 0, 1, 0, 0, 0))?.toISOString()).toBe('2024-12-31T23:59:59.000Z');
    expect(schedule.prev(Date.UTC(2025, 0, 1, 0, 0, 0, 1))?.toISOString()).toBe('2025-01-01T00:00:00.000Z');
    expect(schedule.matches(Date.UTC(2025, 0, 1, 0, 0, 0))).toBe(true);
    expect(schedule.matches(Date.UTC(2025, 0, 1, 0, 0, 0, 1))).toBe(false);
  });

  it.each([
    ['30 2 * * *', true],
    ['0 1,13 * * *', true],
    ['0 0 9 * * 1', true],
    ['@daily', true],
    ['@weekly', true],
    ['@hourly', false],
    ['*/15 * * * *', false],
    // Vixie: lists and ranges are fixed wall times; a `*`, `?` or step makes an interval.
    ['0 1-3 * * *', true],
    ['0 2,3 * * *', true],
    ['0-30 0 1-3 * * *', true],
    ['0-59/5 0 * * *', false],
    ['0 1-3/1 * * *', false],
    ['0 ? * * *', false],
    ['0 */2 * * *', false],
    ['* 30 2 * * *', false],
    ['0 0 ? * * *', false],
  ] as const)('%s is fixed-time: %s', (expression, fixed) => {
    expect(parseCron(expression).isFixedTime).toBe(fixed);
  });

  it('takes n fire times and matches exactly the fire times', () => {
    const schedule = parseCron('0 */6 * * *', { timezone: 'Europe/London' });
    const from = new Date('2025-01-01T00:00:00Z');
    const times = schedule.take(4, from);
    expect(times.map((date) => date.toISOString())).toEqual([
      '2025-01-01T06:00:00.000Z',
      '2025-01-01T12:00:00.000Z',
      '2025-01-01T18:00:00.000Z',
      '2025-01-02T00:00:00.000Z',
    ]);
    for (const time of times) expect(schedule.matches(time)).toBe(true);
    expect(schedule.matches(new Date('2025-01-01T07:00:00Z'))).toBe(false);
    expect(schedule.take(0, from)).toEqual([]);
  });

  it('is immutable and serialises its settings', () => {
    const schedule = parseCron('30 2 * * *', { timezone: 'America/New_York', dst: { gap: 'skip' } });
    expect(Object.isFrozen(schedule)).toBe(true);
    expect(Object.isFrozen(schedule.dst)).toBe(true);
    expect(() => {
      (schedule as { timezone: string }).timezone = 'UTC';
    }).toThrow(TypeError);
    expect(schedule.toJSON()).toEqual({
      expression: '30 2 * * *',
      timezone: 'America/New_York',
      dst: { gap: 'skip', overlap: 'first' },
      isFixedTime: true,
    });
    expect(JSON.parse(JSON.stringify(parseCron('*/5 * * * *')))).toEqual({
      expression: '*/5 * * * *',
      timezone: 'UTC',
      dst: { gap: 'skip', overlap: 'both' },
      isFixedTime: false,
    });
  });
});

describe('DST, America/New_York (the worked examples of the README)', () => {
  const zone = 'America/New_York';

  it('runs a fixed time in the spring-forward gap once, at 03:00 EDT', () => {
    expectFires('30 2 * * *', zone, '2025-03-08T12:00:00Z', [
      '2025-03-09T03:00:00-04:00',
      '2025-03-10T02:30:00-04:00',
    ]);
    expectPrevs('30 2 * * *', zone, ['2025-03-08T02:30:00-05:00', '2025-03-09T03:00:00-04:00']);
    const schedule = parseCron('30 2 * * *', { timezone: zone });
    expect(schedule.matches(new Date('2025-03-09T03:00:00-04:00'))).toBe(true);
    expect(schedule.matches(new Date('2025-03-09T03:30:00-04:00'))).toBe(false);
  });

  it('runs a fixed time in the fall-back overlap once, at the first (EDT) pass', () => {
    expectFires('30 1 * * *', zone, '2025-11-01T12:00:00Z', [
      '2025-11-02T01:30:00-04:00',
      '2025-11-03T01:30:00-05:00',
    ]);
    expectPrevs('30 1 * * *', zone, ['2025-11-01T01:30:00-04:00', '2025-11-02T01:30:00-04:00']);
    const schedule = parseCron('30 1 * * *', { timezone: zone });
    expect(schedule.matches(new Date('2025-11-02T01:30:00-05:00'))).toBe(false);
  });

  it('keeps the real-time cadence of an interval schedule through the overlap (both passes)', () => {
    const expected = [
      '2025-11-02T00:45:00-04:00',
      '2025-11-02T01:00:00-04:00',
      '2025-11-02T01:15:00-04:00',
      '2025-11-02T01:30:00-04:00',
      '2025-11-02T01:45:00-04:00',
      '2025-11-02T01:00:00-05:00',
      '2025-11-02T01:15:00-05:00',
      '2025-11-02T01:30:00-05:00',
      '2025-11-02T01:45:00-05:00',
      '2025-11-02T02:00:00-05:00',
    ];
    expectFires('*/15 * * * *', zone, '2025-11-02T00:40:00-04:00', expected);
    expectPrevs('*/15 * * * *', zone, expected);
    expectFires('@hourly', zone, '2025-11-01T23:30:00-04:00', [
      '2025-11-02T00:00:00-04:00',
      '2025-11-02T01:00:00-04:00',
      '2025-11-02T01:00:00-05:00',
      '2025-11-02T02:00:00-05:00',
    ]);
    expectFires('*/20 1 * * *', zone, '2025-11-02T00:00:00-04:00', [
      '2025-11-02T01:00:00-04:00',
      '2025-11-02T01:20:00-04:00',
      '2025-11-02T01:40:00-04:00',
      '2025-11-02T01:00:00-05:00',
      '2025-11-02T01:20:00-05:00',
      '2025-11-02T01:40:00-05:00',
      '2025-11-03T01:00:00-05:00',
    ]);
  });

  it('skips the nonexistent times of an interval schedule (not moved into hour 3 as cron-parser does)', () => {
    const expected = ['2025-03-09T01:45:00-05:00', '2025-03-09T03:00:00-04:00', '2025-03-09T03:15:00-04:00'];
    expectFires('*/15 * * * *', zone, '2025-03-09T01:40:00-05:00', expected);
    expectPrevs('*/15 * * * *', zone, expected);
    expectFires('*/20 2 * * *', zone, '2025-03-08T12:00:00Z', [
      '2025-03-10T02:00:00-04:00',
      '2025-03-10T02:20:00-04:00',
    ]);
  });

  it('applies a per-schedule override', () => {
    expectFires('30 2 * * *', zone, '2025-03-08T12:00:00Z', ['2025-03-10T02:30:00-04:00'], { gap: 'skip' });
    expectFires('30 1 * * *', zone, '2025-11-01T12:00:00Z', ['2025-11-02T01:30:00-05:00'], {
      overlap: 'last',
    });
    expectFires(
      '30 1 * * *',
      zone,
      '2025-11-01T12:00:00Z',
      ['2025-11-02T01:30:00-04:00', '2025-11-02T01:30:00-05:00', '2025-11-03T01:30:00-05:00'],
      { overlap: 'both' },
    );
    expectFires(
      '*/30 * * * *',
      zone,
      '2025-11-02T00:40:00-04:00',
      ['2025-11-02T01:00:00-04:00', '2025-11-02T01:30:00-04:00', '2025-11-02T02:00:00-05:00'],
      { overlap: 'first' },
    );
    expectFires(
      '*/30 * * * *',
      zone,
      '2025-11-02T00:10:00-04:00',
      ['2025-11-02T00:30:00-04:00', '2025-11-02T01:00:00-05:00', '2025-11-02T01:30:00-05:00'],
      { overlap: 'last' },
    );
    // Both gap times (02:15 and 02:45) shift to 03:00, which runs once.
    expectFires(
      '15,45 * * * *',
      zone,
      '2025-03-09T01:40:00-05:00',
      ['2025-03-09T01:45:00-05:00', '2025-03-09T03:00:00-04:00', '2025-03-09T03:15:00-04:00'],
      { gap: 'shift' },
    );
    expectFires('15,45 * * * *', zone, '2025-03-09T01:40:00-05:00', [
      '2025-03-09T01:45:00-05:00',
      '2025-03-09T03:15:00-04:00',
    ]);
    expectFires('15 2 * * *', zone, '2025-03-08T12:00:00Z', ['2025-03-09T03:00:00-04:00']);
  });

  it('holds every year from 2007 to 2040', () => {
    const gap = parseCron('30 2 * * *', { timezone: zone });
    const overlap = parseCron('30 1 * * *', { timezone: zone });
    for (let year = 2007; year <= 2040; year++) {
      const spring = nthSunday(year, 3, 2);
      const fall = nthSunday(year, 11, 1);
      // Midnight EST of the spring-forward day is 05:00Z; the run is at 03:00 EDT (07:00Z).
      expect(gap.next(Date.UTC(year, 2, spring, 5))?.toISOString()).toBe(
        new Date(Date.UTC(year, 2, spring, 7)).toISOString(),
      );
      expect(overlap.take(2, Date.UTC(year, 10, fall, 4)).map((date) => date.toISOString())).toEqual([
        new Date(Date.UTC(year, 10, fall, 5, 30)).toISOString(),
        new Date(Date.UTC(year, 10, fall + 1, 6, 30)).toISOString(),
      ]);
    }
  });
});

describe('DST in other zones', () => {
  it('Europe/London: gap 01:00-02:00 and overlap 01:00-02:00, 2024 and 2025', () => {
    const zone = 'Europe/London';
    expectFires('30 1 * * *', zone, '2024-03-30T12:00:00Z', [
      '2024-03-31T02:00:00+01:00',
      '2024-04-01T01:30:00+01:00',
    ]);
    expectFires('30 1 * * *', zone, '2025-03-29T12:00:00Z', ['2025-03-30T02:00:00+01:00']);
    expectFires('30 1 * * *', zone, '2024-10-26T12:00:00Z', [
      '2024-10-27T01:30:00+01:00',
      '2024-10-28T01:30:00Z',
    ]);
    expectFires('*/30 1 * * *', zone, '2025-10-26T00:00:00+01:00', [
      '2025-10-26T01:00:00+01:00',
      '2025-10-26T01:30:00+01:00',
      '2025-10-26T01:00:00Z',
      '2025-10-26T01:30:00Z',
      '2025-10-27T01:00:00Z',
    ]);
    expectFires('*/30 1 * * *', zone, '2025-03-29T12:00:00Z', ['2025-03-31T01:00:00+01:00']);
  });

  it('Australia/Lord_Howe: 30-minute shifts', () => {
    const zone = 'Australia/Lord_Howe';
    // Spring 2024-10-06: 02:00 +10:30 becomes 02:30 +11:00.
    expectFires('15 2 * * *', zone, '2024-10-05T00:00:00Z', [
      '2024-10-06T02:30:00+11:00',
      '2024-10-07T02:15:00+11:00',
    ]);
    expectFires('*/15 2 * * *', zone, '2024-10-05T00:00:00Z', [
      '2024-10-06T02:30:00+11:00',
      '2024-10-06T02:45:00+11:00',
      '2024-10-07T02:00:00+11:00',
    ]);
    // Fall 2025-04-06: 02:00 +11:00 becomes 01:30 +10:30; 01:30-01:59 happens twice.
    expectFires('45 1 * * *', zone, '2025-04-05T00:00:00Z', [
      '2025-04-06T01:45:00+11:00',
      '2025-04-07T01:45:00+10:30',
    ]);
    expectFires('*/15 1 * * *', zone, '2025-04-05T12:00:00Z', [
      '2025-04-06T01:00:00+11:00',
      '2025-04-06T01:15:00+11:00',
      '2025-04-06T01:30:00+11:00',
      '2025-04-06T01:45:00+11:00',
      '2025-04-06T01:30:00+10:30',
      '2025-04-06T01:45:00+10:30',
      '2025-04-07T01:00:00+10:30',
    ]);
  });

  it('America/Santiago: transitions at midnight, 2024 and 2025', () => {
    const zone = 'America/Santiago';
    // Spring 2024-09-08: 00:00 -04 becomes 01:00 -03, so midnight does not exist.
    expectFires('@daily', zone, '2024-09-07T12:00:00Z', [
      '2024-09-08T01:00:00-03:00',
      '2024-09-09T00:00:00-03:00',
    ]);
    expectFires('@hourly', zone, '2024-09-07T22:30:00-04:00', [
      '2024-09-07T23:00:00-04:00',
      '2024-09-08T01:00:00-03:00',
    ]);
    expectFires('@daily', zone, '2025-09-06T12:00:00Z', ['2025-09-07T01:00:00-03:00']);
    // Fall 2024-04-06: 24:00 -03 becomes 23:00 -04, so 23:00-23:59 of April 6 happens twice.
    expectFires('30 23 * * *', zone, '2024-04-06T12:00:00Z', [
      '2024-04-06T23:30:00-03:00',
      '2024-04-07T23:30:00-04:00',
    ]);
    expectFires('*/30 23 * * *', zone, '2025-04-05T12:00:00Z', [
      '2025-04-05T23:00:00-03:00',
      '2025-04-05T23:30:00-03:00',
      '2025-04-05T23:00:00-04:00',
      '2025-04-05T23:30:00-04:00',
      '2025-04-06T23:00:00-04:00',
    ]);
    expectFires('@daily', zone, '2024-04-06T12:00:00Z', [
      '2024-04-07T00:00:00-04:00',
      '2024-04-08T00:00:00-04:00',
    ]);
  });

  it('America/Sao_Paulo 2018: transitions at midnight', () => {
    const zone = 'America/Sao_Paulo';
    expectFires('0 0 * * *', zone, '2018-11-03T12:00:00Z', [
      '2018-11-04T01:00:00-02:00',
      '2018-11-05T00:00:00-02:00',
    ]);
    expectPrevs('0 0 * * *', zone, ['2018-11-03T00:00:00-03:00', '2018-11-04T01:00:00-02:00']);
    expectFires('0 0 * * *', zone, '2018-11-03T12:00:00Z', ['2018-11-05T00:00:00-02:00'], { gap: 'skip' });
    expectFires('30 23 * * *', zone, '2018-02-17T12:00:00Z', [
      '2018-02-17T23:30:00-02:00',
      '2018-02-18T23:30:00-03:00',
    ]);
    expectFires('*/30 23 * * *', zone, '2018-02-17T12:00:00Z', [
      '2018-02-17T23:00:00-02:00',
      '2018-02-17T23:30:00-02:00',
      '2018-02-17T23:00:00-03:00',
      '2018-02-17T23:30:00-03:00',
    ]);
    expectFires('@daily', zone, '2018-02-17T12:00:00Z', [
      '2018-02-18T00:00:00-03:00',
      '2018-02-19T00:00:00-03:00',
    ]);
  });

  it('Pacific/Chatham: +12:45/+13:45, changes at 02:45 and 03:45', () => {
    const zone = 'Pacific/Chatham';
    expectFires('0 3 * * *', zone, '2024-09-28T00:00:00Z', [
      '2024-09-29T03:45:00+13:45',
      '2024-09-30T03:00:00+13:45',
    ]);
    expectFires('0 3 * * *', zone, '2025-09-27T00:00:00Z', ['2025-09-28T03:45:00+13:45']);
    expectFires('0 3 * * *', zone, '2025-04-05T00:00:00Z', [
      '2025-04-06T03:00:00+13:45',
      '2025-04-07T03:00:00+12:45',
    ]);
    expectFires('*/30 3 * * *', zone, '2025-04-05T00:00:00Z', [
      '2025-04-06T03:00:00+13:45',
      '2025-04-06T03:30:00+13:45',
      '2025-04-06T03:00:00+12:45',
      '2025-04-06T03:30:00+12:45',
      '2025-04-07T03:00:00+12:45',
    ]);
  });

  it('Pacific/Apia: 2011-12-30 did not exist', () => {
    const zone = 'Pacific/Apia';
    expectFires('0 9 * * *', zone, '2011-12-29T00:00:00Z', [
      '2011-12-29T09:00:00-10:00',
      '2011-12-31T00:00:00+14:00',
      '2011-12-31T09:00:00+14:00',
    ]);
    expectFires(
      '0 9 * * *',
      zone,
      '2011-12-29T00:00:00Z',
      ['2011-12-29T09:00:00-10:00', '2011-12-31T09:00:00+14:00'],
      {
        gap: 'skip',
      },
    );
    const interval = ['2011-12-29T12:00:00-10:00', '2011-12-29T18:00:00-10:00', '2011-12-31T00:00:00+14:00'];
    expectFires('0 */6 * * *', zone, '2011-12-29T11:00:00-10:00', interval);
    expectPrevs('0 */6 * * *', zone, interval);
    expectFires('0 12 30 12 *', zone, '2011-12-01T00:00:00Z', [
      '2011-12-31T00:00:00+14:00',
      '2012-12-30T12:00:00+14:00',
    ]);
    expectFires('0 12 30 12 *', zone, '2011-12-01T00:00:00Z', ['2012-12-30T12:00:00+14:00'], { gap: 'skip' });
    // No instant has a wall date of 2011-12-30.
    const noon = parseCron('0 12 * * *', { timezone: zone, dst: { gap: 'skip' } });
    expect(noon.take(2, new Date('2011-12-29T00:00:00Z')).map((date) => date.toISOString())).toEqual([
      '2011-12-29T22:00:00.000Z',
      '2011-12-30T22:00:00.000Z',
    ]);
  });

  it('UTC has no transitions, across several years', () => {
    for (const year of [1999, 2016, 2025, 2038, 2100]) {
      const schedule = parseCron('30 2 * * *');
      expect(schedule.take(3, Date.UTC(year, 2, 1)).map((date) => date.toISOString())).toEqual([
        new Date(Date.UTC(year, 2, 1, 2, 30)).toISOString(),
        new Date(Date.UTC(year, 2, 2, 2, 30)).toISOString(),
        new Date(Date.UTC(year, 2, 3, 2, 30)).toISOString(),
      ]);
    }
    expectFires('0 0 29 2 *', 'UTC', '2096-03-01T00:00:00Z', ['2104-02-29T00:00:00Z']);
    expectPrevs('0 0 29 2 *', 'UTC', ['2096-02-29T00:00:00Z', '2104-02-29T00:00:00Z']);
  });

  it('reads zones through Intl: fixed-offset Etc zones and aliases', () => {
    expectFires('0 9 * * *', 'Etc/GMT+5', '2025-01-01T00:00:00Z', ['2025-01-01T09:00:00-05:00']);
    expectFires('0 9 * * *', 'Asia/Kolkata', '2025-01-01T00:00:00Z', ['2025-01-01T09:00:00+05:30']);
    expectFires('0 9 * * *', 'US/Eastern', '2025-07-01T00:00:00Z', ['2025-07-01T09:00:00-04:00']);
  });
});

describe('day-of-month and day-of-week combine as in Vixie cron', () => {
  const from = '2024-12-31T23:59:00Z';

  it('ANDs them when either begins with * (a step over * included)', () => {
    // An odd day that is a Monday.
    expectFires('0 0 */2 * 1', 'UTC', from, [
      '2025-01-13T00:00:00Z',
      '2025-01-27T00:00:00Z',
      '2025-02-03T00:00:00Z',
    ]);
    // Mondays only, not every day.
    expectFires('0 0 */1 * 1', 'UTC', from, [
      '2025-01-06T00:00:00Z',
      '2025-01-13T00:00:00Z',
      '2025-01-20T00:00:00Z',
    ]);
    // The 15th when it is a Sunday, Wednesday or Saturday.
    expectFires('0 0 15 * */3', 'UTC', from, [
      '2025-01-15T00:00:00Z',
      '2025-02-15T00:00:00Z',
      '2025-03-15T00:00:00Z',
    ]);
    expectFires('0 0 ? * 1', 'UTC', from, ['2025-01-06T00:00:00Z']);
    expectPrevs('0 0 */2 * 1', 'UTC', [
      '2025-01-13T00:00:00Z',
      '2025-01-27T00:00:00Z',
      '2025-02-03T00:00:00Z',
    ]);
  });

  it('ORs them when both are restricted', () => {
    expectFires('0 0 13 * 5', 'UTC', from, [
      '2025-01-03T00:00:00Z',
      '2025-01-10T00:00:00Z',
      '2025-01-13T00:00:00Z',
    ]);
    expectFires('0 0 1-7 * 1', 'UTC', from, ['2025-01-01T00:00:00Z', '2025-01-02T00:00:00Z']);
    expectFires('0 0 L * 0#1', 'UTC', from, [
      '2025-01-05T00:00:00Z',
      '2025-01-31T00:00:00Z',
      '2025-02-02T00:00:00Z',
    ]);
  });

  it('keeps L, W, LW, nL and # within that rule', () => {
    // The last day of the month, when it is a Friday or Saturday (AND through */1-style star).
    expectFires('0 0 L * */1', 'UTC', from, ['2025-01-31T00:00:00Z', '2025-02-28T00:00:00Z']);
    expectFires('0 0 LW * *', 'UTC', '2025-05-01T00:00:00Z', [
      '2025-05-30T00:00:00Z',
      '2025-06-30T00:00:00Z',
      '2025-07-31T00:00:00Z',
      '2025-08-29T00:00:00Z',
    ]);
    // 2025-02-01 is a Saturday: 1W is Monday the 3rd, never Friday January 31st.
    expectFires('0 0 1W * *', 'UTC', '2025-01-15T00:00:00Z', [
      '2025-02-03T00:00:00Z',
      '2025-03-03T00:00:00Z',
    ]);
    // 2025-08-31 is a Sunday and the last day: 31W is Friday the 29th, never Monday September 1st.
    expectFires('0 0 31W * *', 'UTC', '2025-08-01T00:00:00Z', [
      '2025-08-29T00:00:00Z',
      '2025-10-31T00:00:00Z',
    ]);
    // 15W or any Monday (both restricted: OR).
    expectFires('0 0 15W * 1', 'UTC', '2025-02-08T00:00:00Z', [
      '2025-02-10T00:00:00Z',
      '2025-02-14T00:00:00Z',
      '2025-02-17T00:00:00Z',
    ]);
    expectFires('0 0 * * 5L', 'UTC', from, ['2025-01-31T00:00:00Z']);
    expectFires('0 0 * * FRIL', 'UTC', from, ['2025-01-31T00:00:00Z']);
  });

  it('nW and LW equal the Quartz definition in every month of 2000-2040', () => {
    for (let n = 1; n <= 31; n++) {
      const schedule = parseCron(`0 0 ${n}W * *`);
      for (let year = 2000; year <= 2040; year++) {
        for (let month = 1; month <= 12; month++) {
          const start = Date.UTC(year, month - 1, 1) - 1;
          const expected = nearestWeekday(year, month, n);
          const got = schedule.next(start)!;
          const inMonth = got.getUTCMonth() === month - 1 && got.getUTCFullYear() === year;
          expect(inMonth ? got.getUTCDate() : undefined, `${n}W in ${year}-${month}`).toBe(expected);
        }
      }
    }
    const lastWeekday = parseCron('0 0 LW * *');
    for (let year = 2000; year <= 2040; year++) {
      for (let month = 1; month <= 12; month++) {
        const got = lastWeekday.next(Date.UTC(year, month - 1, 1) - 1)!;
        let day = new Date(Date.UTC(year, month, 0)).getUTCDate();
        while ([0, 6].includes(new Date(Date.UTC(year, month - 1, day)).getUTCDay())) day--;
        expect(got.toISOString()).toBe(new Date(Date.UTC(year, month - 1, day)).toISOString());
      }
    }
  });

  it('accepts overlapping lists and ranges as a union', () => {
    expectFires('0 0 * * 0,7', 'UTC', from, ['2025-01-05T00:00:00Z', '2025-01-12T00:00:00Z']);
    expectFires('1 1 0-6,1,10 * * *', 'UTC', from, ['2025-01-01T00:01:01Z', '2025-01-01T01:01:01Z']);
    expectFires('*/10,30-35 * * * * *', 'UTC', '2025-01-01T00:00:25Z', [
      '2025-01-01T00:00:30Z',
      '2025-01-01T00:00:31Z',
      '2025-01-01T00:00:32Z',
      '2025-01-01T00:00:33Z',
      '2025-01-01T00:00:34Z',
      '2025-01-01T00:00:35Z',
      '2025-01-01T00:00:40Z',
    ]);
    expectFires('0,0 * * * *', 'UTC', from, ['2025-01-01T00:00:00Z', '2025-01-01T01:00:00Z']);
    expectFires('0 0 * * MON-SUN', 'UTC', from, ['2025-01-01T00:00:00Z', '2025-01-02T00:00:00Z']);
  });
});

describe('ranges and lists in the hour are fixed-time (Vixie), America/New_York', () => {
  const zone = 'America/New_York';

  it('runs 02:05 of the spring-forward day once, at 03:00 EDT', () => {
    const expected = [
      '2025-03-09T01:05:00-05:00',
      '2025-03-09T03:00:00-04:00',
      '2025-03-09T03:05:00-04:00',
      '2025-03-10T01:05:00-04:00',
    ];
    expectFires('5 1-3 * * *', zone, '2025-03-09T00:00:00-05:00', expected);
    expectPrevs('5 1-3 * * *', zone, expected);
    expectFires('5 1,2,3 * * *', zone, '2025-03-09T00:00:00-05:00', expected);
  });

  it('runs 01:05 of the fall-back day once, in the first pass', () => {
    const expected = [
      '2025-11-02T01:05:00-04:00',
      '2025-11-02T02:05:00-05:00',
      '2025-11-02T03:05:00-05:00',
      '2025-11-03T01:05:00-05:00',
    ];
    expectFires('5 1-3 * * *', zone, '2025-11-02T00:00:00-04:00', expected);
    expectPrevs('5 1-3 * * *', zone, expected);
  });

  it('keeps the per-job override', () => {
    expectFires(
      '5 1-3 * * *',
      zone,
      '2025-03-09T00:00:00-05:00',
      ['2025-03-09T01:05:00-05:00', '2025-03-09T03:05:00-04:00'],
      { gap: 'skip' },
    );
    expectFires(
      '5 1-3 * * *',
      zone,
      '2025-11-02T00:00:00-04:00',
      ['2025-11-02T01:05:00-04:00', '2025-11-02T01:05:00-05:00', '2025-11-02T02:05:00-05:00'],
      { overlap: 'both' },
    );
    expect(parseCron('5 1-3 * * *', { timezone: zone }).dst).toEqual({ gap: 'shift', overlap: 'first' });
    expect(parseCron('5 */1 * * *', { timezone: zone }).dst).toEqual({ gap: 'skip', overlap: 'both' });
  });
});

describe('never hangs, never blocks', () => {
  const rare = ['0 0 29 2 1', '0 0 29 2 *', '0 0 * 2 1#5', '59 59 23 31 12 *', '0 0 L 2 *', '0 0 31 * 0#5'];
  const zones = ['UTC', 'America/New_York', 'Pacific/Apia', 'Australia/Lord_Howe', 'America/Santiago'];

  // How fast is measured in the benchmark (pnpm bench), not asserted here; these prove that rare
  // expressions terminate with correct answers (a hang would fail on the test timeout).
  it('finds the next and previous run of rare expressions', () => {
    for (const expression of rare) {
      for (const timezone of zones) {
        const schedule = parseCron(expression, { timezone });
        for (let i = 0; i < 10; i++) {
          const at = Date.UTC(1990 + i * 13, (i * 5) % 12, 1 + i);
          const next = schedule.next(at);
          const prev = schedule.prev(at);
          expect(next!.getTime()).toBeGreaterThan(at);
          expect(prev!.getTime()).toBeLessThan(at);
        }
      }
    }
  });

  it('answers 10,000 next() calls on 0 0 29 2 1 correctly', () => {
    const schedule = parseCron('0 0 29 2 1', { timezone: 'Europe/London' });
    const thirtyYears = 30 * 365 * 86_400_000;
    for (let i = 0; i < 10_000; i++) {
      const at = Date.UTC(2000, 0, 1) + ((i * 7919 * 3_600_000) % thirtyYears);
      const time = schedule.next(at)!;
      // London is on GMT in February: every run is a Monday of February, or February 29th.
      expect(time.getUTCMonth()).toBe(1);
      expect(time.getUTCDate() === 29 || time.getUTCDay() === 1).toBe(true);
    }
  });
});

describe('errors', () => {
  it.each([undefined, null, 42, {}, ['0 * * * *']])('rejects a non-string expression: %j', (value) => {
    const error = catchError(() => parseCron(value as unknown as string));
    expect(error.code).toBe('INVALID_CRON');
    expect(error.message).toMatch(/^Invalid cron expression: /);
    expect(error.suggestion).toBeTruthy();
  });

  it.each([
    ['', 'empty'],
    ['   ', 'empty'],
    ['* * * *', 'expected 5 or 6 fields, got 4'],
    ['* * * * * * *', 'expected 5 or 6 fields, got 7'],
    ['invalid cron', 'expected 5 or 6 fields, got 2'],
    ['61 * * * *', 'minute field'],
    ['0 24 * * *', 'hour field'],
    ['0 0 32 * *', 'day-of-month field'],
    ['0 0 0 * *', 'day-of-month field'],
    ['0 0 * 13 *', 'month field'],
    ['0 0 * * 8', 'day-of-week field'],
    ['60 * * * * *', 'second field'],
    ['a b c d e', 'field'],
    ['*/0 * * * *', 'minute field'],
    ['5-1 * * * *', 'minute field'],
    ['0 0 * * FOO', 'day-of-week field'],
    ['0 0 30 2 *', 'can never fire'],
    ['0 0 31 4 *', 'can never fire'],
    ['0 0 31 4,6,9,11 *', 'can never fire'],
    ['0 0 30,31 2 *', 'can never fire'],
    ['0 0 * * 1W', 'W (nearest weekday) is only allowed in the day-of-month field'],
    ['0 0 30 2 */1', "can never fire: day 30 does not exist in month 2 (day-of-week '*/1' begins with *"],
    ['0 0 31 4 */2', 'can never fire'],
    [
      '0 0 LW * */7',
      "can never fire: no day of any month matches both day-of-month 'LW' and day-of-week '*/7'",
    ],
    ['0 0 30-31 2 ?/2', 'can never fire'],
    ['0 0 L-2 * *', "day-of-month field 'L-2'"],
    ['0 0 * * 1-0', "range '1-0' is reversed"],
    ['0 0 0 1 1 * 2025', 'expected 5 or 6 fields, got 7 (a year field is not supported)'],
    ['H * * * *', 'hashed values (H) are not supported'],
    ['@reboot', 'unknown preset'],
    ['@every 5m', 'unknown preset'],
  ])('rejects %j (%s)', (expression, reason) => {
    const error = catchError(() => parseCron(expression));
    expect(error.code).toBe('INVALID_CRON');
    // The reason is in the message itself, after the text the plugin spec prescribes.
    expect(error.message).toBe(`Invalid cron expression: ${expression} — ${String(error.metadata.reason)}`);
    expect(error.metadata.expression).toBe(expression);
    expect(String(error.metadata.reason)).toContain(reason);
    expect(error.description).toContain(reason);
    expect(error.suggestion).toBeTruthy();
    expect(error.retriable).toBe(false);
  });

  it.each([
    '0 0 30 2 1',
    '0 0 31 * *',
    '0 0 29 2 *',
    '0 0 L 2 *',
    '0 0 * * THU',
    '0 0 31 4,5 *',
    '0 0 29 2 */1',
    '0 0 LW * 1-5',
    '0 0 LW * SUN',
    '0 0 1W * *',
  ])('accepts %j', (expression) => {
    expect(validateCron(expression)).toBeNull();
  });

  it('names the job when it is known', () => {
    const error = catchError(() => parseCron('invalid cron', { jobName: 'cleanup' }));
    expect(error.message).toBe(
      "Job 'cleanup' has invalid cron expression: invalid cron — expected 5 or 6 fields, got 2",
    );
    expect(error.metadata).toMatchObject({ jobName: 'cleanup', expression: 'invalid cron' });
    const zoneError = catchError(() => parseCron('0 3 * * *', { jobName: 'cleanup', timezone: 'Mars/Base' }));
    expect(zoneError.message).toBe(
      "Job 'cleanup' has invalid timezone: 'Mars/Base' — not an IANA time zone name known to this Node.js",
    );
  });

  it.each(['Mars/Base', '', 'America/NewYork', '+05:00', 42, null])('rejects the timezone %j', (timezone) => {
    const error = catchError(() => parseCron('0 3 * * *', { timezone } as unknown as ParseCronOptions));
    expect(error.code).toBe('INVALID_TIMEZONE');
    expect(error.metadata.timezone).toBe(timezone);
    expect(error.suggestion).toBeTruthy();
    expect(isValidTimezone(timezone)).toBe(false);
  });

  it('suggests the zone a typo probably meant, in the message and the suggestion', () => {
    const error = catchError(() => parseCron('0 3 * * *', { timezone: 'America/NewYork' }));
    expect(error.suggestion).toContain("'America/New_York'");
    expect(error.message).toContain("did you mean 'America/New_York'?");
    const paris = catchError(() => parseCron('0 3 * * *', { timezone: 'Europe/Pariss' }));
    expect(paris.message).toBe(
      "Invalid timezone: 'Europe/Pariss' — not an IANA time zone name known to this Node.js; did you mean 'Europe/Paris'?",
    );
    expect(paris.suggestion).toBe("Did you mean 'Europe/Paris'?");
    expect(paris.metadata.timezone).toBe('Europe/Pariss');
    expect(catchError(() => parseCron('0 3 * * *', { timezone: 'Asia/Tokio' })).suggestion).toBe(
      "Did you mean 'Asia/Tokyo'?",
    );
    expect(catchError(() => parseCron('0 3 * * *', { timezone: 'Europe' })).message).not.toContain(
      'did you mean',
    );
  });

  it('timezoneError is the same check, for other packages', () => {
    expect(timezoneError('Europe/Paris')).toBeNull();
    const error = timezoneError('Europe/Pariss', { operation: 'validateConfiguration', option: 'timezone' });
    expect(error?.code).toBe('INVALID_TIMEZONE');
    expect(error?.message).toBe(
      catchError(() => parseCron('0 3 * * *', { timezone: 'Europe/Pariss' })).message,
    );
    expect(error?.metadata).toMatchObject({
      timezone: 'Europe/Pariss',
      option: 'timezone',
      value: 'Europe/Pariss',
    });
    expect(error?.operation).toBe('validateConfiguration');
    expect(timezoneError('Nowhere/City', { jobName: 'report' })?.message).toMatch(
      /^Job 'report' has invalid timezone: 'Nowhere\/City' — /,
    );
    expect(timezoneError(42)?.message).toBe('Invalid timezone: 42 — a time zone must be a string, got 42');
  });

  it('rejects a bad DST policy, unknown options and bad arguments', () => {
    const bad = [
      () => parseCron('0 3 * * *', { dst: { gap: 'later' } } as unknown as ParseCronOptions),
      () => parseCron('0 3 * * *', { dst: { overlap: 'twice' } } as unknown as ParseCronOptions),
      () => parseCron('0 3 * * *', { dst: 'skip' } as unknown as ParseCronOptions),
      () => parseCron('0 3 * * *').next(new Date(Number.NaN)),
      () => parseCron('0 3 * * *').prev(Number.POSITIVE_INFINITY),
      () => parseCron('0 3 * * *').take(-1, 0),
      () => parseCron('0 3 * * *').take(1.5, 0),
    ];
    for (const run of bad) expect(catchError(run).code).toBe('INVALID_OPTION');
    expect(catchError(() => parseCron('0 3 * * *', { tz: 'UTC' } as unknown as ParseCronOptions)).code).toBe(
      'UNKNOWN_OPTION',
    );
    expect(
      catchError(() =>
        parseCron('0 3 * * *', { dst: { gap: 'skip', when: 1 } } as unknown as ParseCronOptions),
      ).code,
    ).toBe('UNKNOWN_OPTION');
  });

  it('validateCron returns the error instead of throwing', () => {
    expect(validateCron('0 3 * * *', { timezone: 'Europe/London' })).toBeNull();
    expect(validateCron('0 0 30 2 *')?.code).toBe('INVALID_CRON');
    expect(validateCron('0 3 * * *', { timezone: 'Nowhere/City' })?.code).toBe('INVALID_TIMEZONE');
  });

  it('accepts IANA names in any case that Intl accepts', () => {
    expect(isValidTimezone('UTC')).toBe(true);
    expect(isValidTimezone('America/New_York')).toBe(true);
    expect(
      parseCron('0 9 * * *', { timezone: 'europe/london' })
        .next(Date.UTC(2025, 6, 1))
        ?.toISOString(),
    ).toBe('2025-07-01T08:00:00.000Z');
  });
});

/** Day of month of the n-th Sunday of a month (month 1-12). */
function nthSunday(year: number, month: number, n: number): number {
  const firstWeekday = new Date(Date.UTC(year, month - 1, 1)).getUTCDay();
  return 1 + ((7 - firstWeekday) % 7) + (n - 1) * 7;
}
