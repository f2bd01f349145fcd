import {
  checkBoolean,
  checkEnum,
  checkInstant,
  checkInteger,
  checkKnownKeys,
  checkString,
  invalidOption,
  MAX_INSTANT_MS,
  snapshotObject,
  type Where,
} from '@s3-scheduler/core';
import { type CronSchedule, parseCron, timezoneError, zonedInstant } from '@s3-scheduler/cron';
import { RUN_LIMITS, resolveBackoff } from '@s3-scheduler/executor';
import type { JobConfig, NormalizedJob } from '../types.js';

export const OVERLAP_POLICIES = [
  'skip',
  'allow',
  'buffer-one',
  'buffer-all',
  'cancel-other',
  'terminate-other',
] as const;
export const CATCH_UP_POLICIES = ['latest', 'all', 'none'] as const;
export const RECOVERY_POLICIES = ['abandon', 'rerun'] as const;

export const JOB_KEYS = [
  'schedule',
  'description',
  'action',
  'enabled',
  'timezone',
  'retries',
  'timeout',
  'runOnStart',
  'context',
  'overlap',
  'catchUp',
  'catchUpWindow',
  'recovery',
  'dst',
  'backoff',
  'bufferLimit',
  'pauseOnFailure',
  'maxRuns',
  'startAt',
  'endAt',
  'jitter',
] as const;

/** Shared by every job without a `context` (it is only ever spread, never written). */
export const NO_CONTEXT: Record<string, unknown> = Object.freeze({});

export const JOB_DEFAULTS = {
  enabled: true,
  retries: 0,
  timeout: 60_000,
  runOnStart: false,
  overlap: 'skip',
  catchUp: 'latest',
  catchUpWindow: 3_600_000,
  recovery: 'abandon',
  bufferLimit: 100,
  pauseOnFailure: 0,
  maxRuns: 0,
  jitter: 0,
} as const;

/**
 * Documented upper bounds of the job options: beyond them a value would wedge the job (a run
 * retried for ever, a window no slot fits), refused at construction, `addJob` and `updateJob`,
 * so it is never stored or replicated.
 */
export const JOB_LIMITS = Object.freeze({
  retries: RUN_LIMITS.retries,
  /** 7 days (0: no timeout). */
  timeout: RUN_LIMITS.timeoutMs,
  /** 31 days. */
  catchUpWindow: 31 * 86_400_000,
  bufferLimit: 10_000,
  pauseOnFailure: 10_000,
  /** 1 day. */
  jitter: 86_400_000,
  descriptionLength: 4096,
  scheduleLength: 256,
  timezoneLength: 64,
});

export { checkJobName } from '../validate.js';

/**
 * Validates one job definition where the user wrote it and returns it with every default
 * filled in and its schedule parsed once. Throws `INVALID_JOB`, `INVALID_CRON`,
 * `INVALID_TIMEZONE`, `INVALID_OPTION` or `UNKNOWN_OPTION`.
 */
