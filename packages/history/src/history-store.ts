import { type Clock, checkOptions, type SchedulerError, systemClock } from '@s3-scheduler/core';
import type { ObjectStore } from '@s3-scheduler/storage';
import { type HistoryContext, reporter } from './history-context.js';
import { checkJob, integerOption, invalidOption } from './history-options.js';
import { HistoryKeys } from './keys.js';
import { LayoutRecord, layoutAt } from './layout-record.js';
import { type CleanupOptions, type CleanupResult, cleanup } from './retention.js';
import { type HistoryPage, type HistoryQuery, RunQueries } from './run-queries.js';
import {
  type ClaimInput,
  type ClaimResult,
  type FinishInput,
  type ReclaimInput,
  type RunHandle,
  RunTransitions,
  refMs,
  toRunRef,
  type UpdateInput,
} from './run-transitions.js';
import type { JobStatistics } from './statistics.js';
import { StatisticsBatcher } from './statistics-batcher.js';
import type { Instant } from './time.js';

export type { CleanupOptions, CleanupResult } from './retention.js';
export type { HistoryPage, HistoryQuery } from './run-queries.js';
export type {
  ClaimInput,
  ClaimResult,
  FinishInput,
  ReclaimInput,
  RunHandle,
  UpdateInput,
} from './run-transitions.js';

export interface HistoryStoreOptions {
  /** Where history lives. Wrap a remote store in `ResolvingStore` so lost responses are settled. */
  store: ObjectStore;
  /** Source of every timestamp. Default: the system clock. */
  clock?: Clock;
  /** Key prefix of everything this store writes. Default `history/`. */
  prefix?: string;
  /** Largest result stored as given, in bytes of JSON; larger ones become a preview. Default 8,192. */
  maxResultBytes?: number;
  /**
   * Also write a statistics document once this many runs of its jobs are pending. Default: never
   * by count, only by time. `1` writes at every finish (exact shared counters, one more write).
   */
  statsBatchSize?: number;
  /**
   * Write a statistics document once its oldest pending run finished this long ago (checked at
   * each finish, and by `flushStatistics({ pendingForMs })`). Default 300,000 (5 minutes).
   */
  statsFlushIntervalMs?: number;
  /** Records fetched in parallel by a query. Default 20. */
  readConcurrency?: number;
  /**
   * This store only reads the bucket (a dashboard, a CLI): it never creates the bucket's layout
   * record, and while no record exists reads every run in the legacy (unsharded) layout, as the
   * versions before the sharded layout wrote it (and reads the record again, 1 get, at each call
   * until a writer has created it). Default `false`: the first call creates the
   * record (see "Key layout" in the README).
   */
  readOnly?: boolean;
  /**
   * Told about problems that do not fail the call: a corrupted record skipped by a query, a
   * status index entry or statistics flush that failed after the run record itself was written.
   */
  onError?: (error: SchedulerError) => void;
}

const STORE_OPTION_KEYS = [
  'store',
  'clock',
  'prefix',
  'maxResultBytes',
  'statsBatchSize',
  'statsFlushIntervalMs',
  'readConcurrency',
  'readOnly',
  'onError',
] as const;

/**
 * The run history of every job on one `ObjectStore`. A completed scheduled run costs two
 * writes: the claim (create-only; it *is* the start) and the finish (compare-and-swap). A run
 * that ends failed, timed out, cancelled or abandoned adds a zero-byte status index entry and a
 * zero-byte marker next to its record; a skipped slot, its index entry. Statistics are kept in
 * memory and folded into a few shared documents on a timer, never per run. Queries list one
 * partition newest first and read only the records they return.
 *
 * A facade over one module per concern: `run-transitions.ts` (claim, finish, update, reclaim),
 * `run-queries.ts` (pages by status and time), `statistics-batcher.ts` (batched statistics)
 * and `retention.ts` (cleanup of day partitions); `keys.ts` owns the key layout and
 * `layout-record.ts` the record that says from when runs are in the sharded keys.
 */
