let lastMs = Number.NaN;
let lastText = '';

/**
 * `new Date(ms).toISOString()` (`YYYY-MM-DDTHH:mm:ss.sssZ`, UTC), remembering the last instant
 * formatted: a burst's thousand runs share their slot and mostly their millisecond, and each run
 * formats several instants (claim, finish, statistics). Throws `RangeError` as `toISOString` does
 * for an invalid instant (NaN is never equal to the remembered one).
 */
export function isoInstant(ms: number): string {
  if (ms !== lastMs) {
    lastText = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastText;
}
