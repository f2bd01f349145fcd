import { createHash } from 'node:crypto';

const SAFE = /^[A-Za-z0-9_-]$/;
/** No encoded segment is longer than this. */
export const MAX_SEGMENT_LENGTH = 180;
const KEEP_BEFORE_HASH = 120;

/**
 * Turns user text (a job name, a lock name) into one key segment that can never escape its
 * partition or collide with another: every character outside `[A-Za-z0-9_-]` is percent-encoded
 * as UTF-8, so `/`, `.` and `..` cannot appear; a long result is cut and ends in `~` plus a
 * SHA-256 digest of the whole encoding, so 1 KB names stay short (at most 180 characters) and
 * distinct. `~` appears in no other output except `~` alone, the encoding of ''. A lone UTF-16
 * surrogate (invalid Unicode, but a possible JavaScript string) is encoded as its WTF-8 bytes, so
 * it does not collide with U+FFFD.
 */
export function encodeKeySegment(text: string): string {
  const known = encoded.get(text);
  if (known !== undefined) return known;
  const out = encodeUncached(text);
  // Bounded: a process with more distinct segments than this re-encodes some (still correct).
  if (encoded.size >= ENCODED_CACHE_SIZE) encoded.clear();
  encoded.set(text, out);
  return out;
}

/**
 * Segments encoded so far: every run encodes its job's name again (its keys, its idempotency
 * key), a thousand times a second in a burst, and the encoding walks the text char by char.
 */
const encoded = new Map<string, string>();
const ENCODED_CACHE_SIZE = 10_000;

function encodeUncached(text: string): string {
  if (text === '') return '~';
  let out = '';
  for (const char of text) {
    if (SAFE.test(char)) out += char;
    else for (const byte of utf8Bytes(char)) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (out.length <= MAX_SEGMENT_LENGTH) return out;
  const digest = createHash('sha256').update(out, 'latin1').digest('hex').slice(0, 40);
  return `${out.slice(0, KEEP_BEFORE_HASH).replace(/%[0-9A-F]?$/, '')}~${digest}`;
}

/**
 * The text of a segment made by `encodeKeySegment`, or `undefined` when it was shortened (the
 * text is not in the key any more) or is not an encoding at all.
 */
export function decodeKeySegment(segment: string): string | undefined {
  if (segment === '~') return '';
  if (segment.includes('~') || !/^(?:[A-Za-z0-9_-]|%[0-9A-F]{2})+$/.test(segment)) return undefined;
  try {
    // WTF-8 lone surrogates (ED A0..BF xx) are not valid UTF-8: decode them by hand.
    return segment
      .split(/(%ED%[AB][0-9A-F]%[89AB][0-9A-F])/)
      .map((part, index) => (index % 2 === 1 ? loneSurrogate(part) : decodeURIComponent(part)))
      .join('');
  } catch {
    return undefined;
  }
}

function utf8Bytes(char: string): number[] {
  const code = char.codePointAt(0)!;
  if (code >= 0xd800 && code <= 0xdfff) {
    return [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)];
  }
  return [...Buffer.from(char, 'utf8')];
}

function loneSurrogate(encoded: string): string {
  const [a, b, c] = encoded
    .split('%')
    .slice(1)
    .map((hex) => Number.parseInt(hex, 16)) as [number, number, number];
  return String.fromCharCode(((a & 0x0f) << 12) | ((b & 0x3f) << 6) | (c & 0x3f));
}
