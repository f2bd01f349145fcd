import { createNonce, createRunId, runIdTime, SchedulerError } from '@s3-scheduler/core';
import { type CreateEntry, type CreateResult, createAll, isPreconditionFailed } from '@s3-scheduler/storage';
import { captureError, captureResult } from './capture.js';
import type { HistoryContext } from './history-context.js';
import {
  checkJob,
  integerOption,
  invalidOption,
  nonNegative,
  nullableInteger,
  nullableString,
} from './history-options.js';
import { INDEXED_STATUSES, isUlid, MARKED_STATUSES, type RunRef } from './keys.js';
import { layoutAt } from './layout-record.js';
import {
  decodeRun,
  encodeRecord,
  encodeRun,
  FINAL_STATUSES,
  type FinalStatus,
  isFinal,
  normalizeStatus,
  RUN_TRIGGERS,
  type RunRecord,
  type RunStatus,
  type RunTrigger,
  type StoredRun,
} from './run-record.js';
import { emptyDelta } from './statistics.js';
import type { StatisticsBatcher } from './statistics-batcher.js';
import { type Instant, iso, toMs } from './time.js';

/** What `claim` needs. A `slot` makes the key deterministic: that is the slot claim. */
export interface ClaimInput {
  job: string;
  /** The scheduled instant. Omit for a manual run, whose key is then derived from `runId`. */
  slot?: Instant;
  /** A ULID (`createRunId()`); generated when omitted. Required to be a ULID for manual runs. */
  runId?: string;
  /** Default `schedule` with a slot, `manual` without. */
  trigger?: RunTrigger;
  /** `running` (default; the claim is the start) or `skipped` (an overlap-skipped slot). */
  status?: 'running' | 'skipped';
  workerId?: string | null;
  /** The leader epoch (fencing token) the claim is made under. */
  epoch?: number | null;
  /** Default 1. */
  attempts?: number;
  /** Default: now. */
  startedAt?: Instant;
}

/** A record together with the ETag it was read or written with: what a transition needs. */
export interface RunHandle {
  key: string;
  etag: string;
  record: RunRecord;
}

export type ClaimResult =
  | { claimed: true; run: RunHandle }
  /** Someone else holds the key; `existing` is their record (or `null` if unreadable or gone). */
  | { claimed: false; key: string; existing: RunHandle | null };

export interface FinishInput {
  /** Any final status; `success` is read as `completed`. */
  status: FinalStatus | 'success';
  result?: unknown;
  /** Anything thrown; stored as `{ name, message, code }`. */
  error?: unknown;
  /** Default: now. */
  finishedAt?: Instant;
  /** Default `finishedAt − startedAt`. Pass a monotonic measurement when you have one; stored rounded to whole ms. */
  durationMs?: number;
  attempts?: number;
}

export interface UpdateInput {
  attempts?: number;
  epoch?: number | null;
  workerId?: string | null;
}

export interface ReclaimInput {
  workerId?: string | null;
  epoch?: number | null;
}

/** The statuses a transition starts from (shared: `#expect` runs once per transition). */
const RUNNING: readonly RunStatus[] = ['running'];
const RECLAIMABLE: readonly RunStatus[] = ['abandoned', 'running'];

/**
 * The life of one run record: the claim (create-only), then transitions by compare-and-swap on
 * the ETag the caller holds, so a holder whose record was moved by someone else is fenced out.
 */
export class RunTransitions {
  readonly #context: HistoryContext;
  readonly #statistics: StatisticsBatcher;
  readonly #maxResultBytes: number;

  constructor(context: HistoryContext, statistics: StatisticsBatcher, maxResultBytes: number) {
    this.#context = context;
    this.#statistics = statistics;
    this.#maxResultBytes = maxResultBytes;
  }

  async claim(input: ClaimInput): Promise<ClaimResult> {
    const [result] = await this.claimMany([input]);
    if (result!.status === 'rejected') throw result!.reason;
    return result!.value;
  }

