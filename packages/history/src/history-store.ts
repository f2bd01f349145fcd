import {
  type Clock,
  checkInteger,
  checkNumber,
  checkOptions,
  checkString,
  invalidOption as coreInvalidOption,
  createNonce,
  createRunId,
  isSchedulerError,
  runIdTime,
  SchedulerError,
  systemClock,
  type Where,
} from '@s3-scheduler/core';
import { compareKeys, isPreconditionFailed, type ObjectStore } from '@s3-scheduler/storage';
import { captureError, captureResult } from './capture.js';
import { mapLimit } from './concurrency.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import {
  HistoryKeys,
  isUlid,
  jobSegment,
  olderDaysBound,
  type RunRef,
  strictlyAfterBound,
  strictlyBeforeBound,
} from './keys.js';
import {
  corrupted,
  decodeRun,
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
import {
  decodeStats,
  deltaOfRun,
  emptyDelta,
  type JobStatistics,
  mergeDelta,
  type StatsDelta,
  type StatsDoc,
  toStatistics,
} from './statistics.js';
import { type Instant, iso, toMs } from './time.js';

export interface HistoryStoreOptions {
  /** Where history lives. Wrap a remote store in `ResolvingStore` so lost responses are settled. */
  store: ObjectStore;
  /** Source of every timestamp. Default: the system clock. */
  clock?: Clock;
  /** Key prefix of everything this store writes. Default `history/`. */
  prefix?: string;
  /** Largest result stored as given, in bytes of JSON; larger ones become a preview. Default 8,192. */
  maxResultBytes?: number;
  /** Flush a job's statistics after this many finished runs. Default 10. `1` flushes every run. */
  statsBatchSize?: number;
  /** …or when its oldest unflushed run finished this long ago (checked at each finish). Default 60,000. */
  statsFlushIntervalMs?: number;
  /** Records fetched in parallel by a query. Default 20. */
  readConcurrency?: number;
  /**
   * Told about problems that do not fail the call: a corrupted record skipped by a query, a
   * status index entry or statistics flush that failed after the run record itself was written.
   */
  onError?: (error: SchedulerError) => void;
}

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

export interface HistoryQuery {
  /** Only runs in this status (`success` means `completed`). */
  status?: RunStatus | 'success';
  /** Page size, 1–1,000. Default 20. */
  limit?: number;
  /** Only runs whose slot (or, for manual runs, run id time) is strictly before this instant. */
  before?: Instant;
  /** Only runs strictly after this instant. */
  after?: Instant;
  /** The `cursor` of the previous page. */
  cursor?: string;
}

export interface HistoryPage {
  /** Newest first. */
  runs: RunRecord[];
  /** Present when more runs may follow: pass it back as `cursor`. */
  cursor?: string;
  /** Records that could not be read (each a `STORE_CORRUPTED` error naming its key); skipped. */
  errors: SchedulerError[];
}

export interface CleanupOptions {
  /** Delete every day partition that ends at or before this instant. */
  olderThan: Instant;
  /** Keys listed and deleted per batch (deletes of one batch run in parallel). Default 100. */
  batchSize?: number;
  /** Only these jobs. Default: every job found under the prefix. */
  jobs?: readonly string[];
}

export interface CleanupResult {
  /** Delete requests this call issued (keys another instance deleted first count too). */
  deleted: number;
  /** Day partitions (run and status index) emptied. */
  partitions: number;
  /** Jobs examined. */
  jobs: number;
}

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 1000;
/** List pages a query reads at most: stale index entries can need a second page, never many. */
const MAX_PAGES_PER_QUERY = 3;
const MAX_STATS_ATTEMPTS = 10;

interface PendingStats {
  delta: StatsDelta;
  runs: number;
  since: number;
}

const STORE_OPTION_KEYS = [
  'store',
  'clock',
  'prefix',
  'maxResultBytes',
  'statsBatchSize',
  'statsFlushIntervalMs',
  'readConcurrency',
  'onError',
] as const;
const QUERY_KEYS = ['status', 'limit', 'before', 'after', 'cursor'] as const;
const CLEANUP_KEYS = ['olderThan', 'batchSize', 'jobs'] as const;

/**
 * The run history of every job on one `ObjectStore`. A scheduled run costs three writes: the
 * claim (create-only; it *is* the start), the finish (compare-and-swap), and one zero-byte
 * status index entry. Statistics are folded into one document per job every `statsBatchSize`
 * runs. Queries list one partition newest first and read only the records they return.
 */
export class HistoryStore {
  readonly keys: HistoryKeys;
  readonly #store: ObjectStore;
  readonly #clock: Clock;
  readonly #maxResultBytes: number;
  readonly #statsBatchSize: number;
  readonly #statsFlushIntervalMs: number;
  readonly #readConcurrency: number;
  readonly #onError: ((error: SchedulerError) => void) | undefined;
  readonly #pending = new Map<string, PendingStats>();
  readonly #statsCache = new Map<string, { etag: string; doc: StatsDoc | null }>();
  readonly #flushes = new Map<string, Promise<void>>();

  constructor(options: HistoryStoreOptions) {
    checkOptions(options ?? {}, STORE_OPTION_KEYS, { operation: 'new HistoryStore', option: 'options' });
    if (!options || typeof options.store?.put !== 'function') {
      throw invalidOption(
        'store',
        options?.store,
        'Pass an ObjectStore, such as new MemoryStore().',
        'an ObjectStore',
      );
    }
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
    const prefix = options.prefix ?? 'history/';
    if (typeof prefix !== 'string' || prefix.startsWith('/') || prefix.includes('//')) {
      throw invalidOption('prefix', prefix, "Use a relative key prefix such as 'history/'.");
    }
    this.keys = new HistoryKeys(prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`);
    this.#maxResultBytes = integerOption('maxResultBytes', options.maxResultBytes, 8192, 0, 262_144);
    this.#statsBatchSize = integerOption('statsBatchSize', options.statsBatchSize, 10, 1, 1_000_000);
    this.#statsFlushIntervalMs = integerOption(
      'statsFlushIntervalMs',
      options.statsFlushIntervalMs,
      60_000,
      0,
      Number.MAX_SAFE_INTEGER,
    );
    this.#readConcurrency = integerOption('readConcurrency', options.readConcurrency, 20, 1, 1000);
    this.#onError = options.onError;
  }

  /** The key of a run: `{ slot }` for a scheduled run, `{ runId }` (a ULID) for a manual one. */
  runKey(job: string, ref: { slot: Instant } | { runId: string }): string {
    checkJob(job);
    return this.keys.run(job, toRef(ref));
  }

  /**
   * Claims a slot (or records a manual run) by creating its record, create-only. Exactly one of
   * any number of concurrent claims of the same slot wins; the others get `claimed: false` and
   * the winner's record. One request (plus one read when the claim is lost).
   */
  async claim(input: ClaimInput): Promise<ClaimResult> {
    checkJob(input?.job);
    const now = this.#clock.now();
    const slotMs = input.slot === undefined ? undefined : toMs(input.slot, 'slot');
    const runId = input.runId ?? createRunId(now);
    if (
      typeof runId !== 'string' ||
      (slotMs === undefined && !isUlid(runId)) ||
      runId.length > 200 ||
      !runId
    ) {
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
    const startedAtMs = input.startedAt === undefined ? now : toMs(input.startedAt, 'startedAt');
    const ref: RunRef = slotMs === undefined ? { runId, runIdMs: runIdTime(runId) } : { slotMs };
    const key = this.keys.run(input.job, ref);
    const stored: StoredRun = {
      v: 1,
      job: input.job,
      slot: slotMs === undefined ? null : iso(slotMs),
      runId,
      status,
      trigger,
      epoch: nullableInteger('epoch', input.epoch),
      workerId: nullableString('workerId', input.workerId),
      attempts: integerOption('attempts', input.attempts, 1, 1, 1_000_000),
      startedAt: iso(startedAtMs),
      finishedAt: status === 'skipped' ? iso(startedAtMs) : null,
      durationMs: null,
      result: null,
      error: null,
      updatedAt: iso(now),
      nonce: createNonce(),
    };
    let etag: string;
    try {
      ({ etag } = await this.#store.put(key, encodeRun(stored), {
        ifNoneMatch: '*',
        contentType: 'application/json',
      }));
    } catch (error) {
      if (!isPreconditionFailed(error)) throw error;
      return { claimed: false, key, existing: await this.#readQuietly(key) };
    }
    const run = { key, etag, record: toRecord(key, stored) };
    if (status === 'skipped') await this.#afterFinal(run);
    return { claimed: true, run };
  }

  /** Reads one record with its ETag; `null` when absent; `STORE_CORRUPTED` when unreadable. */
  async read(key: string): Promise<RunHandle | null> {
    const object = await this.#store.get(key);
    return object ? { key, etag: object.etag, record: decodeRun(key, object.body) } : null;
  }

  /** `read(runKey(job, ref))`. */
  readRun(job: string, ref: { slot: Instant } | { runId: string }): Promise<RunHandle | null> {
    return this.read(this.runKey(job, ref));
  }

  /**
   * Ends a `running` run: one compare-and-swap on the ETag of `current`, then the status index
   * entry. If anyone moved the record since (a recovery marked it `abandoned`, a rerun took it
   * over), this holder is fenced out: `PRECONDITION_FAILED`, and nothing is written.
   */
  async finish(current: RunHandle, outcome: FinishInput): Promise<RunHandle> {
    const status = normalizeStatus(outcome?.status);
    if (!isFinal(status))
      throw invalidOption('status', status, `Finish with one of ${FINAL_STATUSES.join(', ')}.`);
    this.#expect(current, ['running'], status);
    const record = current.record;
    const finishedAtMs =
      outcome.finishedAt === undefined ? this.#clock.now() : toMs(outcome.finishedAt, 'finishedAt');
    const durationMs =
      outcome.durationMs === undefined
        ? Math.max(0, finishedAtMs - Date.parse(record.startedAt))
        : // Whole ms: a caller's monotonic measurement has fractions (performance.now()).
          Math.round(nonNegative('durationMs', outcome.durationMs));
    const captured = captureResult(outcome.result, this.#maxResultBytes);
    const { resultTruncated: _dropped, ...rest } = record;
    const next: RunRecord = {
      ...rest,
      status,
      attempts: integerOption('attempts', outcome.attempts, record.attempts, 1, 1_000_000),
      finishedAt: iso(finishedAtMs),
      durationMs,
      result: captured.result,
      ...(captured.truncated ? { resultTruncated: captured.truncated } : {}),
      error: outcome.error === undefined ? null : captureError(outcome.error),
    };
    const written = await this.#write(current, next);
    await this.#afterFinal(written);
    return written;
  }

  /** Changes attempts, epoch or worker of a `running` run (one compare-and-swap). */
  async update(current: RunHandle, patch: UpdateInput): Promise<RunHandle> {
    this.#expect(current, ['running'], 'running');
    const record = current.record;
    return this.#write(current, {
      ...record,
      attempts: integerOption('attempts', patch.attempts, record.attempts, 1, 1_000_000),
      epoch: patch.epoch === undefined ? record.epoch : nullableInteger('epoch', patch.epoch),
      workerId: patch.workerId === undefined ? record.workerId : nullableString('workerId', patch.workerId),
    });
  }

  /**
   * Takes over an `abandoned` (or stale `running`) run to run it again (`recovery: 'rerun'`):
   * `running`, `attempts + 1`, fresh start time, by compare-and-swap, so two recoveries cannot
   * both win. The old holder's ETag stops matching, which fences it out.
   */
  async reclaim(current: RunHandle, input: ReclaimInput = {}): Promise<RunHandle> {
    this.#expect(current, ['abandoned', 'running'], 'running');
    const { resultTruncated: _dropped, ...record } = current.record;
    const written = await this.#write(current, {
      ...record,
      status: 'running',
      attempts: record.attempts + 1,
      workerId: input.workerId === undefined ? record.workerId : nullableString('workerId', input.workerId),
      epoch: input.epoch === undefined ? record.epoch : nullableInteger('epoch', input.epoch),
      startedAt: iso(this.#clock.now()),
      finishedAt: null,
      durationMs: null,
      result: null,
      error: null,
    });
    if (current.record.status === 'abandoned') {
      // The run is no longer abandoned: drop its index entry and its count.
      await this.#store
        .delete(this.keys.indexEntry(record.job, current.key, 'abandoned'))
        .catch((error) => this.#report(error));
      await this.#addStats(record.job, { ...emptyDelta(), abandoned: -1 });
    }
    return written;
  }

  /**
   * One page of a job's runs, newest first. Costs one list plus one read per returned run
   * (at most `MAX_PAGES_PER_QUERY` lists), whatever the amount of stored history. With a status,
   * the list runs over that status's index partition, so rare statuses are as cheap as common
   * ones. `running` runs have no index entry: that status is filtered from the newest runs and
   * may return fewer than `limit` together with a cursor.
   */
  async query(job: string, query: HistoryQuery = {}): Promise<HistoryPage> {
    checkJob(job);
    checkOptions(query, QUERY_KEYS, { operation: 'history.query', option: 'options' });
    const limit = integerOption('limit', query.limit, DEFAULT_LIMIT, 1, MAX_LIMIT);
    const status = query.status === undefined ? undefined : normalizeStatus(query.status);
    const prefix =
      status === undefined || status === 'running' ? this.keys.runs(job) : this.keys.index(job, status);
    let startAfter =
      query.before === undefined ? undefined : prefix + strictlyBeforeBound(toMs(query.before, 'before'));
    if (query.cursor !== undefined) {
      const fromCursor = decodeCursor(query.cursor, prefix);
      if (startAfter === undefined || compareKeys(fromCursor, startAfter) > 0) startAfter = fromCursor;
    }
    const stopAt =
      query.after === undefined ? undefined : prefix + strictlyAfterBound(toMs(query.after, 'after'));

    const runs: RunRecord[] = [];
    const errors: SchedulerError[] = [];
    let more = true;
    for (let page = 0; page < MAX_PAGES_PER_QUERY && runs.length < limit && more; page++) {
      const need = limit - runs.length;
      const listed = await this.#store.list(prefix, {
        ...(startAfter === undefined ? {} : { startAfter }),
        limit: need + 1,
      });
      const keys = listed.objects.map((object) => object.key);
      let take = keys.slice(0, need);
      more = keys.length > need || listed.nextStartAfter !== undefined;
      if (stopAt !== undefined) {
        const end = keys.findIndex((key) => compareKeys(key, stopAt) >= 0);
        if (end >= 0 && end <= need) {
          take = take.slice(0, end);
          more = false;
        }
      }
      const read = await mapLimit(take, this.#readConcurrency, (key) => this.#readListed(job, prefix, key));
      for (const outcome of read) {
        if (outcome instanceof SchedulerError) {
          errors.push(outcome);
          this.#report(outcome);
        } else if (outcome && (status === undefined || outcome.status === status)) {
          runs.push(outcome);
        }
      }
      startAfter = take.at(-1) ?? startAfter;
    }
    return {
      runs,
      errors,
      ...(more && startAfter !== undefined ? { cursor: encodeCursor(startAfter) } : {}),
    };
  }

  /**
   * The job's statistics: one read of its statistics document, plus this instance's runs not
   * flushed yet. Never scans history.
   */
  async statistics(job: string): Promise<JobStatistics> {
    checkJob(job);
    await this.#flushes.get(job);
    const key = this.keys.stats(job);
    const object = await this.#store.get(key);
    let base: StatsDelta = emptyDelta();
    let updatedAt: string | null = null;
    if (object) {
      try {
        const doc = decodeStats(key, object.body);
        base = doc;
        updatedAt = doc.updatedAt;
        this.#statsCache.set(job, { etag: object.etag, doc });
      } catch (error) {
        this.#report(error);
      }
    }
    const pending = this.#pending.get(job);
    return toStatistics(job, pending ? mergeDelta(base, pending.delta) : base, updatedAt);
  }

  /** Runs finished on this instance whose statistics are not stored yet. */
  get pendingStatistics(): number {
    let runs = 0;
    for (const entry of this.#pending.values()) runs += entry.runs;
    return runs;
  }

  /**
   * Writes pending statistics deltas (compare-and-swap with retry, so instances flushing at
   * once all land): all of them, or with `pendingForMs` only those waiting at least that long.
   * Call it at shutdown, and periodically with `pendingForMs` so a job that stopped running
   * still gets its last runs counted; costs nothing when nothing is pending. A failed delta
   * stays pending for the next call.
   */
  async flushStatistics(options: { pendingForMs?: number } = {}): Promise<void> {
    const oldest = this.#clock.monotonic() - (options.pendingForMs ?? 0);
    const jobs = [...this.#pending].filter(([, entry]) => entry.since <= oldest).map(([job]) => job);
    const failures: unknown[] = [];
    await mapLimit(jobs, 8, (job) => this.#flushJob(job).catch((error) => failures.push(error)));
    if (failures.length > 0) throw failures[0];
  }

  /**
   * Deletes whole day partitions (runs and status index) that end at or before `olderThan`,
   * in batches of `batchSize` parallel deletes. Idempotent; two instances may run it at once.
   * Costs one list per job and status, then one list per batch plus the deletes.
   */
  async cleanup(options: CleanupOptions): Promise<CleanupResult> {
    checkOptions(options, CLEANUP_KEYS, { operation: 'history.cleanup', option: 'options' });
    const cutoff = toMs(options?.olderThan, 'olderThan');
    const batchSize = integerOption('batchSize', options.batchSize, 100, 1, 1000);
    let segments: string[];
    if (options.jobs === undefined) {
      const found = new Set<string>();
      for (const root of [this.keys.runsRoot, this.keys.indexRoot]) {
        for (const group of await this.#commonPrefixes(root)) found.add(group.slice(root.length, -1));
      }
      segments = [...found].sort(compareKeys);
    } else {
      for (const job of options.jobs) checkJob(job);
      segments = options.jobs.map(jobSegment);
    }
    const result: CleanupResult = { deleted: 0, partitions: 0, jobs: segments.length };
    for (const segment of segments) {
      const roots = [`${this.keys.runsRoot}${segment}/`];
      roots.push(...(await this.#commonPrefixes(`${this.keys.indexRoot}${segment}/`)));
      for (const root of roots) {
        for (const day of await this.#commonPrefixes(root, root + olderDaysBound(cutoff))) {
          result.deleted += await this.#deleteAll(day, batchSize);
          result.partitions++;
        }
      }
    }
    return result;
  }

  async #readListed(job: string, prefix: string, key: string): Promise<RunRecord | SchedulerError | null> {
    const runKey = this.keys.runKeyFromListed(job, prefix, key);
    if (runKey === undefined) return corrupted(key, 'unexpected key in a history partition');
    try {
      const run = await this.read(runKey);
      if (run && run.record.job !== job)
        return corrupted(runKey, `record belongs to job '${run.record.job}'`);
      return run ? run.record : null;
    } catch (error) {
      if (isSchedulerError(error) && error.code === 'STORE_CORRUPTED') return error;
      throw error;
    }
  }

  async #readQuietly(key: string): Promise<RunHandle | null> {
    try {
      return await this.read(key);
    } catch (error) {
      this.#report(error);
      return null;
    }
  }

  /** One compare-and-swap of a run record; a lost condition means this holder is fenced out. */
  async #write(current: RunHandle, next: RunRecord): Promise<RunHandle> {
    const { key: _key, ...fields } = next;
    const stored: StoredRun = { ...fields, v: 1, updatedAt: iso(this.#clock.now()), nonce: createNonce() };
    try {
      const { etag } = await this.#store.put(current.key, encodeRun(stored), {
        ifMatch: current.etag,
        contentType: 'application/json',
      });
      return { key: current.key, etag, record: toRecord(current.key, stored) };
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
          metadata: { key: current.key, from: current.record.status, to, allowedFrom: from },
          suggestion:
            'Only a running run can be updated or finished; only an abandoned or running one reclaimed.',
        },
      );
    }
  }

  /** The cheap part after a run becomes final: its status index entry and its statistics. */
  async #afterFinal(run: RunHandle): Promise<void> {
    const { record } = run;
    try {
      await this.#store.put(this.keys.indexEntry(record.job, run.key, record.status), '');
    } catch (error) {
      this.#report(error);
    }
    await this.#addStats(record.job, deltaOfRun(record));
  }

  async #addStats(job: string, delta: StatsDelta): Promise<void> {
    const entry = this.#pending.get(job);
    if (entry) {
      entry.delta = mergeDelta(entry.delta, delta);
      entry.runs++;
    } else {
      this.#pending.set(job, { delta, runs: 1, since: this.#clock.monotonic() });
    }
    const current = this.#pending.get(job)!;
    const due =
      current.runs >= this.#statsBatchSize ||
      this.#clock.monotonic() - current.since >= this.#statsFlushIntervalMs;
    if (due) await this.#flushJob(job).catch((error) => this.#report(error));
  }

  /** Flushes of one job run one after the other, so no delta is applied twice. */
  #flushJob(job: string): Promise<void> {
    const previous = this.#flushes.get(job) ?? Promise.resolve();
    const run = previous.then(() => this.#flushNow(job));
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.#flushes.set(job, settled);
    void settled.then(() => {
      if (this.#flushes.get(job) === settled) this.#flushes.delete(job);
    });
    return run;
  }

  async #flushNow(job: string): Promise<void> {
    const entry = this.#pending.get(job);
    if (!entry) return;
    this.#pending.delete(job);
    const key = this.keys.stats(job);
    try {
      for (let attempt = 1; attempt <= MAX_STATS_ATTEMPTS; attempt++) {
        let base = this.#statsCache.get(job);
        if (!base) {
          const object = await this.#store.get(key);
          if (object) base = { etag: object.etag, doc: this.#decodeStatsQuietly(key, object.body) };
        }
        const merged = mergeDelta(base?.doc ?? emptyDelta(), entry.delta);
        const doc: StatsDoc = {
          v: 1,
          job,
          ...merged,
          updatedAt: iso(this.#clock.now()),
          nonce: createNonce(),
        };
        try {
          const { etag } = await this.#store.put(key, JSON.stringify(doc), {
            ...(base ? { ifMatch: base.etag } : { ifNoneMatch: '*' as const }),
            contentType: 'application/json',
          });
          this.#statsCache.set(job, { etag, doc });
          return;
        } catch (error) {
          this.#statsCache.delete(job);
          if (!isPreconditionFailed(error)) throw error;
        }
      }
      throw new SchedulerError(
        `Statistics of job '${job}' could not be updated: too many concurrent writers`,
        {
          code: 'PRECONDITION_FAILED',
          operation: 'history.statistics',
          retriable: true,
          metadata: { key, job, attempts: MAX_STATS_ATTEMPTS },
          suggestion: 'The delta is kept and written by the next flush.',
        },
      );
    } catch (error) {
      const now = this.#pending.get(job);
      this.#pending.set(
        job,
        now
          ? { delta: mergeDelta(entry.delta, now.delta), runs: entry.runs + now.runs, since: entry.since }
          : entry,
      );
      throw error;
    }
  }

  #decodeStatsQuietly(key: string, body: Uint8Array): StatsDoc | null {
    try {
      return decodeStats(key, body);
    } catch (error) {
      // A corrupted statistics document is derived data: report it, then replace it.
      this.#report(error);
      return null;
    }
  }

  async #commonPrefixes(prefix: string, startAfter?: string): Promise<string[]> {
    const groups: string[] = [];
    let after = startAfter;
    for (;;) {
      const page = await this.#store.list(prefix, {
        delimiter: '/',
        ...(after === undefined ? {} : { startAfter: after }),
      });
      groups.push(...page.commonPrefixes);
      if (page.nextStartAfter === undefined) return groups;
      after = page.nextStartAfter;
    }
  }

  async #deleteAll(prefix: string, batchSize: number): Promise<number> {
    let deleted = 0;
    let startAfter: string | undefined;
    for (;;) {
      const page = await this.#store.list(prefix, {
        limit: batchSize,
        ...(startAfter === undefined ? {} : { startAfter }),
      });
      await Promise.all(page.objects.map((object) => this.#store.delete(object.key)));
      deleted += page.objects.length;
      if (page.nextStartAfter === undefined) return deleted;
      startAfter = page.nextStartAfter;
    }
  }

  #report(error: unknown): void {
    if (!this.#onError) return;
    const reported = isSchedulerError(error)
      ? error
      : new SchedulerError(error instanceof Error ? error.message : String(error), {
          code: 'UNKNOWN',
          cause: error,
        });
    try {
      this.#onError(reported);
    } catch {
      // A throwing listener must not break history writes.
    }
  }
}

function toRef(ref: { slot: Instant } | { runId: string }): RunRef {
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

function toRecord(key: string, stored: StoredRun): RunRecord {
  const { v: _v, nonce: _nonce, ...record } = stored;
  return { key, ...record };
}

/** Where an option of this package came from, for the shared validation of `@s3-scheduler/core`. */
function at(option: string): Where {
  return { operation: 'history', option };
}

function checkJob(job: unknown): asserts job is string {
  checkString(job, at('job'), { minLength: 1, maxLength: 1024 });
}

function invalidOption(
  option: string,
  value: unknown,
  suggestion: string,
  expected = 'valid',
): SchedulerError {
  return coreInvalidOption(at(option), value, expected, suggestion);
}

function integerOption(option: string, value: unknown, fallback: number, min: number, max: number): number {
  return value === undefined ? fallback : checkInteger(value, at(option), { min, max });
}

function nonNegative(option: string, value: unknown): number {
  return checkNumber(value, at(option), { unit: 'ms' });
}

function nullableInteger(option: string, value: unknown): number | null {
  if (value === undefined || value === null) return null;
  return integerOption(option, value, 0, 0, Number.MAX_SAFE_INTEGER);
}

function nullableString(option: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw invalidOption(option, value, 'Use a string.', 'a string');
  return value.slice(0, 500);
}
