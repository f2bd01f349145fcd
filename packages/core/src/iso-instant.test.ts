import { describe, expect, it } from 'vitest';
import { isoInstant } from './iso-instant.js';

describe('isoInstant', () => {
  it('formats as toISOString, the same instant again and a new one', () => {
    const ms = Date.UTC(2026, 2, 29, 1, 30, 0, 7);
    expect(isoInstant(ms)).toBe('2026-03-29T01:30:00.007Z');
    expect(isoInstant(ms)).toBe('2026-03-29T01:30:00.007Z');
    expect(isoInstant(ms + 1)).toBe('2026-03-29T01:30:00.008Z');
    expect(isoInstant(0)).toBe('1970-01-01T00:00:00.000Z');
  });

  it('throws RangeError for an invalid instant, every time', () => {
    expect(() => isoInstant(Number.NaN)).toThrow(RangeError);
    expect(() => isoInstant(Number.NaN)).toThrow(RangeError);
    expect(() => isoInstant(8.64e15 + 1)).toThrow(RangeError);
  });
});