  /**
   * Claims every input as `claim` does, as one batch: records built in one pass, the create-only
   * puts sent together (`createAll`: one call on `MemoryStore`, bounded fan-out on S3), results
   * in input order. Each claim is independent: an invalid input or a failed put rejects only its
   * own result; a claim lost to another record reads that record, as `claim` does.
   */
  async claimMany(inputs: readonly ClaimInput[]): Promise<Array<PromiseSettledResult<ClaimResult>>> {
    const { clock, keys, store } = this.#context;
    const now = clock.now();
    // A claim's start is usually now, and a burst's claims share their slot (which `iso` reuses).
    const nowIso = iso(now);
    const isoOf = (ms: number) => (ms === now ? nowIso : iso(ms));
    const results = new Array<PromiseSettledResult<ClaimResult>>(inputs.length);
    // Parallel arrays, not an object per claim: a burst builds a thousand of these in one pass.
    const indexes: number[] = [];
    const refs: RunRef[] = [];
    const records: StoredRun[] = [];
    for (let index = 0; index < inputs.length; index++) {
      try {
        const stored = buildClaim(inputs[index]!, now, nowIso, isoOf, refs);
        records.push(stored);
        indexes.push(index);
      } catch (reason) {
        results[index] = { status: 'rejected', reason };
      }
    }
    if (records.length === 0) return results;
    let shardedFrom: number | null;
    try {
      // Known after the first call: no extra await on the hot path.
      shardedFrom = this.#context.layout.known ?? (await this.#context.layout.resolve());
    } catch (reason) {
      for (const index of indexes) results[index] = { status: 'rejected', reason };
      return results;
    }
    const entries = new Array<CreateEntry>(records.length);
    for (let i = 0; i < records.length; i++) {
      const ref = refs[i]!;
      entries[i] = {
        key: keys.run(records[i]!.job, ref, layoutAt(refMs(ref), shardedFrom)),
        // One flat string (kept by a `MemoryStore` until the final write replaces it).
        body: encodeRun(records[i]!),
        contentType: 'application/json',
      };
    }
    let created: CreateResult[];
    try {
      created = await createAll(store, entries);
    } catch (reason) {
      // Only a store's own `createMany` can throw as a whole: every claim of the batch failed.
      for (const index of indexes) results[index] = { status: 'rejected', reason };
      return results;
    }
    const after: Array<Promise<void>> = [];
    for (let i = 0; i < records.length; i++) {
      const index = indexes[i]!;
      const stored = records[i]!;
      const { key } = entries[i]!;
      const outcome = created[i]!;
      if (outcome.status === 'created') {
        const run = { key, etag: outcome.etag, record: claimedRecord(key, stored) };
        results[index] = { status: 'fulfilled', value: { claimed: true, run } };
        if (stored.status === 'skipped') after.push(this.#afterRareFinal(run));
      } else if (outcome.status === 'exists') {
        after.push(
          this.#readQuietly(key).then((existing) => {
            results[index] = { status: 'fulfilled', value: { claimed: false, key, existing } };
          }),
        );
      } else {
        results[index] = { status: 'rejected', reason: outcome.error };
      }
    }
    if (after.length > 0) await Promise.all(after);
    return results;
  }

  async read(key: string): Promise<RunHandle | null> {
    const object = await this.#context.store.get(key);
    return object ? { key, etag: object.etag, record: decodeRun(key, object.body) } : null;
  }

  async finish(current: RunHandle, outcome: FinishInput): Promise<RunHandle> {
    const status = normalizeStatus(outcome?.status);
    if (!isFinal(status))
      throw invalidOption('status', status, `Finish with one of ${FINAL_STATUSES.join(', ')}.`);
    this.#expect(current, RUNNING, status);
    const record = current.record;
    const finishedAtMs =
      outcome.finishedAt === undefined ? this.#context.clock.now() : toMs(outcome.finishedAt, 'finishedAt');
    const durationMs =
      outcome.durationMs === undefined
        ? Math.max(0, finishedAtMs - Date.parse(record.startedAt))
        : // Whole ms: a caller's monotonic measurement has fractions (performance.now()).
          Math.round(nonNegative('durationMs', outcome.durationMs));
    const captured = captureResult(outcome.result, this.#maxResultBytes);
    // A running record has no truncation marker (claims never do): copied once, not twice.
    const rest = record.resultTruncated === undefined ? record : withoutTruncation(record);
    // One spread, then plain properties: a second, conditional spread in the literal made it
    // several times slower. `resultTruncated` comes last, where that spread put it.
    const next: RunRecord = {
      ...rest,
      status,
      attempts: integerOption('attempts', outcome.attempts, record.attempts, 1, 1_000_000),
      finishedAt: iso(finishedAtMs),
      durationMs,
      result: captured.result,
      error: outcome.error === undefined ? null : captureError(outcome.error),
    };
    if (captured.truncated) next.resultTruncated = captured.truncated;
    const written = await this.#write(current, next);
    const after = this.#afterFinal(written);
    if (after) await after;
    return written;
  }

  async update(current: RunHandle, patch: UpdateInput): Promise<RunHandle> {
    this.#expect(current, RUNNING, 'running');
    const record = current.record;
    return this.#write(current, {
      ...record,
      attempts: integerOption('attempts', patch.attempts, record.attempts, 1, 1_000_000),
      epoch: patch.epoch === undefined ? record.epoch : nullableInteger('epoch', patch.epoch),
      workerId: patch.workerId === undefined ? record.workerId : nullableString('workerId', patch.workerId),
    });
  }

  async reclaim(current: RunHandle, input: ReclaimInput = {}): Promise<RunHandle> {
    this.#expect(current, RECLAIMABLE, 'running');
    const { resultTruncated: _dropped, ...record } = current.record;
    const written = await this.#write(current, {
      ...record,
      status: 'running',
      attempts: record.attempts + 1,
      workerId: input.workerId === undefined ? record.workerId : nullableString('workerId', input.workerId),
      epoch: input.epoch === undefined ? record.epoch : nullableInteger('epoch', input.epoch),
      startedAt: iso(this.#context.clock.now()),
      finishedAt: null,
      durationMs: null,
      result: null,
      error: null,
    });
    if (current.record.status === 'abandoned') {
      // The run is no longer abandoned: drop its index entry, its marker and its count.
      const { store, keys, report } = this.#context;
      await Promise.all([
        store.delete(keys.indexEntry(record.job, current.key, 'abandoned')).catch(report),
        store.delete(keys.marker(current.key, 'abandoned')).catch(report),
      ]);
      await this.#statistics.add(record.job, { ...emptyDelta(), abandoned: -1 });
    }
    return written;
  }

  async #readQuietly(key: string): Promise<RunHandle | null> {
    try {
      return await this.read(key);
    } catch (error) {
      this.#context.report(error);
      return null;
    }
  }

  /** One compare-and-swap of a run record; a lost condition means this holder is fenced out. */
  async #write(current: RunHandle, next: RunRecord): Promise<RunHandle> {
    // `next` is the caller's fresh copy: it becomes the record as stored (without `v` and `nonce`).
    next.key = current.key;
    next.updatedAt = iso(this.#context.clock.now());
    try {
      const { etag } = await this.#context.store.put(current.key, encodeRecord(next, createNonce()), {
        ifMatch: current.etag,
        contentType: 'application/json',
      });
      return { key: current.key, etag, record: next };
    } catch (error) {
      if (!isPreconditionFailed(error)) throw error;
      const now = await this.#readQuietly(current.key);
      throw new SchedulerError(
        `Run '${current.key}' changed since this holder read it (now ${now ? `'${now.record.status}'` : 'missing'}): the write of '${next.status}' was refused`,
        {
          code: 'PRECONDITION_FAILED',
          operation: 'history.transition',
          metadata: {
            key: current.key,
            job: current.record.job,
            expectedEtag: current.etag,
            wanted: next.status,
            currentStatus: now?.record.status ?? null,
            currentEtag: now?.etag ?? null,
            currentWorkerId: now?.record.workerId ?? null,
          },
          suggestion: 'This holder is fenced out: stop acting on the run. Read it again to see who moved it.',
          cause: error,
        },
      );
    }
  }

  #expect(current: RunHandle, from: readonly RunStatus[], to: RunStatus): void {
    if (!current || typeof current.key !== 'string' || typeof current.etag !== 'string' || !current.record) {
      throw invalidOption(
        'run',
        current,
        'Pass the RunHandle returned by claim(), read() or a previous transition.',
      );
    }
    if (!from.includes(current.record.status)) {
      throw new SchedulerError(
        `Run '${current.key}' is '${current.record.status}'; it cannot become '${to}'`,
        {
          code: 'PRECONDITION_FAILED',
          operation: 'history.transition',
          metadata: { key: current.key, from: current.record.status, to, allowedFrom: [...from] },
          suggestion:
            'Only a running run can be updated or finished; only an abandoned or running one reclaimed.',
        },
      );
    }
  }

  /**
   * After a run became final: nothing more for `completed` (the common case costs only its claim
   * and final write); a rare status gets its status index entry, and a marker next to the record
   * (`skipped` needs none: its record never was `running`). Statistics only change in memory.
   */
  #afterFinal(run: RunHandle): Promise<void> | undefined {
    const { record } = run;
    // No promise for a completed run unless its statistics shard is written now.
    if (record.status === 'completed') return this.#statistics.addRun(record.job, record);
    return this.#afterRareFinal(run);
  }

  async #afterRareFinal(run: RunHandle): Promise<void> {
    const { record } = run;
    const { store, keys, report } = this.#context;
    const writes: Array<Promise<unknown>> = [];
    if ((INDEXED_STATUSES as readonly string[]).includes(record.status))
      writes.push(store.put(keys.indexEntry(record.job, run.key, record.status), ''));
    if ((MARKED_STATUSES as readonly string[]).includes(record.status))
      writes.push(store.put(keys.marker(run.key, record.status), ''));
    for (const outcome of await Promise.allSettled(writes)) {
      if (outcome.status === 'rejected') report(outcome.reason);
    }
    await this.#statistics.addRun(record.job, record);
  }
}