export class HistoryStore {
  readonly keys: HistoryKeys;
  readonly #runs: RunTransitions;
  readonly #queries: RunQueries;
  readonly #statistics: StatisticsBatcher;
  readonly #context: HistoryContext;

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
    const prefix = options.prefix ?? 'history/';
    if (typeof prefix !== 'string' || prefix.startsWith('/') || prefix.includes('//')) {
      throw invalidOption('prefix', prefix, "Use a relative key prefix such as 'history/'.");
    }
    this.keys = new HistoryKeys(prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`);
    const maxResultBytes = integerOption('maxResultBytes', options.maxResultBytes, 8192, 0, 262_144);
    const statsBatchSize = integerOption(
      'statsBatchSize',
      options.statsBatchSize,
      Number.POSITIVE_INFINITY,
      1,
      1_000_000,
    );
    const statsFlushIntervalMs = integerOption(
      'statsFlushIntervalMs',
      options.statsFlushIntervalMs,
      300_000,
      0,
      Number.MAX_SAFE_INTEGER,
    );
    const readConcurrency = integerOption('readConcurrency', options.readConcurrency, 20, 1, 1000);
    if (options.readOnly !== undefined && typeof options.readOnly !== 'boolean') {
      throw invalidOption('readOnly', options.readOnly, 'Pass true for a store that only reads, or omit it.');
    }
    const clock = options.clock ?? systemClock;
    this.#context = {
      store: options.store,
      clock,
      keys: this.keys,
      layout: new LayoutRecord(options.store, clock, this.keys, options.readOnly !== true),
      report: reporter(options.onError),
    };
    this.#statistics = new StatisticsBatcher(this.#context, statsBatchSize, statsFlushIntervalMs);
    this.#runs = new RunTransitions(this.#context, this.#statistics, maxResultBytes);
    this.#queries = new RunQueries(this.#context, readConcurrency);
  }

  /**
   * The key of a run: `{ slot }` for a scheduled run, `{ runId }` (a ULID) for a manual one. In
   * the layout the bucket's layout record gives that run once the record was read (by any
   * earlier call); before that, the sharded layout. `readRun` always uses the right one.
   */
  runKey(job: string, ref: { slot: Instant } | { runId: string }): string {
    checkJob(job);
    const runRef = toRunRef(ref);
    const shardedFrom = this.#context.layout.known;
    return this.keys.run(
      job,
      runRef,
      shardedFrom === undefined ? 'sharded' : layoutAt(refMs(runRef), shardedFrom),
    );
  }

  /**
   * Reads (a writer: creates when missing) the bucket's layout record, which says in which key
   * layout each run is. Every call that needs it does this first; call it to pay that one read
   * (one create-only write, the first time in a bucket) at start rather than at the first run.
   */
  async open(): Promise<void> {
    await this.#context.layout.resolve();
  }

  /**
   * Claims a slot (or records a manual run) by creating its record, create-only. Exactly one of
   * any number of concurrent claims of the same slot wins; the others get `claimed: false` and
   * the winner's record. One request (plus one read when the claim is lost).
   */
  claim(input: ClaimInput): Promise<ClaimResult> {
    return this.#runs.claim(input);
  }

  /**
   * `claim` for many runs at once (a burst of slots due together): results in input order, each
   * settled on its own (an invalid input or a failed write rejects only its own result; see
   * `claim` for the rest). The create-only writes go out as one batch (`createAll`): a single
   * call on `MemoryStore`, at most 32 requests in flight on S3. Never rejects as a whole.
   */
  /**
   * Whether `claimMany` sends its writes as one call (the store has `createMany`, as
   * `MemoryStore` has): otherwise they are one create-only put each, and a batch answers only
   * when its slowest write does, so callers that start runs as claims land claim one by one.
   */
  get batchesClaims(): boolean {
    return this.#context.store.createMany !== undefined;
  }

  claimMany(inputs: readonly ClaimInput[]): Promise<Array<PromiseSettledResult<ClaimResult>>> {
    return this.#runs.claimMany(inputs);
  }

  /** Reads one record with its ETag; `null` when absent; `STORE_CORRUPTED` when unreadable. */
  read(key: string): Promise<RunHandle | null> {
    return this.#runs.read(key);
  }

  /** `read(runKey(job, ref))`, once the bucket's layout record is known. */
  async readRun(job: string, ref: { slot: Instant } | { runId: string }): Promise<RunHandle | null> {
    checkJob(job);
    const runRef = toRunRef(ref);
    const shardedFrom = await this.#context.layout.resolve();
    return this.read(this.keys.run(job, runRef, layoutAt(refMs(runRef), shardedFrom)));
  }

  /**
   * Ends a `running` run: one compare-and-swap on the ETag of `current`, then the status index
   * entry. If anyone moved the record since (a recovery marked it `abandoned`, a rerun took it
   * over), this holder is fenced out: `PRECONDITION_FAILED`, and nothing is written.
   */
  finish(current: RunHandle, outcome: FinishInput): Promise<RunHandle> {
    return this.#runs.finish(current, outcome);
  }

  /** Changes attempts, epoch or worker of a `running` run (one compare-and-swap). */
  update(current: RunHandle, patch: UpdateInput): Promise<RunHandle> {
    return this.#runs.update(current, patch);
  }

  /**
   * Takes over an `abandoned` (or stale `running`) run to run it again (`recovery: 'rerun'`):
   * `running`, `attempts + 1`, fresh start time, by compare-and-swap, so two recoveries cannot
   * both win. The old holder's ETag stops matching, which fences it out.
   */
  reclaim(current: RunHandle, input: ReclaimInput = {}): Promise<RunHandle> {
    return this.#runs.reclaim(current, input);
  }

  /**
   * One page of a job's runs, newest first. Costs one list plus one read per returned run
   * (at most 3 lists; in a bucket upgraded from the unsharded keys, a page that reaches runs
   * before the switch lists that layout too, up to 3 more), whatever the amount of stored history. With a status, the list runs
   * over that status's index partition, so rare statuses are as cheap as common ones.
   * `running` runs have no index entry: that status is filtered from the newest runs and may
   * return fewer than `limit` together with a cursor.
   */
  query(job: string, query: HistoryQuery = {}): Promise<HistoryPage> {
    return this.#queries.query(job, query);
  }

  /**
   * The job's statistics: one read of its statistics document, plus this instance's runs not
   * flushed yet. Never scans history.
   */
  async statistics(job: string): Promise<JobStatistics> {
    checkJob(job);
    return this.#statistics.read(job);
  }

  /** Runs finished on this instance whose statistics are not stored yet. */
  get pendingStatistics(): number {
    return this.#statistics.pendingRuns;
  }

  /**
   * Writes pending statistics deltas (compare-and-swap with retry, so instances flushing at
   * once all land): all of them, or with `pendingForMs` only those waiting at least that long.
   * Call it at shutdown, and periodically with `pendingForMs` so a job that stopped running
   * still gets its last runs counted; costs nothing when nothing is pending. A failed delta
   * stays pending for the next call.
   */
  flushStatistics(options: { pendingForMs?: number } = {}): Promise<void> {
    return this.#statistics.flush(options);
  }

  /**
   * Deletes whole day partitions (runs and status index) that end at or before `olderThan`,
   * in batches of `batchSize` parallel deletes. Idempotent; two instances may run it at once.
   * Costs one list per job and status, then one list per batch plus the deletes.
   */
  cleanup(options: CleanupOptions): Promise<CleanupResult> {
    return cleanup(this.#context, options);
  }
}
