import fc from 'fast-check';
import { IANAZone } from 'luxon';
import { describe, expect, it } from 'vitest';
import { civilFromDays, daysFromCivil, daysInMonth } from './calendar.js';
import { ZoneRules } from './zone-rules.js';

describe('calendar arithmetic', () => {
  it('agrees with Date.UTC for any day from year -2000 to 9999', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1_450_000, max: 2_930_000 }), (days) => {
        const date = new Date(days * 86_400_000);
        const civil = civilFromDays(days);
        expect(civil).toEqual({
          year: date.getUTCFullYear(),
          month: date.getUTCMonth() + 1,
          day: date.getUTCDate(),
        });
        expect(daysFromCivil(civil.year, civil.month, civil.day)).toBe(days);
      }),
      { seed: 7, numRuns: 2000 },
    );
    expect(daysInMonth(2024, 2)).toBe(29);
    expect(daysInMonth(2100, 2)).toBe(28);
    expect(daysInMonth(2000, 2)).toBe(29);
  });
});

describe('ZoneRules', () => {
  it('finds the transitions of Pacific/Apia in 2011, including the day that did not exist', () => {
    const transitions = ZoneRules.for('Pacific/Apia').yearRules(2011).transitions;
    expect(
      transitions.map((t) => [new Date(t.at * 1000).toISOString(), t.before / 3600, t.after / 3600]),
    ).toEqual([
      ['2011-04-02T14:00:00.000Z', -10, -11],
      ['2011-09-24T14:00:00.000Z', -11, -10],
      ['2011-12-30T10:00:00.000Z', -10, 14],
    ]);
  });

  it('finds 30-minute transitions (Australia/Lord_Howe)', () => {
    const transitions = ZoneRules.for('Australia/Lord_Howe').yearRules(2025).transitions;
    expect(
      transitions.map((t) => [new Date(t.at * 1000).toISOString(), t.before / 60, t.after / 60]),
    ).toEqual([
      ['2025-04-05T15:00:00.000Z', 660, 630],
      ['2025-10-04T15:30:00.000Z', 630, 660],
    ]);
  });

  it('agrees with luxon on the offset of every zone', () => {
    const instants = [
      Date.UTC(1985, 6, 1),
      Date.UTC(2011, 11, 30, 12),
      Date.UTC(2025, 2, 9, 7),
      Date.UTC(2040, 9, 1),
    ];
    for (const zone of Intl.supportedValuesOf('timeZone')) {
      const rules = ZoneRules.for(zone);
      const luxon = IANAZone.create(zone);
      for (const ms of instants) expect(rules.offsetAt(ms / 1000)).toBe(Math.round(luxon.offset(ms) * 60));
    }
  });

  it('shares one instance per canonical zone and has no table for fixed zones', () => {
    expect(ZoneRules.for('utc')).toBe(ZoneRules.for('UTC'));
    expect(ZoneRules.for('Etc/GMT+5').offsetAt(0)).toBe(-5 * 3600);
    expect(ZoneRules.for('UTC').yearRules(2025).transitions).toEqual([]);
  });
});
