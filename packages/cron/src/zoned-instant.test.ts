import { describe, expect, it } from 'vitest';
import { zonedInstant } from './zoned-instant.js';

const at = (iso: string) => Date.parse(iso);

describe('zonedInstant', () => {
  it.each([
    ['2026-12-01', 'UTC', '2026-12-01T00:00:00Z'],
    ['2026-12-01', 'Europe/Paris', '2026-11-30T23:00:00Z'],
    ['2026-12-01', 'America/New_York', '2026-12-01T05:00:00Z'],
    ['2026-07-01', 'America/New_York', '2026-07-01T04:00:00Z'],
    ['2026-12-01', 'Asia/Kolkata', '2026-11-30T18:30:00Z'],
    ['2026-12-01T09:00', 'America/New_York', '2026-12-01T14:00:00Z'],
    ['2026-12-01T09:00:30.5', 'Europe/Paris', '2026-12-01T08:00:30.500Z'],
  ])('reads %s in %s as %s', (text, zone, expected) => {
    expect(zonedInstant(text, zone)).toBe(at(expected));
  });

  it('starts a day whose midnight falls in a DST gap at the first instant that exists (01:00)', () => {
    // Chile springs forward at 24:00 on 2026-09-05: 2026-09-06 begins at 01:00 -03.
    expect(zonedInstant('2026-09-06', 'America/Santiago')).toBe(at('2026-09-06T04:00:00Z'));
    // and falls back at 24:00 on 2026-04-04: 2026-04-05 begins at 00:00 -04.
    expect(zonedInstant('2026-04-05', 'America/Santiago')).toBe(at('2026-04-05T04:00:00Z'));
  });

  it('moves a wall time in a gap forward and takes the first of a repeated one', () => {
    expect(zonedInstant('2026-03-08T02:30', 'America/New_York')).toBe(at('2026-03-08T07:30:00Z'));
    expect(zonedInstant('2026-11-01T01:30', 'America/New_York')).toBe(at('2026-11-01T05:30:00Z'));
    expect(zonedInstant('2026-10-25T02:30', 'Europe/Paris')).toBe(at('2026-10-25T00:30:00Z'));
  });

  it.each([
    ['2026-12-01T09:00:00Z', 'UTC'],
    ['2026-12-01T09:00+02:00', 'UTC'],
    ['2026-02-30', 'UTC'],
    ['2026-12-01T24:00', 'UTC'],
    ['2026-12-01T09:60', 'UTC'],
    ['01/12/2026', 'UTC'],
    ['2026-12-01', 'Not/AZone'],
    ['2026-12-01 09:00', 'UTC'],
  ])('leaves %s (%s) to the caller: null', (text, zone) => {
    expect(zonedInstant(text, zone)).toBeNull();
  });
});
