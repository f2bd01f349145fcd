import { createNonce, SchedulerError } from '@s3-scheduler/core';
import { isPreconditionFailed } from '@s3-scheduler/storage';
import { mapLimit } from './concurrency.js';
import type { HistoryContext } from './history-context.js';
import { statsShardOf } from './keys.js';
import type { RunRecord } from './run-record.js';
import {
  addDelta,
  addRun,
  decodeStats,
  decodeStatsShard,
  deltaOf,
  emptyDelta,
  type JobStatistics,
  mergeDelta,
  type StatsDelta,
  type StatsShardDoc,
  type StoredJobStats,
  toStatistics,
} from './statistics.js';
import { iso } from './time.js';

const MAX_STATS_ATTEMPTS = 10;

/** This instance's finished runs not stored yet, for the jobs of one shard. */
interface PendingShard {
  jobs: Map<string, StatsDelta>;
  runs: number;
  since: number;
}

/** A change to fold into a shard document: deltas by job, or an older version's document. */
interface ShardChange {
  deltas: Map<string, StatsDelta>;
  legacy?: { job: string; etag: string };
}

/**
 * Statistics, written on a timer instead of per run: each finished run adds its delta to a
 * pending delta in memory; the deltas of all jobs of one shard (jobs are spread over
 * `STATS_SHARDS` documents by a hash of their name) are folded into that shard's document by one
 * compare-and-swap with retry, once the oldest of them is `flushIntervalMs` old (checked at each
 * finish), on `flush()` (the plugin calls it every heartbeat), or every `batchSize` runs when
 * set. A run itself never waits for, nor pays, a statistics write.
 */
export class StatisticsBatcher {
  readonly #context: HistoryContext;
  readonly #batchSize: number;
  readonly #flushIntervalMs: number;
  readonly #pending = new Map<string, PendingShard>();
  readonly #cache = new Map<string, { etag: string; jobs: Map<string, StoredJobStats> }>();
  readonly #flushes = new Map<string, Promise<void>>();
  #migrated = false;

  constructor(context: HistoryContext, batchSize: number, flushIntervalMs: number) {
    this.#context = context;
    this.#batchSize = batchSize;
    this.#flushIntervalMs = flushIntervalMs;
  }

  /** One read of the job's shard document, plus this instance's runs not flushed yet. */
  async read(job: string): Promise<JobStatistics> {
    const { store, keys, report } = this.#context;
    const shard = statsShardOf(job);
    await this.#flushes.get(shard);
    const key = keys.statsShard(shard);
    const object = await store.get(key);
    let base: StatsDelta = emptyDelta();
    let updatedAt: string | null = null;
    if (object) {
      try {
        const jobs = decodeStatsShard(key, object.body);
        this.#cache.set(shard, { etag: object.etag, jobs });
        const entry = jobs.get(job);
        if (entry) {
          base = deltaOf(entry);
          updatedAt = entry.updatedAt;
        }
      } catch (error) {
        report(error);
      }
    }
    const pending = this.#pending.get(shard)?.jobs.get(job);
    return toStatistics(job, pending ? mergeDelta(base, pending) : base, updatedAt);
  }

