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

/** What statistics read of a run: a whole `RunRecord` will do, or just these fields. */
export type CountedRun = Pick<
  RunRecord,
  'runId' | 'slot' | 'status' | 'startedAt' | 'finishedAt' | 'durationMs' | 'error'
>;

/** The delta one finished run contributes. */
export function deltaOfRun(run: RunRecord): StatsDelta {
  return addRun(emptyDelta(), run);
}

/**
 * `addDelta(into, deltaOfRun(run))` without the run's delta: the counters of one finished run
 * summed into `into`, its "latest" facts made only when they are the latest (a thousand runs a
 * second add to one running sum, the plugin's per-job counters and the pending statistics).
 */
export function addRun(into: StatsDelta, run: CountedRun): StatsDelta {
  if (run.status === 'running') return into;
  into[COUNTER_OF[run.status]] += 1;
  if (run.status === 'skipped') return into;
  if (
    into.lastRun === null ||
    !isLater(into.lastRun.startedAt, into.lastRun.runId, run.startedAt, run.runId)
  ) {
    into.lastRun = {
      runId: run.runId,
      slot: run.slot,
      status: run.status,
      startedAt: run.startedAt,
      finishedAt: run.finishedAt,
      durationMs: run.durationMs,
    };
  }
  const at = run.finishedAt ?? run.startedAt;
  if (run.status === 'completed') {
    if (into.lastSuccess === null || !isLater(into.lastSuccess, into.lastSuccess, at, at))
      into.lastSuccess = at;
    if (run.durationMs !== null) {
      into.completedDurationSumMs += run.durationMs;
      into.completedDurationCount += 1;
    }
  }
  if (run.status === 'failed' || run.status === 'timeout' || run.status === 'abandoned') {
    if (into.lastError === null || !isLater(into.lastError.at, into.lastError.runId, at, run.runId)) {
      const error = run.error ?? { name: 'Error', message: run.status };
      into.lastError = { ...error, runId: run.runId, status: run.status, at };
    }
  }
  return into;
}

/** `a + b`: counters add, "latest" facts keep the later one (ties broken by run id). */
export function mergeDelta(a: StatsDelta, b: StatsDelta): StatsDelta {
  return addDelta(addDelta(emptyDelta(), a), b);
}

/**
 * `into + delta` written into `into` (and returned): what `mergeDelta` gives, without a new
 * object, for a running sum that no one else holds (a thousand runs a second add to one).
 */
export function addDelta(into: StatsDelta, delta: StatsDelta): StatsDelta {
  for (const counter of COUNTERS) into[counter] += delta[counter];
  into.lastRun = latest(into.lastRun, delta.lastRun, runStart, runIdOf);
  into.lastSuccess = latest(into.lastSuccess, delta.lastSuccess, itself, itself);
  into.lastError = latest(into.lastError, delta.lastError, errorAt, runIdOf);
  return into;
}

// The keys `latest` compares by, made once (not a closure per merge).
const runStart = (run: LastRun): string => run.startedAt;
const runIdOf = (value: { runId: string }): string => value.runId;
const itself = (at: string): string => at;
const errorAt = (error: LastError): string => error.at;

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

/** One job's statistics inside a shared statistics document. */
export interface StoredJobStats extends StatsDelta {
  /** When this job's entry last changed. */
  updatedAt: string;
  /** ETag of the per-job document of an older version folded into this entry, once. */
  legacy?: string;
}

/** A statistics document shared by the jobs of one shard (`stats/shards/<h>.json`). */
export interface StatsShardDoc {
  v: 2;
  shard: string;
  jobs: Record<string, StoredJobStats>;
  updatedAt: string;
  nonce: string;
}

/** A per-job statistics document as versions before the shared documents wrote it. */
export function decodeStats(key: string, body: Uint8Array): StatsDoc {
  const parsed = parseJson(key, body);
  if (typeof parsed !== 'object' || parsed === null || (parsed as { v?: unknown }).v !== 1) {
    throw corrupted(key, 'not a statistics document');
  }
  const problem = deltaProblem(parsed as Record<string, unknown>);
  if (problem) throw corrupted(key, problem);
  return parsed as StatsDoc;
}

/** The entries of a shared statistics document, by job. */
export function decodeStatsShard(key: string, body: Uint8Array): Map<string, StoredJobStats> {
  const parsed = parseJson(key, body) as { v?: unknown; jobs?: unknown } | null;
  if (typeof parsed !== 'object' || parsed === null || parsed.v !== 2) {
    throw corrupted(key, 'not a statistics document');
  }
  if (typeof parsed.jobs !== 'object' || parsed.jobs === null || Array.isArray(parsed.jobs)) {
    throw corrupted(key, "field 'jobs' is missing or invalid");
  }
  const jobs = new Map<string, StoredJobStats>();
  for (const [job, entry] of Object.entries(parsed.jobs as Record<string, unknown>)) {
    if (typeof entry !== 'object' || entry === null) throw corrupted(key, `entry of job '${job}' is invalid`);
    const problem = deltaProblem(entry as Record<string, unknown>);
    if (problem) throw corrupted(key, `job '${job}': ${problem}`);
    jobs.set(job, entry as StoredJobStats);
  }
  return jobs;
}

function parseJson(key: string, body: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(body).toString('utf8'));
  } catch (cause) {
    throw corrupted(key, 'not valid JSON', cause);
  }
}

function deltaProblem(doc: Record<string, unknown>): string | undefined {
  const bad = COUNTERS.find((counter) => typeof doc[counter] !== 'number' || !Number.isFinite(doc[counter]));
  if (bad) return `field '${bad}' is missing or invalid`;
  for (const field of ['lastRun', 'lastSuccess', 'lastError'] as const) {
    if (doc[field] === undefined) return `field '${field}' is missing`;
  }
  return undefined;
}

/** Only the additive counters and "latest" facts of a stored entry or document. */
export function deltaOf(stored: StatsDelta): StatsDelta {
  return mergeDelta(emptyDelta(), stored);
}

function latest<T>(
  a: T | null,
  b: T | null,
  time: (value: T) => string,
  tie: (value: T) => string,
): T | null {
  if (a === null) return b;
  if (b === null) return a;
  return isLater(time(a), tie(a), time(b), tie(b)) ? a : b;
}

/** Whether fact a (at instant `ta`, tie-breaker `tieA`) is kept over fact b: the later, or on a tie the greater `tie`. */
function isLater(ta: string, tieA: string, tb: string, tieB: string): boolean {
  // Two `toISOString()` texts (what history writes) sort as their instants: no parse per run.
  const order =
    isPlainIso(ta) && isPlainIso(tb) ? (ta < tb ? -1 : ta > tb ? 1 : 0) : Date.parse(ta) - Date.parse(tb);
  if (order !== 0) return order > 0;
  return tieA >= tieB;
}

/** `YYYY-MM-DDTHH:mm:ss.sssZ`, the fixed-width form `toISOString()` gives for years 0–9999. */
function isPlainIso(text: string): boolean {
  return text.length === 24 && text.charCodeAt(23) === 90 /* Z */ && text.charCodeAt(10) === 84 /* T */;
}
