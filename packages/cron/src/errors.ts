import { closestMatch, SchedulerError } from '@s3-scheduler/core';

/** What the caller was doing, carried into every error so the message can name the job. */
export interface ErrorContext {
  readonly jobName?: string | undefined;
  readonly timezone?: unknown;
}

export const FIELD_RANGES =
  'second 0-59, minute 0-59, hour 0-23, day-of-month 1-31 or L, month 1-12 or JAN-DEC, ' +
  'day-of-week 0-7 or SUN-SAT (0 and 7 are Sunday), with lists (1,15), ranges (1-5) and steps (*/15)';

export function invalidCron(
  expression: unknown,
  reason: string,
  suggestion: string,
  context: ErrorContext,
  extra: Record<string, unknown> = {},
  cause?: unknown,
): SchedulerError {
  const shown = typeof expression === 'string' ? expression : describe(expression);
  // The reason goes into the message itself (logs often keep only the message), after the text
  // the plugin spec prescribes: `Job '<name>' has invalid cron expression: <expression>`.
  const message =
    context.jobName === undefined
      ? `Invalid cron expression: ${shown} — ${reason}`
      : `Job '${context.jobName}' has invalid cron expression: ${shown} — ${reason}`;
  return new SchedulerError(message, {
    code: 'INVALID_CRON',
    operation: 'parseCron',
    description: `The cron expression ${shown} is invalid: ${reason}.`,
    suggestion,
    metadata: {
      expression,
      reason,
      ...extra,
      ...(context.jobName === undefined ? {} : { jobName: context.jobName }),
    },
    cause,
  });
}

/**
 * The error for a time zone this runtime does not know, worded the same wherever a zone is
 * checked (`parseCron`, and the plugin's options through `timezoneError`). The message names the
 * zone and, for a near miss, the zone it probably meant (`Europe/Pariss` → `Europe/Paris`).
 */
export function invalidTimezone(
  timezone: unknown,
  context: ErrorContext,
  operation = 'parseCron',
  extra: Record<string, unknown> = {},
): SchedulerError {
  const shown = typeof timezone === 'string' ? `'${timezone}'` : describe(timezone);
  const close = typeof timezone === 'string' ? closeZones(timezone) : [];
  const guess = close.length > 0 ? `did you mean ${close.map((zone) => `'${zone}'`).join(' or ')}?` : '';
  const reason =
    typeof timezone === 'string'
      ? `not an IANA time zone name known to this Node.js${guess ? `; ${guess}` : ''}`
      : `a time zone must be a string, got ${shown}`;
  const message =
    context.jobName === undefined
      ? `Invalid timezone: ${shown} — ${reason}`
      : `Job '${context.jobName}' has invalid timezone: ${shown} — ${reason}`;
  return new SchedulerError(message, {
    code: 'INVALID_TIMEZONE',
    operation,
    description: `The time zone ${shown} is invalid: ${reason}.`,
    suggestion:
      close.length > 0
        ? `Did you mean ${close.map((zone) => `'${zone}'`).join(' or ')}?`
        : "Use an IANA zone name such as 'UTC', 'America/New_York' or 'Europe/London' (see Intl.supportedValuesOf('timeZone')).",
    metadata: {
      timezone,
      ...extra,
      ...(context.jobName === undefined ? {} : { jobName: context.jobName }),
    },
  });
}

/**
 * Zones the given name probably meant: those with the same city ignoring case and separators
 * (`America/NewYork`), else the closest by edit distance (`Europe/Pariss`). Only on the error path.
 */
function closeZones(timezone: string): string[] {
  if (timezone.length === 0) return [];
  const zones = [...Intl.supportedValuesOf('timeZone'), 'UTC'];
  const key = (zone: string) => (zone.split('/').pop() ?? '').toLowerCase().replace(/[\s_-]+/g, '');
  const wanted = key(timezone);
  const sameCity = wanted.length === 0 ? [] : zones.filter((zone) => key(zone) === wanted).slice(0, 3);
  if (sameCity.length > 0) return sameCity;
  // Only names with as many segments: `Europe` is not a near miss of `Europe/Amsterdam`.
  const depth = timezone.split('/').length;
  const closest = closestMatch(
    timezone,
    zones.filter((zone) => zone.split('/').length === depth),
  );
  return closest === undefined ? [] : [closest];
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  return `(${typeof value})`;
}
