import type { RunRecord } from '@s3-scheduler/history';

/**
 * One run as `getJobHistory` returns it: the seed's field names plus the distributed facts, and
 * the spec's `started_at` as an alias.
 */
export interface HistoryEntry {
  id: string;
  jobName: string;
  status: RunRecord['status'];
  /** The slot's ISO instant; `null` for manual runs. */
  slot: string | null;
  /** When the run started (ISO). */
  startTime: string;
  /** Alias of `startTime`: the name the spec's examples read (`history[0]?.started_at`). */
  started_at: string;
  endTime: string | null;
  /** Whole milliseconds; `null` while running. */
  duration: number | null;
  result: unknown;
  /** The error message, as the seed stored it; `errorDetail` has name and code. */
  error: string | null;
  errorDetail: RunRecord['error'];
  /** Attempts after the first. */
  retryCount: number;
  attempts: number;
  trigger: RunRecord['trigger'];
  workerId: string | null;
  epoch: number | null;
}

export function toHistoryEntry(record: RunRecord): HistoryEntry {
  return {
    id: record.runId,
    jobName: record.job,
    status: record.status,
    slot: record.slot,
    startTime: record.startedAt,
    started_at: record.startedAt,
    endTime: record.finishedAt,
    duration: record.durationMs,
    result: record.result,
    error: record.error?.message ?? null,
    errorDetail: record.error,
    retryCount: Math.max(0, record.attempts - 1),
    attempts: record.attempts,
    trigger: record.trigger,
    workerId: record.workerId,
    epoch: record.epoch,
  };
}
