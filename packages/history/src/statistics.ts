import type { FinalStatus, RunError, RunRecord, RunStatus } from './run-record.js';
import { corrupted } from './run-record.js';

/** The latest finished run a statistics document knows of. */
export interface LastRun {
  runId: string;
  slot: string | null;
  status: RunStatus;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
}

export interface LastError extends RunError {
  runId: string;
  status: FinalStatus;
  /** When the failing run finished. */
  at: string;
}

/**
 * Per-job statistics, kept in one small document per job and never computed by scanning
 * history. `total` counts runs that executed and ended (completed, failed, timeout, cancelled,
 * abandoned); skipped slots are counted separately.
 */
export interface JobStatistics {
  job: string;
  total: number;
  completed: number;
  failed: number;
  timeouts: number;
  cancelled: number;
  abandoned: number;
  skipped: number;
  /** `completed / total × 100`, 0 when nothing ran (the seed's 0–100 scale). */
  successRate: number;
  /** Mean duration of completed runs in ms, rounded; `null` before the first one. */
  averageDurationMs: number | null;
  lastRun: LastRun | null;
  /** `finishedAt` of the latest completed run. */
  lastSuccess: string | null;
  /** The latest failed, timed-out or abandoned run. */
  lastError: LastError | null;
  /** When the stored document was last written; `null` when nothing was flushed yet. */
  updatedAt: string | null;
}

/** Additive counters plus "latest" facts: merging two of these is commutative and associative. */
export interface StatsDelta {
  completed: number;
  failed: number;
  timeouts: number;
  cancelled: number;
  abandoned: number;
  skipped: number;
  completedDurationSumMs: number;
  completedDurationCount: number;
  lastRun: LastRun | null;
  lastSuccess: string | null;
  lastError: LastError | null;
}

export interface StatsDoc extends StatsDelta {
  v: 1;
  job: string;
  updatedAt: string;
  nonce: string;
}

const COUNTERS = [
  'completed',
  'failed',
  'timeouts',
  'cancelled',
  'abandoned',
  'skipped',
  'completedDurationSumMs',
  'completedDurationCount',
] as const;

const COUNTER_OF: Record<FinalStatus, (typeof COUNTERS)[number]> = {
  completed: 'completed',
  failed: 'failed',
  timeout: 'timeouts',
  cancelled: 'cancelled',
  abandoned: 'abandoned',
  skipped: 'skipped',
};

export function emptyDelta(): StatsDelta {
  return {
    completed: 0,
    failed: 0,
    timeouts: 0,
    cancelled: 0,
    abandoned: 0,
    skipped: 0,
    completedDurationSumMs: 0,
    completedDurationCount: 0,
    lastRun: null,
    lastSuccess: null,
    lastError: null,
  };
}

/** The delta one finished run contributes. */
export function deltaOfRun(run: RunRecord): StatsDelta {
  const delta = emptyDelta();
  if (run.status === 'running') return delta;
  delta[COUNTER_OF[run.status]] = 1;
  if (run.status === 'skipped') return delta;
  delta.lastRun = {
    runId: run.runId,
    slot: run.slot,
    status: run.status,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    durationMs: run.durationMs,
  };
  if (run.status === 'completed') {
    delta.lastSuccess = run.finishedAt ?? run.startedAt;
    if (run.durationMs !== null) {
      delta.completedDurationSumMs = run.durationMs;
      delta.completedDurationCount = 1;
    }
  }
  if (run.status === 'failed' || run.status === 'timeout' || run.status === 'abandoned') {
    const error = run.error ?? { name: 'Error', message: run.status };
    delta.lastError = { ...error, runId: run.runId, status: run.status, at: run.finishedAt ?? run.startedAt };
  }
  return delta;
}

/** `a + b`: counters add, "latest" facts keep the later one (ties broken by run id). */
export function mergeDelta(a: StatsDelta, b: StatsDelta): StatsDelta {
  const out = emptyDelta();
  for (const counter of COUNTERS) out[counter] = a[counter] + b[counter];
  out.lastRun = latest(
    a.lastRun,
    b.lastRun,
    (run) => run.startedAt,
    (run) => run.runId,
  );
  out.lastSuccess = latest(
    a.lastSuccess,
    b.lastSuccess,
    (at) => at,
    (at) => at,
  );
  out.lastError = latest(
    a.lastError,
    b.lastError,
    (error) => error.at,
    (error) => error.runId,
  );
  return out;
}

export function toStatistics(job: string, delta: StatsDelta, updatedAt: string | null): JobStatistics {
  const count = (value: number) => Math.max(0, value);
  const completed = count(delta.completed);
  const total =
    completed + count(delta.failed) + count(delta.timeouts) + count(delta.cancelled) + count(delta.abandoned);
  return {
    job,
    total,
    completed,
    failed: count(delta.failed),
    timeouts: count(delta.timeouts),
    cancelled: count(delta.cancelled),
    abandoned: count(delta.abandoned),
    skipped: count(delta.skipped),
    successRate: total === 0 ? 0 : (completed / total) * 100,
    averageDurationMs:
      delta.completedDurationCount > 0
        ? Math.round(delta.completedDurationSumMs / delta.completedDurationCount)
        : null,
    lastRun: delta.lastRun,
    lastSuccess: delta.lastSuccess,
    lastError: delta.lastError,
    updatedAt,
  };
}

export function decodeStats(key: string, body: Uint8Array): StatsDoc {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch (cause) {
    throw corrupted(key, 'not valid JSON', cause);
  }
  if (typeof parsed !== 'object' || parsed === null || (parsed as { v?: unknown }).v !== 1) {
    throw corrupted(key, 'not a statistics document');
  }
  const doc = parsed as Record<string, unknown>;
  const bad = COUNTERS.find((counter) => typeof doc[counter] !== 'number' || !Number.isFinite(doc[counter]));
  if (bad) throw corrupted(key, `field '${bad}' is missing or invalid`);
  for (const field of ['lastRun', 'lastSuccess', 'lastError'] as const) {
    if (doc[field] === undefined) throw corrupted(key, `field '${field}' is missing`);
  }
  return parsed as StatsDoc;
}

function latest<T>(
  a: T | null,
  b: T | null,
  time: (value: T) => string,
  tie: (value: T) => string,
): T | null {
  if (a === null) return b;
  if (b === null) return a;
  const order = Date.parse(time(a)) - Date.parse(time(b));
  if (order !== 0) return order > 0 ? a : b;
  return tie(a) >= tie(b) ? a : b;
}
