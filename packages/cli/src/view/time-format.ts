/** Times in the live view are UTC wall-clock times, as slots are UTC instants. */
export function clockTime(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

export function clockTimeMs(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();

/** `08:00:15 EDT`: the instant in a job's own time zone. */
export function zoneTime(ms: number, timezone: string): string {
  let format = zoneFormats.get(timezone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    });
    zoneFormats.set(timezone, format);
  }
  return format.format(ms);
}

/** `1.2 s`, `350 ms`. */
export function durationText(ms: number | null): string {
  if (ms === null) return '-';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
