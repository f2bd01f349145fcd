import { SchedulerError } from '@s3-scheduler/core';

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
  const message =
    context.jobName === undefined
      ? `Invalid cron expression: ${shown}`
      : `Job '${context.jobName}' has invalid cron expression: ${shown}`;
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

export function invalidTimezone(timezone: unknown, context: ErrorContext): SchedulerError {
  const shown = typeof timezone === 'string' ? `'${timezone}'` : describe(timezone);
  const message =
    context.jobName === undefined
      ? `Invalid timezone: ${shown}`
      : `Job '${context.jobName}' has invalid timezone: ${shown}`;
  const close = typeof timezone === 'string' ? closeZones(timezone) : [];
  return new SchedulerError(message, {
    code: 'INVALID_TIMEZONE',
    operation: 'parseCron',
    description:
      typeof timezone === 'string'
        ? `${shown} is not an IANA time zone name known to this Node.js (Intl).`
        : `A time zone must be a string, got ${shown}.`,
    suggestion:
      close.length > 0
        ? `Did you mean ${close.map((zone) => `'${zone}'`).join(' or ')}?`
        : "Use an IANA zone name such as 'UTC', 'America/New_York' or 'Europe/London' (see Intl.supportedValuesOf('timeZone')).",
    metadata: { timezone, ...(context.jobName === undefined ? {} : { jobName: context.jobName }) },
  });
}

/** Zones whose city (the last path segment) equals the one given, ignoring case and separators. */
function closeZones(timezone: string): string[] {
  const key = (zone: string) => (zone.split('/').pop() ?? '').toLowerCase().replace(/[\s_-]+/g, '');
  const wanted = key(timezone);
  if (wanted.length === 0) return [];
  return Intl.supportedValuesOf('timeZone')
    .filter((zone) => key(zone) === wanted)
    .slice(0, 3);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  return `(${typeof value})`;
}
