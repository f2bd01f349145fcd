import { isoInstant } from '@s3-scheduler/core';
import type { RunOutcome } from '@s3-scheduler/executor';
import type { CountedRun, JobStatistics, RunRecord } from '@s3-scheduler/history';

/**
 * The one statistics shape of the plugin, returned by `getJobStatistics()` (every instance, as
 * stored) and as `getJobStatus().statistics` (this instance's runs, no I/O): the history's
 * `JobStatistics` plus, as documented aliases, the names `getJobStatus()` used before.
 */
export interface SchedulerJobStatistics extends JobStatistics {
  /** Alias of `total`. */
  totalRuns: number;
  /** Alias of `completed`. */
  totalSuccesses: number;
  /** Alias of `total − completed`: failed, timed-out, cancelled and abandoned runs. */
  totalErrors: number;
  /** Alias of `averageDurationMs` (mean of completed runs, whole ms; `null` before the first). */
  avgDuration: number | null;
}

/** `getJobStatus().statistics`: the same shape, plus what only this instance sees. */
export interface JobStatusStatistics extends SchedulerJobStatistics {
  /** Alias of `skipped`: slots skipped because the job was still running (`overlap: 'skip'`). */
  skippedOverlap: number;
  /** Slots that passed beyond the catch-up rules, seen by this instance while it led. */
  missed: number;
}

export function withAliases(statistics: JobStatistics): SchedulerJobStatistics {
  return {
    ...statistics,
    totalRuns: statistics.total,
    totalSuccesses: statistics.completed,
    totalErrors: statistics.total - statistics.completed,
    avgDuration: statistics.averageDurationMs,
  };
}

/**
 * What this instance counts of a run that ended (`RunCounters.record`), without reading the
 * store back: the fields statistics read, not a copy of the whole record (one per run).
 */
export function finishedRun(record: RunRecord, outcome: RunOutcome<unknown>): CountedRun {
  const error = outcome.error;
  return {
    runId: record.runId,
    slot: record.slot,
    status: outcome.status,
    startedAt: record.startedAt,
    finishedAt: isoInstant(outcome.finishedAt),
    durationMs: outcome.durationMs,
    error: error
      ? { name: error.name, message: error.message, ...(error.code ? { code: error.code } : {}) }
      : null,
  };
}
