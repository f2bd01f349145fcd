import { createNonce, SchedulerError } from '@s3-scheduler/core';
import { isPreconditionFailed } from '@s3-scheduler/storage';
import { mapLimit } from './concurrency.js';
import type { HistoryContext } from './history-context.js';
import {
  decodeStats,
  emptyDelta,
  type JobStatistics,
  mergeDelta,
  type StatsDelta,
  type StatsDoc,
  toStatistics,
} from './statistics.js';
import { iso } from './time.js';

const MAX_STATS_ATTEMPTS = 10;

interface PendingStats {
  delta: StatsDelta;
  runs: number;
  since: number;
}

/**
 * Per-job statistics: each finished run adds its delta to a pending delta in memory, folded
 * into the job's statistics document by compare-and-swap with retry every `batchSize` runs,
 * once the oldest pending run is `flushIntervalMs` old, or on `flush()`.
 */
export class StatisticsBatcher {
  readonly #context: HistoryContext;
  readonly #batchSize: number;
  readonly #flushIntervalMs: number;
  readonly #pending = new Map<string, PendingStats>();
  readonly #cache = new Map<string, { etag: string; doc: StatsDoc | null }>();
  readonly #flushes = new Map<string, Promise<void>>();

  constructor(context: HistoryContext, batchSize: number, flushIntervalMs: number) {
    this.#context = context;
    this.#batchSize = batchSize;
    this.#flushIntervalMs = flushIntervalMs;
  }

  /** One read of the job's document, plus this instance's runs not flushed yet. */
  async read(job: string): Promise<JobStatistics> {
    const { store, keys, report } = this.#context;
    await this.#flushes.get(job);
    const key = keys.stats(job);
    const object = await store.get(key);
    let base: StatsDelta = emptyDelta();
    let updatedAt: string | null = null;
    if (object) {
      try {
        const doc = decodeStats(key, object.body);
        base = doc;
        updatedAt = doc.updatedAt;
        this.#cache.set(job, { etag: object.etag, doc });
      } catch (error) {
        report(error);
      }
    }
    const pending = this.#pending.get(job);
    return toStatistics(job, pending ? mergeDelta(base, pending.delta) : base, updatedAt);
  }

  /** Runs finished on this instance whose statistics are not stored yet. */
  get pendingRuns(): number {
    let runs = 0;
    for (const entry of this.#pending.values()) runs += entry.runs;
    return runs;
  }

  /** Adds a run's delta; flushes the job when its batch is full or its oldest delta old enough. */
  async add(job: string, delta: StatsDelta): Promise<void> {
    const { clock, report } = this.#context;
    const entry = this.#pending.get(job);
    if (entry) {
      entry.delta = mergeDelta(entry.delta, delta);
      entry.runs++;
    } else {
      this.#pending.set(job, { delta, runs: 1, since: clock.monotonic() });
    }
    const current = this.#pending.get(job)!;
    const due = current.runs >= this.#batchSize || clock.monotonic() - current.since >= this.#flushIntervalMs;
    if (due) await this.#flushJob(job).catch(report);
  }

  /** Writes the pending deltas waiting at least `pendingForMs` (all by default). */
  async flush(options: { pendingForMs?: number } = {}): Promise<void> {
    const oldest = this.#context.clock.monotonic() - (options.pendingForMs ?? 0);
    const jobs = [...this.#pending].filter(([, entry]) => entry.since <= oldest).map(([job]) => job);
    const failures: unknown[] = [];
    await mapLimit(jobs, 8, (job) => this.#flushJob(job).catch((error) => failures.push(error)));
    if (failures.length > 0) throw failures[0];
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
    const { store, clock, keys } = this.#context;
    const entry = this.#pending.get(job);
    if (!entry) return;
    this.#pending.delete(job);
    const key = keys.stats(job);
    try {
      for (let attempt = 1; attempt <= MAX_STATS_ATTEMPTS; attempt++) {
        let base = this.#cache.get(job);
        if (!base) {
          const object = await store.get(key);
          if (object) base = { etag: object.etag, doc: this.#decodeQuietly(key, object.body) };
        }
        const merged = mergeDelta(base?.doc ?? emptyDelta(), entry.delta);
        const doc: StatsDoc = { v: 1, job, ...merged, updatedAt: iso(clock.now()), nonce: createNonce() };
        try {
          const { etag } = await store.put(key, JSON.stringify(doc), {
            ...(base ? { ifMatch: base.etag } : { ifNoneMatch: '*' as const }),
            contentType: 'application/json',
          });
          this.#cache.set(job, { etag, doc });
          return;
        } catch (error) {
          this.#cache.delete(job);
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

  #decodeQuietly(key: string, body: Uint8Array): StatsDoc | null {
    try {
      return decodeStats(key, body);
    } catch (error) {
      // A corrupted statistics document is derived data: report it, then replace it.
      this.#context.report(error);
      return null;
    }
  }
}
