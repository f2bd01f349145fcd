/**
 * Compares two strings in UTF-8 byte order, which is the order S3 lists keys in. Plain `<` on
 * JavaScript strings compares UTF-16 code units, which sorts U+E000–U+FFFF before astral
 * characters; UTF-8 sorts them after. Only that case needs a fix-up.
 */
export function compareKeys(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) return fixup(x) - fixup(y);
    return x - y;
  }
  return a.length - b.length;
}

// Surrogates (astral characters, 4 UTF-8 bytes) must sort after U+E000–U+FFFF (3 bytes).
function fixup(codeUnit: number): number {
  return codeUnit >= 0xe000 ? codeUnit - 0x800 : codeUnit + 0x2000;
}

const MAX_KEY_BYTES = 1024;

/** S3 keys are at most 1,024 bytes of UTF-8. */
export function keyByteLength(key: string): number {
  return Buffer.byteLength(key, 'utf8');
}

/** Whether `key` is longer than S3's 1,024 bytes of UTF-8 (counted only when it could be). */
export function keyTooLong(key: string): boolean {
  // A UTF-16 code unit is at most 3 bytes of UTF-8: most keys need no count.
  return key.length * 3 > MAX_KEY_BYTES && keyByteLength(key) > MAX_KEY_BYTES;
}

export { MAX_KEY_BYTES };
