import { checkOptions, isSchedulerError, SchedulerError } from '@s3-scheduler/core';
import { compareKeys } from '@s3-scheduler/storage';
import { mapLimit } from './concurrency.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { HistoryContext } from './history-context.js';
import { checkJob, integerOption } from './history-options.js';
import { strictlyAfterBound, strictlyBeforeBound } from './keys.js';
import { corrupted, decodeRun, normalizeStatus, type RunRecord, type RunStatus } from './run-record.js';
import { type Instant, toMs } from './time.js';

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

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 1000;
/** List pages a query reads at most: stale index entries can need a second page, never many. */
const MAX_PAGES_PER_QUERY = 3;
const QUERY_KEYS = ['status', 'limit', 'before', 'after', 'cursor'] as const;

/**
 * Pages of a job's runs, newest first: one list of a partition (the job's runs, or one status
 * index) from a `startAfter` bound, then one read per returned run.
 */
export class RunQueries {
  readonly #context: HistoryContext;
  readonly #readConcurrency: number;

  constructor(context: HistoryContext, readConcurrency: number) {
    this.#context = context;
    this.#readConcurrency = readConcurrency;
  }

  async query(job: string, query: HistoryQuery = {}): Promise<HistoryPage> {
    checkJob(job);
    checkOptions(query, QUERY_KEYS, { operation: 'history.query', option: 'options' });
    const { keys, store, report } = this.#context;
    const limit = integerOption('limit', query.limit, DEFAULT_LIMIT, 1, MAX_LIMIT);
    const status = query.status === undefined ? undefined : normalizeStatus(query.status);
    const prefix = status === undefined || status === 'running' ? keys.runs(job) : keys.index(job, status);
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
      const listed = await store.list(prefix, {
        ...(startAfter === undefined ? {} : { startAfter }),
        limit: need + 1,
      });
      const listedKeys = listed.objects.map((object) => object.key);
      let take = listedKeys.slice(0, need);
      more = listedKeys.length > need || listed.nextStartAfter !== undefined;
      if (stopAt !== undefined) {
        const end = listedKeys.findIndex((key) => compareKeys(key, stopAt) >= 0);
        if (end >= 0 && end <= need) {
          take = take.slice(0, end);
          more = false;
        }
      }
      const read = await mapLimit(take, this.#readConcurrency, (key) => this.#readListed(job, prefix, key));
      for (const outcome of read) {
        if (outcome instanceof SchedulerError) {
          errors.push(outcome);
          report(outcome);
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

  async #readListed(job: string, prefix: string, key: string): Promise<RunRecord | SchedulerError | null> {
    const runKey = this.#context.keys.runKeyFromListed(job, prefix, key);
    if (runKey === undefined) return corrupted(key, 'unexpected key in a history partition');
    try {
      const object = await this.#context.store.get(runKey);
      const record = object ? decodeRun(runKey, object.body) : null;
      if (record && record.job !== job) return corrupted(runKey, `record belongs to job '${record.job}'`);
      return record;
    } catch (error) {
      if (isSchedulerError(error) && error.code === 'STORE_CORRUPTED') return error;
      throw error;
    }
  }
}
