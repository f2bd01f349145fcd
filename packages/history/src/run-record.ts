import { invalidOption, SchedulerError } from '@s3-scheduler/core';

/** Every status a run can be in. `running` is the only one that is not final. */
export const RUN_STATUSES = [
  'running',
  'completed',
  'failed',
  'timeout',
  'skipped',
  'cancelled',
  'abandoned',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
/** The statuses a run ends in; each has its own status index partition. */
export type FinalStatus = Exclude<RunStatus, 'running'>;
export const FINAL_STATUSES = RUN_STATUSES.filter((status): status is FinalStatus => status !== 'running');

/** What started a run. */
export const RUN_TRIGGERS = ['schedule', 'manual', 'catch-up', 'run-on-start', 'backfill'] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];

/** An error as stored: enough to show and to group by, never a stack or a secret. */
export interface RunError {
  name: string;
  message: string;
  code?: string;
}

/** Why a result was not stored as given. */
export interface ResultTruncation {
  reason: 'too-large' | 'unserializable';
  /** Size of the JSON the result would have taken, when known. */
  bytes?: number;
}

/** One run of one job, as stored in the history. */
export interface RunRecord {
  /** The object key of this record (not stored in the body; where it was read from). */
  key: string;
  job: string;
  /** The scheduled UTC instant (ISO 8601) this run claimed, or `null` for a manual run. */
  slot: string | null;
  runId: string;
  status: RunStatus;
  trigger: RunTrigger;
  /** The leader epoch (fencing token) under which the run was claimed, when known. */
  epoch: number | null;
  workerId: string | null;
  attempts: number;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  /** The action's return value (JSON); a preview string when `resultTruncated` is set. */
  result: unknown;
  resultTruncated?: ResultTruncation;
  error: RunError | null;
  /** When the record was last written. */
  updatedAt: string;
}

/** The body as stored: the record without its key, plus a schema version and a nonce. */
export interface StoredRun extends Omit<RunRecord, 'key'> {
  v: 1;
  nonce: string;
}

/** Accepts `success` (the seed's word) as `completed`; any other unknown status is an error. */
export function normalizeStatus(status: string): RunStatus {
  const value = status === 'success' ? 'completed' : status;
  if ((RUN_STATUSES as readonly string[]).includes(value)) return value as RunStatus;
  throw invalidOption(
    { operation: 'status', option: 'status' },
    status,
    `one of ${[...RUN_STATUSES, 'success'].join(', ')}`,
    `Use one of ${[...RUN_STATUSES, 'success'].join(', ')}.`,
  );
}

export function isFinal(status: RunStatus): status is FinalStatus {
  return status !== 'running';
}

export function encodeRun(run: StoredRun): string {
  return JSON.stringify(run);
}

/**
 * `encodeRun` of `record` with `v: 1` and `nonce` (the body of a run's final or updated state):
 * every field of the record but `key`, those of newer versions too, copied once into the object
 * encoded (a rest copy and then a spread cost about 3 KB of garbage per run). `JSON.stringify`
 * gives one flat string, which is what a `MemoryStore` keeps for as long as the history does.
 */
export function encodeRecord(record: RunRecord, nonce: string): string {
  const stored: Record<string, unknown> = { v: 1 };
  for (const field in record) if (field !== 'key') stored[field] = record[field as keyof RunRecord];
  stored.nonce = nonce;
  return JSON.stringify(stored);
}

/** Parses a stored run and checks its shape; anything else is `STORE_CORRUPTED` naming the key. */
export function decodeRun(key: string, body: Uint8Array): RunRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch (cause) {
    throw corrupted(key, 'not valid JSON', cause);
  }
  const problem = shapeProblem(parsed);
  if (problem) throw corrupted(key, problem);
  const { v: _v, nonce: _nonce, ...record } = parsed as StoredRun;
  return { key, ...record };
}

export function corrupted(key: string, problem: string, cause?: unknown): SchedulerError {
  return new SchedulerError(`History object '${key}' is corrupted: ${problem}`, {
    code: 'STORE_CORRUPTED',
    operation: 'history',
    metadata: { key, problem },
    suggestion:
      'The object was not written by this version of @s3-scheduler/history. It is skipped; inspect or delete it.',
    cause,
  });
}

function shapeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const run = value as Record<string, unknown>;
  if (run.v !== 1) return `unknown schema version ${JSON.stringify(run.v)}`;
  const checks: Array<[string, boolean]> = [
    ['job', typeof run.job === 'string'],
    ['runId', typeof run.runId === 'string'],
    ['slot', run.slot === null || isIso(run.slot)],
    ['status', (RUN_STATUSES as readonly unknown[]).includes(run.status)],
    ['trigger', (RUN_TRIGGERS as readonly unknown[]).includes(run.trigger)],
    ['epoch', run.epoch === null || Number.isInteger(run.epoch)],
    ['workerId', run.workerId === null || typeof run.workerId === 'string'],
    ['attempts', Number.isInteger(run.attempts) && (run.attempts as number) >= 1],
    ['startedAt', isIso(run.startedAt)],
    ['finishedAt', run.finishedAt === null || isIso(run.finishedAt)],
    ['durationMs', run.durationMs === null || (typeof run.durationMs === 'number' && run.durationMs >= 0)],
    ['error', run.error === null || isRunError(run.error)],
    ['updatedAt', isIso(run.updatedAt)],
    ['nonce', typeof run.nonce === 'string'],
  ];
  const bad = checks.find(([, ok]) => !ok);
  return bad ? `field '${bad[0]}' is missing or invalid` : undefined;
}

function isIso(value: unknown): boolean {
  return typeof value === 'string' && Number.isFinite(Date.parse(value));
}

function isRunError(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const error = value as Record<string, unknown>;
  return (
    typeof error.name === 'string' &&
    typeof error.message === 'string' &&
    (error.code === undefined || typeof error.code === 'string')
  );
}