/** Checks a claim's input and builds its record; the reference its key is made from goes to `refs`. */
function buildClaim(
  input: ClaimInput,
  now: number,
  nowIso: string,
  isoOf: (ms: number) => string,
  refs: RunRef[],
): StoredRun {
  checkJob(input?.job);
  const slotMs = input.slot === undefined ? undefined : toMs(input.slot, 'slot');
  const runId = input.runId ?? createRunId(now);
  if (typeof runId !== 'string' || (slotMs === undefined && !isUlid(runId)) || runId.length > 200 || !runId) {
    throw invalidOption(
      'runId',
      runId,
      'A manual run needs a ULID run id: use createRunId() from @s3-scheduler/core.',
    );
  }
  const trigger = input.trigger ?? (slotMs === undefined ? 'manual' : 'schedule');
  if (!(RUN_TRIGGERS as readonly string[]).includes(trigger)) {
    throw invalidOption('trigger', trigger, `Use one of ${RUN_TRIGGERS.join(', ')}.`);
  }
  const status = input.status ?? 'running';
  if (status !== 'running' && status !== 'skipped') {
    throw invalidOption('status', status, "A claim starts 'running', or records a 'skipped' slot.");
  }
  const startedAtIso = isoOf(input.startedAt === undefined ? now : toMs(input.startedAt, 'startedAt'));
  const ref: RunRef = slotMs === undefined ? { runId, runIdMs: runIdTime(runId) } : { slotMs };
  const stored: StoredRun = {
    v: 1,
    job: input.job,
    slot: slotMs === undefined ? null : isoOf(slotMs),
    runId,
    status,
    trigger,
    epoch: nullableInteger('epoch', input.epoch),
    workerId: nullableString('workerId', input.workerId),
    attempts: integerOption('attempts', input.attempts, 1, 1, 1_000_000),
    startedAt: startedAtIso,
    finishedAt: status === 'skipped' ? startedAtIso : null,
    durationMs: null,
    result: null,
    error: null,
    updatedAt: nowIso,
    nonce: createNonce(),
  };
  refs.push(ref);
  return stored;
}

