import {
  checkEnum,
  checkInstant,
  checkInteger,
  checkOptions,
  checkString,
  invalidOption,
  type Where,
} from '@s3-scheduler/core';

/**
 * Checks of the arguments of `SchedulerPlugin`'s methods, on the shared validation of
 * `@s3-scheduler/core` (one mechanism for every package). Each is called on the first line of
 * the method, so a mistake is refused where the user made it, before any I/O, with a
 * `SchedulerError` naming the argument, showing the value truthfully and suggesting a fix.
 */

/** Documented upper bounds of method arguments: beyond them a call would block or flood. */
export const METHOD_LIMITS = Object.freeze({
  /** Longest job name (it becomes part of object keys and log lines). */
  jobNameLength: 1024,
  /** Longest `pauseJob` note (it is stored in the job's shared document). */
  pauseNoteLength: 1000,
  /** Most next run times `describe` computes. */
  describeCount: 1000,
  /** Most recent runs `describe` reads. */
  describeRecent: 1000,
  /** Most runs one `getJobHistory` call returns. */
  historyLimit: 1000,
});

/** A job name: a non-blank string of at most 1,024 characters. */
export function checkJobName(name: unknown, operation: string): string {
  const where: Where = { operation, option: 'name' };
  if (typeof name === 'string' && name.length <= METHOD_LIMITS.jobNameLength && name.trim() !== '')
    return name;
  throw invalidOption(
    where,
    name,
    `a non-blank string of at most ${METHOD_LIMITS.jobNameLength.toLocaleString('en-US')} characters`,
    'Name the job with a short string, such as "daily_cleanup".',
    'INVALID_JOB',
  );
}

/** `updateJob(name, updates)`: the changes are a plain object (job options are checked by `normalizeJob`). */
export function checkUpdateArguments<T>(name: unknown, updates: T): T {
  checkJobName(name, 'updateJob');
  if (typeof updates !== 'object' || updates === null || Array.isArray(updates)) {
    throw invalidOption(
      { operation: 'updateJob', option: 'updates' },
      updates,
      'an object of job options',
      "Pass the options to change, such as { schedule: '0 4 * * *' }.",
    );
  }
  // Unknown keys are refused by normalizeJob with the job's context; here only a plain copy.
  return checkOptions(updates, keysOf(updates), { operation: 'updateJob', option: 'updates' }) as T;
}

/** `pauseJob(name, note?)`: the note is a string of at most 1,000 characters. */
export function checkPauseArguments(name: unknown, note: unknown): string {
  checkJobName(name, 'pauseJob');
  return checkString(
    note,
    { operation: 'pauseJob', option: 'note' },
    { maxLength: METHOD_LIMITS.pauseNoteLength },
  );
}

export interface DescribeOptions {
  count: number;
  recent: number;
}

/** `describe(name, { count?, recent? })`: `count` 0–1,000 (default 5), `recent` 1–1,000 (default 10). */
export function checkDescribeArguments(name: unknown, options: unknown): DescribeOptions {
  const operation = 'describe';
  checkJobName(name, operation);
  const input = checkOptions(options, ['count', 'recent'], { operation, option: 'options' });
  return {
    count: checkInteger(
      input.count ?? 5,
      { operation, option: 'count' },
      { min: 0, max: METHOD_LIMITS.describeCount },
    ),
    recent: checkInteger(
      input.recent ?? 10,
      { operation, option: 'recent' },
      { min: 1, max: METHOD_LIMITS.describeRecent },
    ),
  };
}

/** `getJobHistory(name, { limit?, status?, before?, after? })`: `limit` 1–1,000, dates 1970–2286. */
export function checkHistoryArguments<T>(name: unknown, options: T): T {
  const operation = 'getJobHistory';
  checkJobName(name, operation);
  const input = checkOptions(options, ['limit', 'status', 'before', 'after'], {
    operation,
    option: 'options',
  });
  if (input.limit !== undefined) {
    checkInteger(input.limit, { operation, option: 'limit' }, { min: 1, max: METHOD_LIMITS.historyLimit });
  }
  if (input.status !== undefined)
    checkString(input.status, { operation, option: 'status' }, { maxLength: 32 });
  if (input.before !== undefined) checkInstant(input.before, { operation, option: 'before' });
  if (input.after !== undefined) checkInstant(input.after, { operation, option: 'after' });
  return input as T;
}

/** `backfill(name, { from, to, overlap? })`: an object with two dates and a known overlap. */
export function checkBackfillArguments<T>(name: unknown, options: T): T {
  const operation = 'backfill';
  checkJobName(name, operation);
  if (options === undefined) {
    throw invalidOption({ operation, option: 'options' }, options, 'an object { from, to }');
  }
  const input = checkOptions(options, ['from', 'to', 'overlap'], { operation, option: 'options' });
  checkInstant(input.from, { operation, option: 'from' });
  checkInstant(input.to, { operation, option: 'to' });
  if (input.overlap !== undefined)
    checkEnum(input.overlap, ['allow', 'buffer-all'], { operation, option: 'overlap' });
  return input as T;
}

/** A Date, an ISO 8601 string or epoch ms (1970–2286), as epoch ms; anything else is an `INVALID_OPTION`. */
export function parseInstant(value: unknown, option: string, operation: string, jobName?: string): number {
  return checkInstant(value, { operation, option, ...(jobName === undefined ? {} : { jobName }) });
}

/**
 * The own keys of an object, or none when reading them throws (a Proxy): `checkOptions` then
 * reads them again and refuses the object with a coded error.
 */
export function keysOf(value: object): string[] {
  try {
    return Object.keys(value);
  } catch {
    return [];
  }
}