  /** Runs finished on this instance whose statistics are not stored yet. */
  get pendingRuns(): number {
    let runs = 0;
    for (const entry of this.#pending.values()) runs += entry.runs;
    return runs;
  }

  /** Adds a delta in memory; writes its shard when the shard's oldest delta is old enough. */
  async add(job: string, delta: StatsDelta): Promise<void> {
    const shard = statsShardOf(job);
    addDelta(this.#pendingOf(shard, job), delta);
    await this.#counted(shard);
  }

  /**
   * `add(job, deltaOfRun(run))` without the delta. No promise unless the shard is written now:
   * a finished run, a thousand a second in a burst.
   */
  addRun(job: string, run: RunRecord): Promise<void> | undefined {
    const shard = statsShardOf(job);
    addRun(this.#pendingOf(shard, job), run);
    return this.#counted(shard);
  }

  /** The job's pending delta in `shard` (its shard), this batcher's own (summed in place). */
  #pendingOf(shard: string, job: string): StatsDelta {
    let pending = this.#pending.get(shard);
    if (!pending) {
      pending = { jobs: new Map(), runs: 0, since: this.#context.clock.monotonic() };
      this.#pending.set(shard, pending);
    }
    let delta = pending.jobs.get(job);
    if (!delta) {
      delta = emptyDelta();
      pending.jobs.set(job, delta);
    }
    return delta;
  }

  /** Counts one more pending run of `shard`; writes the shard (resolves when done) when due. */
  #counted(shard: string): Promise<void> | undefined {
    const pending = this.#pending.get(shard)!;
    pending.runs++;
    const due =
      pending.runs >= this.#batchSize ||
      this.#context.clock.monotonic() - pending.since >= this.#flushIntervalMs;
    return due ? this.#flushShard(shard).catch(this.#context.report) : undefined;
  }

  /**
   * Writes the pending deltas waiting at least `pendingForMs` (all by default): one write per
   * shard with pending runs. The first call also folds the per-job documents of older versions
   * into the shard documents (one list; then per document a read, a write and a delete).
   */
  async flush(options: { pendingForMs?: number } = {}): Promise<void> {
    if (!this.#migrated) {
      await this.#migrateLegacy();
      this.#migrated = true;
    }
    const oldest = this.#context.clock.monotonic() - (options.pendingForMs ?? 0);
    const shards = [...this.#pending].filter(([, entry]) => entry.since <= oldest).map(([shard]) => shard);
    const failures: unknown[] = [];
    await mapLimit(shards, 8, (shard) => this.#flushShard(shard).catch((error) => failures.push(error)));
    if (failures.length > 0) throw failures[0];
  }

  /** Writes of one shard run one after the other, so no delta is applied twice. */
  #serial(shard: string, write: () => Promise<void>): Promise<void> {
    const previous = this.#flushes.get(shard) ?? Promise.resolve();
    const run = previous.then(write);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.#flushes.set(shard, settled);
    void settled.then(() => {
      if (this.#flushes.get(shard) === settled) this.#flushes.delete(shard);
    });
    return run;
  }

  #flushShard(shard: string): Promise<void> {
    return this.#serial(shard, async () => {
      const entry = this.#pending.get(shard);
      if (!entry) return;
      this.#pending.delete(shard);
      try {
        await this.#write(shard, { deltas: entry.jobs });
      } catch (error) {
        // Keep the delta for the next flush, merged with what arrived meanwhile.
        const now = this.#pending.get(shard);
        if (now) {
          for (const [job, delta] of entry.jobs) {
            const later = now.jobs.get(job);
            now.jobs.set(job, later ? mergeDelta(delta, later) : delta);
          }
          now.runs += entry.runs;
          now.since = entry.since;
        } else {
          this.#pending.set(shard, entry);
        }
        throw error;
      }
    });
  }

  /** Folds `change` into the shard document: compare-and-swap, re-read and retry on conflict. */
  async #write(shard: string, change: ShardChange): Promise<void> {
    const { store, clock, keys } = this.#context;
    const key = keys.statsShard(shard);
    for (let attempt = 1; attempt <= MAX_STATS_ATTEMPTS; attempt++) {
      let base = this.#cache.get(shard);
      if (!base) {
        const object = await store.get(key);
        if (object) base = { etag: object.etag, jobs: this.#decodeQuietly(key, object.body) };
      }
      const jobs = new Map(base?.jobs);
      const now = iso(clock.now());
      if (change.legacy && jobs.get(change.legacy.job)?.legacy === change.legacy.etag) return;
      for (const [job, delta] of change.deltas) {
        const current = jobs.get(job);
        jobs.set(job, {
          ...mergeDelta(current ?? emptyDelta(), delta),
          updatedAt: now,
          ...(change.legacy?.job === job
            ? { legacy: change.legacy.etag }
            : current?.legacy
              ? { legacy: current.legacy }
              : {}),
        });
      }
      const doc: StatsShardDoc = {
        v: 2,
        shard,
        jobs: Object.fromEntries(jobs),
        updatedAt: now,
        nonce: createNonce(),
      };
      try {
        const { etag } = await store.put(key, JSON.stringify(doc), {
          ...(base ? { ifMatch: base.etag } : { ifNoneMatch: '*' as const }),
          contentType: 'application/json',
        });
        this.#cache.set(shard, { etag, jobs });
        return;
      } catch (error) {
        this.#cache.delete(shard);
        if (!isPreconditionFailed(error)) throw error;
      }
    }
    throw new SchedulerError(
      `Statistics document '${key}' could not be updated: too many concurrent writers`,
      {
        code: 'PRECONDITION_FAILED',
        operation: 'history.statistics',
        retriable: true,
        metadata: { key, shard, attempts: MAX_STATS_ATTEMPTS },
        suggestion: 'The delta is kept and written by the next flush.',
      },
    );
  }

  /**
   * Older versions kept one document per job (`stats/<job>.json`). Each is folded into its
   * shard once (the shard entry remembers the folded ETag, so two instances migrating at once
   * count it once), then deleted.
   */
  async #migrateLegacy(): Promise<void> {
    const { store, keys, report } = this.#context;
    const root = keys.legacyStatsRoot;
    let startAfter: string | undefined;
    for (;;) {
      const page = await store.list(root, {
        delimiter: '/',
        ...(startAfter === undefined ? {} : { startAfter }),
      });
      for (const { key } of page.objects) {
        if (!key.endsWith('.json')) continue;
        const object = await store.get(key);
        if (!object) continue;
        try {
          const doc = decodeStats(key, object.body);
          const shard = statsShardOf(doc.job);
          await this.#serial(shard, () =>
            this.#write(shard, {
              deltas: new Map([[doc.job, deltaOf(doc)]]),
              legacy: { job: doc.job, etag: object.etag },
            }),
          );
        } catch (error) {
          // A corrupted old document is derived data: report it and drop it.
          report(error);
          if (!(error instanceof SchedulerError && error.code === 'STORE_CORRUPTED')) throw error;
        }
        await store.delete(key, { ifMatch: object.etag }).catch(report);
      }
      if (page.nextStartAfter === undefined) return;
      startAfter = page.nextStartAfter;
    }
  }

  #decodeQuietly(key: string, body: Uint8Array): Map<string, StoredJobStats> {
    try {
      return decodeStatsShard(key, body);
    } catch (error) {
      // A corrupted statistics document is derived data: report it, then replace it.
      this.#context.report(error);
      return new Map();
    }
  }
}