/** A run reference from what callers pass: `{ slot }` or `{ runId }` (a ULID). */
export function toRunRef(ref: { slot: Instant } | { runId: string }): RunRef {
  if (ref && 'slot' in ref) return { slotMs: toMs(ref.slot, 'slot') };
  const runId = (ref as { runId?: unknown })?.runId;
  if (typeof runId !== 'string' || !isUlid(runId)) {
    throw invalidOption(
      'runId',
      runId,
      'Pass { slot } for a scheduled run or { runId } (a ULID) for a manual one.',
    );
  }
  return { runId, runIdMs: runIdTime(runId) };
}

/** The instant a run's key is built from: its slot, or the time of its run id. */
export function refMs(ref: RunRef): number {
  return 'slotMs' in ref ? ref.slotMs : ref.runIdMs;
}

/** The `RunRecord` of a claim's stored body (never a truncated result), in one allocation. */
function claimedRecord(key: string, stored: StoredRun): RunRecord {
  return {
    key,
    job: stored.job,
    slot: stored.slot,
    runId: stored.runId,
    status: stored.status,
    trigger: stored.trigger,
    epoch: stored.epoch,
    workerId: stored.workerId,
    attempts: stored.attempts,
    startedAt: stored.startedAt,
    finishedAt: stored.finishedAt,
    durationMs: stored.durationMs,
    result: stored.result,
    error: stored.error,
    updatedAt: stored.updatedAt,
  };
}

function withoutTruncation(record: RunRecord): RunRecord {
  const { resultTruncated: _dropped, ...rest } = record;
  return rest;
}
