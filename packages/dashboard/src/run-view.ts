import type { HistoryEntry } from '@s3-scheduler/plugin';
import type { RunView } from './source.js';

/** A stored run as the page shows it (both sources). */
export function runView(entry: HistoryEntry): RunView {
  const slot = entry.slot === null ? Number.NaN : Date.parse(entry.slot);
  const started = Date.parse(entry.startTime);
  return {
    runId: entry.id,
    job: entry.jobName,
    status: entry.status,
    trigger: entry.trigger,
    slot: entry.slot,
    startedAt: entry.startTime,
    finishedAt: entry.endTime,
    durationMs: entry.duration,
    latenessMs: Number.isFinite(slot) && Number.isFinite(started) ? started - slot : null,
    attempts: entry.attempts,
    error: entry.errorDetail
      ? {
          name: entry.errorDetail.name,
          message: entry.errorDetail.message,
          ...(entry.errorDetail.code ? { code: entry.errorDetail.code } : {}),
        }
      : null,
    workerId: entry.workerId,
    epoch: entry.epoch,
  };
}
