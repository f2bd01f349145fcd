import { DateTime } from 'luxon';
import { isValidTimezone } from './cron-schedule.js';

/** `YYYY-MM-DD`, optionally `THH:mm`, `:ss`, `.sss`: an ISO 8601 date or date-time with no offset. */
const OFFSETLESS_ISO = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?$/;

/**
 * The instant (ms since the epoch) of an ISO 8601 date or date-time written without an offset,
 * read as wall time in `timezone`: `'2026-12-01'` in `Europe/Paris` is 2026-11-30T23:00:00Z, not
 * UTC midnight as `Date.parse` reads it (nor the process's local time, as it reads a date-time).
 * A date alone is the first instant of that day (01:00 where midnight falls in a DST gap); a wall
 * time in a gap moves forward by the gap, one that occurs twice (a DST overlap) is the first.
 * `null` when `text` is not an offset-less ISO date or date-time, is not a calendar date, or
 * `timezone` is not an IANA zone: the caller reads it another way (text with `Z` or `±hh:mm`
 * names its instant already).
 */
export function zonedInstant(text: string, timezone: string): number | null {
  const match = typeof text === 'string' ? OFFSETLESS_ISO.exec(text) : null;
  if (match === null || !isValidTimezone(timezone)) return null;
  const [, year, month, day, hour = '0', minute = '0', second = '0', fraction = '0'] = match;
  const wall = {
    year: Number(year),
    month: Number(month),
    day: Number(day),
    hour: Number(hour),
    minute: Number(minute),
    second: Number(second),
    millisecond: Number(fraction.padEnd(3, '0')),
  };
  // luxon would roll an hour of 24 over to the next day instead of refusing it.
  if (wall.hour > 23 || wall.minute > 59 || wall.second > 59) return null;
  const local = DateTime.fromObject(wall, { zone: timezone });
  if (!local.isValid) return null;
  // In a DST overlap luxon takes the later of the two instants with this wall time; the earlier
  // one is the offset before the change away.
  const dayBefore = DateTime.fromMillis(local.toMillis() - 86_400_000, { zone: timezone });
  const earlier = local.toMillis() + (local.offset - dayBefore.offset) * 60_000;
  if (earlier < local.toMillis()) {
    const other = DateTime.fromMillis(earlier, { zone: timezone });
    if (other.hour === local.hour && other.minute === local.minute && other.day === local.day) return earlier;
  }
  return local.toMillis();
}
