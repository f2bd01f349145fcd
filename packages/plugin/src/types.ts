import type { Clock } from '@s3-scheduler/core';
import type { CronSchedule, DstPolicy } from '@s3-scheduler/cron';
import type { ObjectStore } from '@s3-scheduler/storage';
import type { HistoryEntry } from './jobs/history-entry.js';
import type { SchedulerJobStatistics } from './jobs/job-statistics.js';
import type { TelemetryOption } from './observability/telemetry.js';

/** What an action receives as its second argument. */
export interface JobContext {
  jobName: string;
  /** The slot's UTC instant as ISO text; `null` for manual runs. */
  slot: string | null;
  /** The slot instant in ms (the start time for manual runs). */
  scheduledTime: number;
  /** When this attempt started, in ms. */
  startTime: number;
  runId: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** The leadership epoch (fencing token) under which the run was claimed. */
  epoch: number;
  /** Aborts on timeout, cancellation or `stop()`. */
  signal: AbortSignal;
  /** Stable per slot (per run for manual runs): pass it to downstream systems to dedupe. */
  idempotencyKey: string;
  trigger: RunTrigger;
  workerId: string;
  /** The job's `context` option, also spread onto this object. */
  [key: string]: unknown;
}

export type RunTrigger = 'schedule' | 'manual' | 'catch-up' | 'run-on-start' | 'backfill';

/**
 * A job's code: `database` is the host given to `install(db)`/`usePlugin` or the `database`
 * option (typed `Db` with `new SchedulerPlugin<Db>(…)`), `plugin` the scheduler itself.
 */
export type JobAction<Db = unknown> = (database: Db, context: JobContext, plugin: unknown) => unknown;

export interface JobConfig<Db = unknown> {
  /** Cron expression or preset; `null` for a job run only by `runJob()`. */
  schedule: string | null;
  description?: string;
  action: JobAction<Db>;
  enabled?: boolean;
  timezone?: string;
  retries?: number;
  timeout?: number;
  runOnStart?: boolean;
  context?: Record<string, unknown>;
  overlap?: OverlapPolicy;
  /** `buffer-all`: at most this many slots wait (older ones are recorded skipped). Default 100. */
  bufferLimit?: number;
  catchUp?: 'latest' | 'all' | 'none';
  catchUpWindow?: number;
  recovery?: 'abandon' | 'rerun';
  dst?: Partial<DstPolicy>;
  backoff?: Record<string, unknown>;
  /** Pause the job after this many consecutive failed runs (0: never). */
  pauseOnFailure?: number;
  /** Stop scheduling after this many scheduled runs (0: no limit). */
  maxRuns?: number;
  /**
   * No slot before this instant: a Date, epoch ms, or ISO text. ISO text without an offset is
   * wall time in the job's `timezone` (`'2026-12-01'` is midnight there, not UTC midnight).
   */
  startAt?: Date | string | number;
  /** No slot after this instant; read as `startAt` is. */
  endAt?: Date | string | number;
  /** Delay each run by a deterministic 0…jitter ms derived from job and slot (never past the next slot). */
  jitter?: number;
}

/** What happens when a slot comes while the job still runs (on any instance). */
export type OverlapPolicy =
  | 'skip'
  | 'allow'
  | 'buffer-one'
  | 'buffer-all'
  | 'cancel-other'
  | 'terminate-other';

export interface NormalizedJob {
  name: string;
  schedule: string | null;
  cron: CronSchedule | null;
  description: string;
  action: JobAction;
  enabled: boolean;
  timezone: string;
  retries: number;
  timeout: number;
  runOnStart: boolean;
  context: Record<string, unknown>;
  overlap: OverlapPolicy;
  bufferLimit: number;
  catchUp: 'latest' | 'all' | 'none';
  catchUpWindow: number;
  recovery: 'abandon' | 'rerun';
  backoff: Record<string, unknown> | undefined;
  pauseOnFailure: number;
  maxRuns: number;
  startAt: number | null;
  endAt: number | null;
  jitter: number;
}

/** A logger the plugin accepts: `warn` and `error` are required, `debug` and `info` optional. */
export interface PluginLogger {
  warn(message: string, ...rest: unknown[]): unknown;
  error(message: string, ...rest: unknown[]): unknown;
  info?(message: string, ...rest: unknown[]): unknown;
  debug?(message: string, ...rest: unknown[]): unknown;
}

