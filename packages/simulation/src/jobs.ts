import { hashString } from '@s3-scheduler/core';
import type { JobConfig, JobContext } from '@s3-scheduler/plugin';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** A job of the simulated cluster: what it is configured with and how its action behaves. */
export interface JobSpec {
  name: string;
  schedule: string;
  timezone: string;
  catchUp: 'latest' | 'all' | 'none';
  catchUpWindow: number;
  recovery: 'abandon' | 'rerun';
  enabled: boolean;
  /** The action takes a duration drawn (per slot and attempt) from this range, in ms. */
  durationMs: readonly [number, number];
  /** Probability that an attempt throws; `retries: 1` then tries again. */
  failRate: number;
}

function job(spec: Partial<JobSpec> & Pick<JobSpec, 'name' | 'schedule'>): JobSpec {
  return {
    timezone: 'UTC',
    catchUp: 'latest',
    catchUpWindow: HOUR,
    recovery: 'abandon',
    enabled: true,
    durationMs: [0, 10_000],
    failRate: 0,
    ...spec,
  };
}

/**
 * The jobs every simulated cluster starts with: minute and hour cadences (cheap to simulate),
 * daily jobs at times that fall into DST gaps and overlaps in three zones (Lord Howe shifts by
 * 30 minutes), every catch-up policy, both recovery modes, slow runs that overlap their next
 * slot, and a flaky action with a retry.
 */
export const BASE_JOBS: readonly JobSpec[] = [
  job({ name: 'every-5m', schedule: '*/5 * * * *', catchUp: 'all', durationMs: [0, 20_000] }),
  job({
    name: 'hourly-ny',
    schedule: '0 * * * *',
    timezone: 'America/New_York',
    durationMs: [0, 90_000],
    failRate: 0.2,
  }),
  job({
    name: 'nightly-ny',
    schedule: '30 2 * * *',
    timezone: 'America/New_York',
    catchUp: 'all',
    catchUpWindow: 3 * HOUR,
  }),
  job({ name: 'nightly-london', schedule: '30 1 * * *', timezone: 'Europe/London', catchUp: 'all' }),
  job({ name: 'lord-howe-2am', schedule: '15 2 * * *', timezone: 'Australia/Lord_Howe', catchUp: 'all' }),
  job({ name: 'lord-howe-30m', schedule: '*/30 * * * *', timezone: 'Australia/Lord_Howe', catchUp: 'all' }),
  job({
    name: 'slow-10m',
    schedule: '*/10 * * * *',
    catchUp: 'all',
    recovery: 'rerun',
    durationMs: [MINUTE, 14 * MINUTE],
  }),
  job({ name: 'quarter-none', schedule: '*/15 * * * *', catchUp: 'none', durationMs: [0, 5_000] }),
];

/** Schedules a job added or updated at runtime may get. */
export const RUNTIME_SCHEDULES: ReadonlyArray<Pick<JobSpec, 'schedule' | 'timezone'>> = [
  { schedule: '*/5 * * * *', timezone: 'UTC' },
  { schedule: '*/20 * * * *', timezone: 'Europe/London' },
  { schedule: '0 */2 * * *', timezone: 'America/New_York' },
  { schedule: '45 1 * * *', timezone: 'Europe/London' },
  { schedule: '0 2 * * *', timezone: 'America/New_York' },
  { schedule: '30 1 * * *', timezone: 'Australia/Lord_Howe' },
  { schedule: '7,37 * * * *', timezone: 'Australia/Lord_Howe' },
];

export function runtimeJob(name: string, pick: (n: number) => number): JobSpec {
  const where = RUNTIME_SCHEDULES[pick(RUNTIME_SCHEDULES.length)]!;
  const policies = ['all', 'latest', 'none'] as const;
  return job({
    name,
    ...where,
    catchUp: policies[pick(3)]!,
    catchUpWindow: [30 * MINUTE, HOUR, 2 * HOUR][pick(3)]!,
    recovery: pick(2) === 0 ? 'abandon' : 'rerun',
    durationMs: [0, [5_000, 60_000, 6 * MINUTE][pick(3)]!],
  });
}

/** A deterministic number in [0, 1) for one attempt of one slot of a job under a seed. */
export function unitFor(
  seed: number,
  context: Pick<JobContext, 'jobName' | 'slot' | 'attempt'>,
  salt: string,
): number {
  return hashString(`${seed}|${context.jobName}|${context.slot}|${context.attempt}|${salt}`) / 4294967296;
}

/** The plugin's configuration of a spec; `action` is supplied per simulated process. */
export function toJobConfig(spec: JobSpec, action: JobConfig['action']): JobConfig {
  return {
    schedule: spec.schedule,
    timezone: spec.timezone,
    catchUp: spec.catchUp,
    catchUpWindow: spec.catchUpWindow,
    recovery: spec.recovery,
    enabled: spec.enabled,
    retries: spec.failRate > 0 ? 1 : 0,
    action,
  };
}
