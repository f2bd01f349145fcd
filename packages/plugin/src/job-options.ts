import { SchedulerError } from '@s3-scheduler/core';
import { type CronSchedule, parseCron } from '@s3-scheduler/cron';
import type { JobConfig, NormalizedJob } from './types.js';
import {
  checkEnum,
  checkKnownKeys,
  checkNonNegativeInteger,
  checkOptionalString,
  parseInstant,
} from './validate.js';

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

const JOB_KEYS = [
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
const NO_CONTEXT: Record<string, unknown> = Object.freeze({});

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

/** A job name becomes part of object keys (encoded) and of log lines: keep it sane. */
export function checkJobName(name: unknown, operation: string): string {
  if (typeof name !== 'string' || name.trim() === '' || name.length > 1024) {
    throw new SchedulerError(`Invalid job name: ${JSON.stringify(name)}`, {
      code: 'INVALID_JOB',
      operation,
      metadata: { jobName: name },
      suggestion: 'Use a non-empty string of at most 1,024 characters, such as "daily_cleanup".',
    });
  }
  return name;
}

/**
 * Validates one job definition where the user wrote it and returns it with every default
 * filled in and its schedule parsed once.
 */
export function normalizeJob(
  name: string,
  config: unknown,
  defaults: { timezone: string },
  operation: string,
): NormalizedJob {
  if (typeof config !== 'object' || config === null) {
    throw new SchedulerError(`Job '${name}' must be an object with schedule and action`, {
      code: 'INVALID_JOB',
      operation,
      metadata: { jobName: name, providedConfig: typeof config },
      suggestion: "Define the job as { schedule: '0 3 * * *', action: async () => {} }.",
    });
  }
  const job = config as JobConfig;
  checkKnownKeys(job as unknown as Record<string, unknown>, JOB_KEYS, `job '${name}'`, operation);
  if (typeof job.action !== 'function') {
    throw new SchedulerError(`Job '${name}' must have an action function`, {
      code: 'INVALID_JOB',
      operation,
      metadata: { jobName: name, actionType: typeof job.action },
      suggestion: 'Set action: async (database, context) => { … }.',
    });
  }
  if (job.schedule === undefined) {
    throw new SchedulerError(`Job '${name}' must have a schedule (or schedule: null for manual-only jobs)`, {
      code: 'INVALID_JOB',
      operation,
      metadata: { jobName: name },
      suggestion:
        "Set schedule: '0 3 * * *', a preset such as '@daily', or null to run it only with runJob().",
    });
  }
  const timezone = checkOptionalString(job.timezone, 'timezone', operation) ?? defaults.timezone;
  let cron: CronSchedule | null = null;
  if (job.schedule !== null) {
    cron = parseCron(job.schedule as string, {
      timezone,
      jobName: name,
      ...(job.dst === undefined ? {} : { dst: job.dst }),
    });
  }
  return {
    name,
    schedule: job.schedule === null ? null : String(job.schedule),
    cron,
    description: checkOptionalString(job.description, 'description', operation) ?? '',
    action: job.action,
    enabled:
      job.enabled === undefined
        ? JOB_DEFAULTS.enabled
        : checkBoolean(job.enabled, 'enabled', name, operation),
    timezone,
    retries: checkNonNegativeInteger(job.retries ?? JOB_DEFAULTS.retries, 'retries', operation, name),
    timeout: checkNonNegativeInteger(job.timeout ?? JOB_DEFAULTS.timeout, 'timeout', operation, name),
    runOnStart:
      job.runOnStart === undefined ? false : checkBoolean(job.runOnStart, 'runOnStart', name, operation),
    context: job.context ?? NO_CONTEXT,
    overlap: checkEnum(job.overlap ?? JOB_DEFAULTS.overlap, OVERLAP_POLICIES, 'overlap', operation, name),
    catchUp: checkEnum(job.catchUp ?? JOB_DEFAULTS.catchUp, CATCH_UP_POLICIES, 'catchUp', operation, name),
    catchUpWindow: checkNonNegativeInteger(
      job.catchUpWindow ?? JOB_DEFAULTS.catchUpWindow,
      'catchUpWindow',
      operation,
      name,
    ),
    recovery: checkEnum(
      job.recovery ?? JOB_DEFAULTS.recovery,
      RECOVERY_POLICIES,
      'recovery',
      operation,
      name,
    ),
    backoff: job.backoff,
    bufferLimit: positive(job.bufferLimit ?? JOB_DEFAULTS.bufferLimit, 'bufferLimit', operation, name),
    pauseOnFailure: checkNonNegativeInteger(job.pauseOnFailure ?? 0, 'pauseOnFailure', operation, name),
    maxRuns: checkNonNegativeInteger(job.maxRuns ?? 0, 'maxRuns', operation, name),
    startAt: checkInstant(job.startAt, 'startAt', operation, name),
    endAt: checkInstant(job.endAt, 'endAt', operation, name),
    jitter: checkNonNegativeInteger(job.jitter ?? 0, 'jitter', operation, name),
  };
}

function positive(value: unknown, option: string, operation: string, jobName: string): number {
  const number = checkNonNegativeInteger(value, option, operation, jobName);
  if (number > 0) return number;
  throw new SchedulerError(`Job '${jobName}' option '${option}' must be at least 1`, {
    code: 'INVALID_OPTION',
    operation,
    metadata: { jobName, option, value },
    suggestion: `Set ${option} to 1 or more.`,
  });
}

/** `startAt` / `endAt`: a Date, an ISO string or epoch ms; `null` for no bound. */
function checkInstant(value: unknown, option: string, operation: string, jobName: string): number | null {
  return value === undefined || value === null ? null : parseInstant(value, option, operation, jobName);
}

function checkBoolean(value: unknown, option: string, jobName: string, operation: string): boolean {
  if (typeof value === 'boolean') return value;
  throw new SchedulerError(
    `Job '${jobName}' option '${option}' must be true or false, got ${JSON.stringify(value)}`,
    {
      code: 'INVALID_OPTION',
      operation,
      metadata: { jobName, option, value },
      suggestion: `Set ${option}: true or ${option}: false.`,
    },
  );
}