export function normalizeJob(
  name: string,
  config: unknown,
  defaults: { timezone: string },
  operation: string,
): NormalizedJob {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw invalidOption(
      { operation, option: 'config', jobName: name },
      config,
      'an object with schedule and action',
      "Define the job as { schedule: '0 3 * * *', action: async () => {} }.",
      'INVALID_JOB',
    );
  }
  const at = (option: string): Where => ({ operation, option, jobName: name });
  const job = snapshotObject(config, at('config')) as unknown as JobConfig;
  checkKnownKeys(job, JOB_KEYS, at('options'));
  if (typeof job.action !== 'function') {
    throw invalidOption(
      at('action'),
      job.action,
      'a function',
      'Set action: async (database, context) => { … }.',
      'INVALID_JOB',
    );
  }
  if (job.schedule === undefined) {
    throw invalidOption(
      at('schedule'),
      job.schedule,
      'a cron expression, or null for a manual-only job',
      "Set schedule: '0 3 * * *', a preset such as '@daily', or null to run it only with runJob().",
      'INVALID_JOB',
    );
  }
  if (
    job.schedule !== null &&
    (typeof job.schedule !== 'string' || job.schedule.length > JOB_LIMITS.scheduleLength)
  ) {
    throw invalidOption(
      at('schedule'),
      job.schedule,
      `a cron expression of at most ${JOB_LIMITS.scheduleLength} characters, or null`,
      "Use five or six fields such as '0 3 * * *', or a preset such as '@daily'.",
      'INVALID_CRON',
    );
  }
  const timezone =
    job.timezone === undefined
      ? defaults.timezone
      : checkString(job.timezone, at('timezone'), { minLength: 1, maxLength: JOB_LIMITS.timezoneLength });
  // Also for a manual-only job: a zone that is wrong now is wrong when a schedule is added.
  // The cron package words it, with a "did you mean", the same as for the plugin's own zone.
  const zoneError = timezoneError(timezone, { jobName: name, operation, option: 'timezone' });
  if (zoneError !== null) throw zoneError;
  if (
    job.context !== undefined &&
    (typeof job.context !== 'object' || job.context === null || Array.isArray(job.context))
  ) {
    throw invalidOption(
      at('context'),
      job.context,
      'an object',
      'Pass context: { key: value }, spread into the action context.',
    );
  }
  if (job.backoff !== undefined) resolveBackoff(job.backoff, operation);
  let cron: CronSchedule | null = null;
  if (job.schedule !== null) {
    cron = parseCron(job.schedule, {
      timezone,
      jobName: name,
      ...(job.dst === undefined ? {} : { dst: job.dst }),
    });
  }
  const integer = (option: keyof JobConfig, fallback: number, min: number, max: number, unit?: string) =>
    checkInteger(job[option] ?? fallback, at(option), { min, max, ...(unit ? { unit } : {}) });
  const startAt = checkInstantOption(job.startAt, at('startAt'), timezone);
  const endAt = checkInstantOption(job.endAt, at('endAt'), timezone);
  if (startAt !== null && endAt !== null && endAt < startAt) {
    throw invalidOption(
      at('endAt'),
      job.endAt,
      `a date not before startAt (${new Date(startAt).toISOString()})`,
      'Swap startAt and endAt, or leave one out: with endAt before startAt the job never runs.',
    );
  }
  return {
    name,
    schedule: job.schedule,
    cron,
    description:
      job.description === undefined
        ? ''
        : checkString(job.description, at('description'), { maxLength: JOB_LIMITS.descriptionLength }),
    action: job.action,
    enabled: job.enabled === undefined ? JOB_DEFAULTS.enabled : checkBoolean(job.enabled, at('enabled')),
    timezone,
    retries: integer('retries', JOB_DEFAULTS.retries, 0, JOB_LIMITS.retries),
    timeout: integer('timeout', JOB_DEFAULTS.timeout, 0, JOB_LIMITS.timeout, 'ms (0: no timeout)'),
    runOnStart: job.runOnStart === undefined ? false : checkBoolean(job.runOnStart, at('runOnStart')),
    context: job.context === undefined ? NO_CONTEXT : snapshotObject(job.context, at('context')),
    overlap: checkEnum(job.overlap ?? JOB_DEFAULTS.overlap, OVERLAP_POLICIES, at('overlap')),
    catchUp: checkEnum(job.catchUp ?? JOB_DEFAULTS.catchUp, CATCH_UP_POLICIES, at('catchUp')),
    catchUpWindow: integer('catchUpWindow', JOB_DEFAULTS.catchUpWindow, 0, JOB_LIMITS.catchUpWindow, 'ms'),
    recovery: checkEnum(job.recovery ?? JOB_DEFAULTS.recovery, RECOVERY_POLICIES, at('recovery')),
    backoff: job.backoff,
    bufferLimit: integer('bufferLimit', JOB_DEFAULTS.bufferLimit, 1, JOB_LIMITS.bufferLimit),
    pauseOnFailure: integer('pauseOnFailure', 0, 0, JOB_LIMITS.pauseOnFailure, 'failures'),
    maxRuns: integer('maxRuns', 0, 0, Number.MAX_SAFE_INTEGER, 'runs'),
    startAt,
    endAt,
    jitter: integer('jitter', 0, 0, JOB_LIMITS.jitter, 'ms'),
  };
}

/**
 * `startAt` / `endAt`: a Date, an ISO string or epoch ms (1970–2286); `null` for no bound. An ISO
 * string without an offset (`'2026-12-01'`, `'2026-12-01T09:00'`) is wall time in the job's zone,
 * as its schedule is: `Date.parse` would read a date alone as UTC midnight, and a date-time in the
 * zone of whichever process reads it.
 */
function checkInstantOption(value: unknown, where: Where, timezone: string): number | null {
  if (value === undefined || value === null) return null;
  const zoned = typeof value === 'string' ? zonedInstant(value, timezone) : null;
  // Out of range, it is refused below, worded on the text as given.
  if (zoned !== null && zoned >= 0 && zoned <= MAX_INSTANT_MS) return zoned;
  return checkInstant(value, where);
}

/** A job's run policies, as `describe()` reports them and the job catalog publishes them. */
export type JobPolicies = Pick<
  NormalizedJob,
  | 'overlap'
  | 'bufferLimit'
  | 'catchUp'
  | 'catchUpWindow'
  | 'recovery'
  | 'retries'
  | 'timeout'
  | 'jitter'
  | 'pauseOnFailure'
  | 'maxRuns'
>;

/**
 * The run policies of a normalized job (durations in ms, 0 = none where the option says so): one
 * list for `describe()` and the catalog, so a new policy shows in both.
 */
export function policiesOf(def: NormalizedJob): JobPolicies {
  return {
    overlap: def.overlap,
    bufferLimit: def.bufferLimit,
    catchUp: def.catchUp,
    catchUpWindow: def.catchUpWindow,
    recovery: def.recovery,
    retries: def.retries,
    timeout: def.timeout,
    jitter: def.jitter,
    pauseOnFailure: def.pauseOnFailure,
    maxRuns: def.maxRuns,
  };
}
