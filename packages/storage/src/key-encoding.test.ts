import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeKeySegment, encodeKeySegment, MAX_SEGMENT_LENGTH } from './key-encoding.js';

// Full Unicode plus lone surrogates, and long strings: the texts users can hand us.
const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ maxLength: 1200 }),
  fc.string({ unit: fc.constantFrom('.', '/', '%', '~', 'a', 'é', '\uD800', '\uFFFD'), maxLength: 300 }),
);

describe('encodeKeySegment', () => {
  it('never contains /, never is . or .., is never empty and never longer than 180', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const segment = encodeKeySegment(text);
        expect(segment).not.toContain('/');
        expect(segment).not.toContain('.');
        expect(segment.length).toBeGreaterThan(0);
        expect(segment.length).toBeLessThanOrEqual(MAX_SEGMENT_LENGTH);
        expect(segment).toMatch(/^[A-Za-z0-9_%~-]+$/);
      }),
      { numRuns: 2000 },
    );
  });

  it('is injective: different texts never share a segment', () => {
    fc.assert(
      fc.property(anyText, anyText, (a, b) => {
        fc.pre(a !== b);
        expect(encodeKeySegment(a)).not.toBe(encodeKeySegment(b));
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips every text short enough to keep', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const segment = encodeKeySegment(text);
        const decoded = decodeKeySegment(segment);
        if (segment.includes('~') && segment !== '~') expect(decoded).toBeUndefined();
        else expect(decoded).toBe(text);
      }),
      { numRuns: 2000 },
    );
  });

  it('handles the dangerous names', () => {
    expect(encodeKeySegment('.')).toBe('%2E');
    expect(encodeKeySegment('..')).toBe('%2E%2E');
    expect(encodeKeySegment('../../etc')).toBe('%2E%2E%2F%2E%2E%2Fetc');
    expect(encodeKeySegment('')).toBe('~');
    expect(encodeKeySegment('daily-report_v2')).toBe('daily-report_v2');
    expect(encodeKeySegment('作业')).toBe('%E4%BD%9C%E4%B8%9A');
    expect(encodeKeySegment('%41')).not.toBe(encodeKeySegment('A'));
    // A lone surrogate is not U+FFFD (which a naive UTF-8 encoder would produce for both).
    expect(encodeKeySegment('\uD800')).not.toBe(encodeKeySegment('\uFFFD'));
    expect(decodeKeySegment(encodeKeySegment('a\uDC00b'))).toBe('a\uDC00b');
  });

  it('keeps 1 KB names short and apart, even when they differ only at the end', () => {
    const base = 'x'.repeat(1023);
    const a = encodeKeySegment(`${base}a`);
    const b = encodeKeySegment(`${base}b`);
    expect(a).not.toBe(b);
    expect(a.length).toBeLessThanOrEqual(MAX_SEGMENT_LENGTH);
    const unicode = encodeKeySegment('😀'.repeat(256));
    expect(unicode.length).toBeLessThanOrEqual(MAX_SEGMENT_LENGTH);
    expect(unicode).toMatch(/^(%[0-9A-F]{2})+~[0-9a-f]{40}$/);
  });

  it('decodes nothing that is not one of its encodings', () => {
    expect(decodeKeySegment('a/b')).toBeUndefined();
    expect(decodeKeySegment('%zz')).toBeUndefined();
    expect(decodeKeySegment('%C3')).toBeUndefined();
    expect(decodeKeySegment('a.b')).toBeUndefined();
  });
});