export interface SchedulerPluginOptions<Db = unknown> {
  enabled?: boolean;
  timezone?: string;
  jobs?: Record<string, JobConfig<Db>>;
  maxConcurrentJobs?: number;
  persistJobs?: boolean;
  historyResource?: string;
  cleanupInterval?: number;
  historyRetention?: number;
  enableCoordinator?: boolean;
  heartbeatInterval?: number;
  /**
   * Leader lease in ms: a crashed leader's lease holds the cluster up this long, so most of the
   * failover time. Renewed every `renewFraction` of it. Default 12000 (or 3 × `heartbeatInterval`
   * when shorter): failover p50 about 10 s, and an idle 3-instance cluster at about 1,550
   * requests/hour.
   */
  leaseDuration?: number;
  /**
   * How often (ms) the follower first in line reads the leader lease, timed just after the
   * leader's renewals. Default: the renewal period (at most `heartbeatInterval`).
   */
  leaseCheckInterval?: number;
  /**
   * The leader renews its lease this fraction of it after its last renewal while the store answers
   * fast (0.25 to 0.9); sooner while the store is slow. Default 0.75 (every 9 s of a 12 s lease).
   */
  renewFraction?: number;
  coldStartObservationWindow?: number;
  skipColdStart?: boolean;
  /**
   * `memory://<bucket>/<prefix>` or `s3://key:secret@bucket/prefix?region=…&endpoint=…`
   * (`&sessionToken=…` for temporary credentials; never shown). Checked by the constructor:
   * `INVALID_CONNECTION_STRING`.
   */
  connectionString?: string;
  /** A ready store (takes precedence over `connectionString`). */
  store?: ObjectStore;
  workerId?: string;
  clock?: Clock;
  /**
   * How long (ms) `stop()` waits for running jobs before it cancels them; cancelled runs then get
   * a fixed 5 s more to settle. Default 30,000; at most 1 day.
   */
  stopTimeout?: number;
  /** Passed as the first argument of every action (set by `usePlugin` hosts). */
  database?: Db;
  /**
   * Where the plugin logs when no `plg:scheduler:error` listener is registered. Default
   * `console`; `null` silences it. Needs `warn()` and `error()` (console, pino, winston, bunyan
   * qualify); a missing `debug()` or `info()` is a no-op.
   */
  logger?: PluginLogger | null;
  /**
   * OpenTelemetry spans and metrics (off by default): `{ tracer, meter }` from
   * `@opentelemetry/api` (either may be left out), or `true` for the global providers, in which
   * case `@opentelemetry/api` is imported at `start()` (`INVALID_OPTION` when not installed).
   */
  telemetry?: TelemetryOption;
}

/** What `backfill` resolves with. */
export interface BackfillResult {
  slots: number;
  ran: number;
  alreadyRan: number;
  runs: Array<{
    slot: string;
    status: 'completed' | 'failed' | 'timeout' | 'cancelled' | 'already-ran';
    runId?: string;
  }>;
}

/** What `describe` resolves with. */
export interface JobDescription {
  name: string;
  description: string;
  schedule: string | null;
  timezone: string;
  dst: { gap: string; overlap: string } | null;
  enabled: boolean;
  paused: boolean;
  pausedNote: string | null;
  policies: Record<string, unknown>;
  /** The next run times: the slot, and when it fires (later with `jitter`). */
  nextRuns: Array<{ slot: string; fireAt: string }>;
  recentRuns: HistoryEntry[];
  running: Array<{ runId: string; slot: string | null; workerId: string; epoch: number | null }>;
  buffered: string[];
  counters: {
    taken: number;
    skippedForOverlap: number;
    /** Seen by this instance while it led (missed slots leave no record). */
    missedBeyondCatchUp: number;
    abandoned: number;
    consecutiveFailures: number;
    runsTaken: number;
  };
  /** As `getJobStatistics()` returns them. */
  statistics: SchedulerJobStatistics;
}

/** What `runJob` resolves with. */
export interface RunJobResult {
  runId: string;
  jobName: string;
  status: 'completed' | 'failed' | 'timeout' | 'cancelled';
  result?: unknown;
  error?: { name: string; message: string; code?: string };
  attempts: number;
  /** Whole ms, retries and back-off included. */
  durationMs: number;
}
