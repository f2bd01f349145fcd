import { checkOptions, isSchedulerError, SchedulerError } from '@s3-scheduler/core';
import { compareKeys } from '@s3-scheduler/storage';
import { mapLimit } from './concurrency.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { HistoryContext } from './history-context.js';
import { checkJob, integerOption } from './history-options.js';
import {
  type HistoryKeys,
  INDEXED_STATUSES,
  type KeyLayout,
  strictlyAfterBound,
  strictlyBeforeBound,
} from './keys.js';
import { ALL_LEGACY, ALL_SHARDED } from './layout-record.js';
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
/** List pages a query reads at most per partition (layout): stale index entries can need a second page, never many. */
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
    const { keys, report } = this.#context;
    const limit = integerOption('limit', query.limit, DEFAULT_LIMIT, 1, MAX_LIMIT);
    const status = query.status === undefined ? undefined : normalizeStatus(query.status);
    const beforeMs = query.before === undefined ? undefined : toMs(query.before, 'before');
    const afterMs = query.after === undefined ? undefined : toMs(query.after, 'after');
    // Rare final statuses have an index partition; the others are read from the job's runs,
    // where the markers of the rare ones show which runs to skip without reading them.
    const indexed = status !== undefined && (INDEXED_STATUSES as readonly string[]).includes(status);
    const shardedFrom = await this.#context.layout.resolve();
    const parts = partsOf(keys, job, indexed ? status : undefined, shardedFrom, beforeMs, afterMs);
    let at = 0;
    let startAfter = parts[0]?.startAfter;
    if (query.cursor !== undefined) {
      const fromCursor = decodeCursor(
        query.cursor,
        parts.map((part) => part.prefix),
      );
      at = parts.findIndex((part) => fromCursor.startsWith(part.prefix));
      const bound = parts[at]!.startAfter;
      startAfter = bound === undefined || compareKeys(fromCursor, bound) > 0 ? fromCursor : bound;
    }

    const runs: RunRecord[] = [];
    const errors: SchedulerError[] = [];
    let more = parts.length > 0;
    for (let page = 0; page < MAX_PAGES_PER_QUERY && runs.length < limit && more; page++) {
      const part = parts[at]!;
      const need = limit - runs.length;
      const picked = await this.#pick(job, part.prefix, {
        need,
        indexed,
        status,
        ...(startAfter === undefined ? {} : { startAfter }),
        ...(part.stopAt === undefined ? {} : { stopAt: part.stopAt }),
      });
      const read = await mapLimit(picked.entries, this.#readConcurrency, (entry) =>
        entry.invalid
          ? Promise.resolve(corrupted(entry.key, 'unexpected key in a history partition'))
          : this.#read(job, entry.runKey),
      );
      for (const outcome of read) {
        if (outcome instanceof SchedulerError) {
          errors.push(outcome);
          report(outcome);
        } else if (outcome && (status === undefined || outcome.status === status)) {
          runs.push(outcome);
        }
      }
      startAfter = picked.last ?? startAfter;
      more = picked.more;
      if (!more && at + 1 < parts.length) {
        // This partition is done: older runs are in the legacy layout's partition.
        // A partition of its own gets the list budget of one (a mixed bucket's query may list twice as many times).
        at++;
        startAfter = parts[at]!.startAfter;
        more = true;
        page = -1;
      }
    }
    return {
      runs,
      errors,
      ...(more && startAfter !== undefined ? { cursor: encodeCursor(startAfter) } : {}),
    };
  }

  /**
   * One list request: the next `need` runs to read, the last key they cover (the next
   * `startAfter`) and whether more may follow. In the runs partition a marker follows its run
   * key, so a page lists twice as many keys as it needs runs (four times when it skips marked
   * runs), and a run whose marker may have been cut off by the page end waits for the next page.
   */
  async #pick(
    job: string,
    prefix: string,
    at: {
      need: number;
      indexed: boolean;
      status: RunStatus | undefined;
      startAfter?: string;
      stopAt?: string;
    },
  ): Promise<{ entries: Listed[]; last: string | undefined; more: boolean }> {
    const { keys, store } = this.#context;
    const skipMarked = !at.indexed && at.status !== undefined;
    const size = Math.min(1000, at.indexed ? at.need + 1 : at.need * (skipMarked ? 4 : 2) + 2);
    const listed = await store.list(prefix, {
      ...(at.startAfter === undefined ? {} : { startAfter: at.startAfter }),
      limit: size,
    });
    let listedKeys = listed.objects.map((object) => object.key);
    let truncated = listed.nextStartAfter !== undefined;
    if (at.stopAt !== undefined) {
      const end = listedKeys.findIndex((key) => compareKeys(key, at.stopAt!) >= 0);
      if (end >= 0) {
        listedKeys = listedKeys.slice(0, end);
        truncated = false;
      }
    }
    // Group the keys into runs: a run key, then possibly its marker.
    const groups: Array<Listed & { lastKey: string }> = [];
    for (const key of listedKeys) {
      const parsed = at.indexed ? this.#indexEntry(job, prefix, key) : keys.parseListed(job, prefix, key);
      const previous = groups.at(-1);
      if (parsed?.marked !== undefined) {
        if (previous && !previous.invalid && previous.runKey === parsed.runKey) {
          previous.marked = parsed.marked;
          previous.lastKey = key;
        }
        // A marker whose run key was on the previous page: its run was dealt with there.
        continue;
      }
      groups.push(
        parsed
          ? { runKey: parsed.runKey, key, lastKey: key }
          : { runKey: key, key, lastKey: key, invalid: true },
      );
    }
    // With more keys after the page, the last run's marker may be among them: leave it for later.
    if (truncated && !at.indexed && groups.length > 0 && groups.at(-1)!.marked === undefined) groups.pop();
    const entries: Listed[] = [];
    let last: string | undefined;
    let index = 0;
    for (; index < groups.length && entries.length < at.need; index++) {
      const group = groups[index]!;
      last = group.lastKey;
      if (skipMarked && group.marked !== undefined) continue;
      entries.push(group);
    }
    const more = index < groups.length || truncated;
    return { entries, last, more };
  }

  #indexEntry(job: string, prefix: string, key: string): { runKey: string; marked?: string } | undefined {
    const runKey = this.#context.keys.runKeyFromListed(job, prefix, key);
    return runKey === undefined ? undefined : { runKey };
  }

  async #read(job: string, runKey: string): Promise<RunRecord | SchedulerError | null> {
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

