import { closestMatch, SchedulerError } from '@s3-scheduler/core';

/** Unknown option names are almost always typos: say so, and name the closest known one. */
export function checkKnownKeys(
  options: Record<string, unknown>,
  known: readonly string[],
  where: string,
  operation: string,
): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const closest = closestMatch(key, known);
    throw new SchedulerError(`Unknown option '${key}' in ${where}`, {
      code: 'UNKNOWN_OPTION',
      operation,
      metadata: { option: key, known },
      suggestion: closest ? `Did you mean '${closest}'?` : `Known options: ${known.join(', ')}.`,
    });
  }
}

export function checkNonNegativeInteger(
  value: unknown,
  option: string,
  operation: string,
  jobName?: string,
): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  const owner = jobName === undefined ? '' : `Job '${jobName}' option `;
  throw new SchedulerError(
    `${owner}'${option}' must be a non-negative integer, got ${JSON.stringify(value)}`,
    {
      code: 'INVALID_OPTION',
      operation,
      metadata: { option, value, ...(jobName === undefined ? {} : { jobName }) },
      suggestion: `Set ${option} to 0 or a whole number such as 3${option.endsWith('Window') || option === 'timeout' ? ' (milliseconds)' : ''}.`,
    },
  );
}

export function checkEnum<T extends string>(
  value: unknown,
  allowed: readonly T[],
  option: string,
  operation: string,
  jobName?: string,
): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new SchedulerError(
    `Option '${option}' must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`,
    {
      code: 'INVALID_OPTION',
      operation,
      metadata: { option, value, allowed, ...(jobName === undefined ? {} : { jobName }) },
      suggestion: `Use ${allowed.map((item) => `'${item}'`).join(' or ')}.`,
    },
  );
}

export function checkOptionalString(value: unknown, option: string, operation: string): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  throw new SchedulerError(`Option '${option}' must be a string, got ${typeof value}`, {
    code: 'INVALID_OPTION',
    operation,
    metadata: { option, value },
    suggestion: `Pass ${option} as a string.`,
  });
}

/** A Date, an ISO 8601 string or epoch ms, as epoch ms; anything else is an `INVALID_OPTION`. */
export function parseInstant(value: unknown, option: string, operation: string, jobName?: string): number {
  const ms = value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : value;
  if (typeof ms === 'number' && Number.isFinite(ms)) return ms;
  const owner = jobName === undefined ? '' : `Job '${jobName}' option `;
  throw new SchedulerError(`${owner}'${option}' must be a date, got ${JSON.stringify(value)}`, {
    code: 'INVALID_OPTION',
    operation,
    metadata: { option, value: String(value), ...(jobName === undefined ? {} : { jobName }) },
    suggestion: 'Pass a Date, an ISO 8601 string or milliseconds since the epoch.',
  });
}