/** A run found by a list: its key, or an unexpected key that is reported as corrupted. */
interface Listed {
  runKey: string;
  key: string;
  marked?: string;
  invalid?: true;
}

/** One partition a query lists: its prefix, where listing starts and where it stops. */
interface Part {
  prefix: string;
  startAfter?: string;
  stopAt?: string;
}

/**
 * The partitions that can hold the runs a query asks for, newest first: the sharded one (runs at
 * or after `shardedFrom`), then the legacy one (runs before it). A bucket with no legacy runs
 * has only the first; a partition whose time range misses `before`/`after` is left out.
 */
function partsOf(
  keys: HistoryKeys,
  job: string,
  indexedStatus: string | undefined,
  shardedFrom: number,
  beforeMs: number | undefined,
  afterMs: number | undefined,
): Part[] {
  const parts: Part[] = [];
  const layouts: KeyLayout[] = [];
  if (shardedFrom !== ALL_LEGACY && (beforeMs === undefined || beforeMs > shardedFrom))
    layouts.push('sharded');
  if (shardedFrom !== ALL_SHARDED && (afterMs === undefined || afterMs < shardedFrom - 1))
    layouts.push('legacy');
  for (const layout of layouts) {
    const prefix =
      indexedStatus === undefined ? keys.runs(job, layout) : keys.index(job, indexedStatus, layout);
    // The legacy partition is read only below `shardedFrom`: runs from then on are sharded.
    let startAfter =
      layout === 'legacy' && shardedFrom !== ALL_LEGACY
        ? prefix + strictlyBeforeBound(shardedFrom)
        : undefined;
    if (beforeMs !== undefined) {
      const bound = prefix + strictlyBeforeBound(beforeMs);
      if (startAfter === undefined || compareKeys(bound, startAfter) > 0) startAfter = bound;
    }
    parts.push({
      prefix,
      ...(startAfter === undefined ? {} : { startAfter }),
      ...(afterMs === undefined ? {} : { stopAt: prefix + strictlyAfterBound(afterMs) }),
    });
  }
  return parts;
}
