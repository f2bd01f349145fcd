import { createHash } from 'node:crypto';
import { SchedulerError } from '@s3-scheduler/core';
import { encodeKeySegment } from '@s3-scheduler/storage';
import { DAY_MS, MAX_INSTANT_MS } from './time.js';

const MAX_DAY = 999_999;
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
/** `<day partition>/<reverse time>.<kind>`: what follows the job (and status) in every key. */
const RUN_TAIL = /^\d{6}-\d{4}-\d{2}-\d{2}\/\d{13}\.(?:s|m-[0-9A-HJKMNP-TV-Z]{26})$/;
/** A run tail, optionally followed by the marker of a rare final status. */
const LISTED_TAIL =
  /^(\d{6}-\d{4}-\d{2}-\d{2}\/\d{13}\.(?:s|m-[0-9A-HJKMNP-TV-Z]{26}))(?:~(failed|timeout|cancelled|abandoned))?$/;

/**
 * Final statuses that leave a zero-byte marker next to the run record (`<run key>~<status>`), so
 * that one list of a job's runs tells which of them did not complete without reading them.
 */
export const MARKED_STATUSES = ['failed', 'timeout', 'cancelled', 'abandoned'] as const;
/** Final statuses with a status index partition: every final status except `completed`. */
export const INDEXED_STATUSES = [...MARKED_STATUSES, 'skipped'] as const;
/** Number of statistics documents: jobs are spread over them by a hash of their name. */
export const STATS_SHARDS = 8;

/** Identifies one run: a scheduled slot (the slot claim) or a manual run by its ULID. */
export type RunRef = { slotMs: number } | { runId: string; runIdMs: number };

/**
 * Which of the two key layouts a key is in: `sharded` (this version writes it: a two-hex-digit
 * hash of the job ahead of the job's name, so writes spread over 256 prefixes) or `legacy` (the
 * unsharded layout of versions before it, still read where the bucket's layout record says it
 * can hold runs).
 */
export type KeyLayout = 'sharded' | 'legacy';

/**
 * The key layout, in one place. S3 lists keys in ascending order, so both the day and the time
 * are stored *reversed* (`999999 − day`, `9999999999999 − ms`): a plain recursive list of a job's
 * partition then returns its runs newest first across all days, with no need to know which
 * days exist. The readable date after the reversed day is for people browsing the bucket.
 *
 * ```
 * <prefix>runs-by-shard/<hh>-<job>/<rday>-<yyyy-mm-dd>/<rtime>.s          scheduled slot (the claim)
 * <prefix>runs-by-shard/<hh>-<job>/<rday>-<yyyy-mm-dd>/<rtime>.m-<ulid>   manual / run-on-start run
 * <prefix>runs-by-shard/<hh>-<job>/<rday>-<yyyy-mm-dd>/<rtime>.…~<status> zero-byte marker: ended
 *                                                             failed, timeout, cancelled or abandoned
 * <prefix>idx-by-shard/<hh>-<job>/<status>/<rday>-<yyyy-mm-dd>/<rtime>.…  zero-byte status index
 *                                                             entry (every final status but completed)
 * <prefix>layout.json                                         when sharded writing began (layout-record.ts)
 * <prefix>stats/shards/<h>.json                               statistics of the jobs of shard h
 * <prefix>stats/<job>.json                                    per-job statistics of older versions
 * <prefix>runs/<job>/…, <prefix>idx/<job>/<status>/…          the legacy layout: the same tails, no shard
 * ```
 *
 * `<hh>` is `keyShardOf(job)`. Every method that takes a `layout` defaults to `sharded`.
 */
export class HistoryKeys {
  /** Job name → `<hh>-<encoded job>`: the hash is computed once per job, not once per run. */
  readonly #sharded = new Map<string, string>();

  constructor(readonly prefix: string) {}

  /** Prefix of every job's run partition in the sharded layout (lists `<hh>-<job>/` with delimiter `/`). */
  get runsRoot(): string {
    return `${this.prefix}runs-by-shard/`;
  }

  /** Prefix of every job's status index in the sharded layout. */
  get indexRoot(): string {
    return `${this.prefix}idx-by-shard/`;
  }

  /** Prefix of every job's run partition in the legacy layout (`<job>/` segments). */
  get legacyRunsRoot(): string {
    return `${this.prefix}runs/`;
  }

  get legacyIndexRoot(): string {
    return `${this.prefix}idx/`;
  }

  /** The bucket's layout record: when sharded writing began. */
  get layoutRecord(): string {
    return `${this.prefix}layout.json`;
  }

  /** The segment that names a job under a root of `layout`: `<hh>-<job>` or `<job>`. */
  jobSegment(job: string, layout: KeyLayout = 'sharded'): string {
    if (layout === 'legacy') return jobSegment(job);
    let segment = this.#sharded.get(job);
    if (segment === undefined) {
      segment = `${keyShardOf(job)}-${jobSegment(job)}`;
      if (this.#sharded.size >= 10_000) this.#sharded.clear();
      this.#sharded.set(job, segment);
    }
    return segment;
  }

  /** Prefix of one job's runs, newest first when listed. */
  runs(job: string, layout: KeyLayout = 'sharded'): string {
    return `${layout === 'sharded' ? this.runsRoot : this.legacyRunsRoot}${this.jobSegment(job, layout)}/`;
  }

  /** Prefix of one job's status index for one terminal status, newest first when listed. */
  index(job: string, status: string, layout: KeyLayout = 'sharded'): string {
    return `${layout === 'sharded' ? this.indexRoot : this.legacyIndexRoot}${this.jobSegment(job, layout)}/${status}/`;
  }

  /** The statistics document holding this job's statistics (shared with other jobs). */
  stats(job: string): string {
    return this.statsShard(statsShardOf(job));
  }

  statsShard(shard: string): string {
    return `${this.prefix}stats/shards/${shard}.json`;
  }

  /** Where versions before the shared statistics documents kept one document per job. */
  get legacyStatsRoot(): string {
    return `${this.prefix}stats/`;
  }

  /** The zero-byte marker next to a run record that ended in one of `MARKED_STATUSES`. */
  marker(runKey: string, status: string): string {
    return `${runKey}~${status}`;
  }

  /** The layout of a run or index partition prefix (or of a key under one). */
  layoutOf(key: string): KeyLayout {
    return key.startsWith(this.runsRoot) || key.startsWith(this.indexRoot) ? 'sharded' : 'legacy';
  }

  /**
   * What a key listed under `listPrefix` (a job's runs or one of its status indexes, in either
   * layout) stands for: the run key, plus the marked status when the key is a marker;
   * `undefined` when it is not a history key.
   */
  parseListed(job: string, listPrefix: string, key: string): { runKey: string; marked?: string } | undefined {
    if (!key.startsWith(listPrefix)) return undefined;
    const match = LISTED_TAIL.exec(key.slice(listPrefix.length));
    if (!match) return undefined;
    const runKey = this.runs(job, this.layoutOf(listPrefix)) + match[1];
    return match[2] === undefined ? { runKey } : { runKey, marked: match[2] };
  }

  /** The key of a run record: for a slot, the same key on every instance (that is the claim). */
  run(job: string, ref: RunRef, layout: KeyLayout = 'sharded'): string {
    return this.runs(job, layout) + runTail(ref);
  }

  /** The status index entry of the run stored at `runKey` (in the layout of `runKey`). */
  indexEntry(job: string, runKey: string, status: string): string {
    const layout = this.layoutOf(runKey);
    return this.index(job, status, layout) + this.tailOf(job, runKey);
  }

  /** The run key an index entry (or run key) listed under `listPrefix` points at. */
  runKeyFromListed(job: string, listPrefix: string, key: string): string | undefined {
    const tail = key.slice(listPrefix.length);
    return key.startsWith(listPrefix) && RUN_TAIL.test(tail)
      ? this.runs(job, this.layoutOf(listPrefix)) + tail
      : undefined;
  }

  tailOf(job: string, runKey: string): string {
    const base = this.runs(job, this.layoutOf(runKey));
    const tail = runKey.slice(base.length);
    if (!runKey.startsWith(base) || !RUN_TAIL.test(tail)) {
      throw new SchedulerError(`'${runKey}' is not a run key of job '${job}'`, {
        code: 'INVALID_KEY',
        operation: 'history',
        metadata: { key: runKey, job },
        suggestion: 'Use the key returned by claim(), read() or query().',
      });
    }
    return tail;
  }
}

/**
 * The key shard of a job: the first two hex digits of the SHA-1 of its encoded name
 * (`encodeKeySegment(job)`), `00`–`ff`. Part of the stored layout: it must never change, or
 * the runs written before the change would no longer be found (nor slot claims be exclusive).
 */
export function keyShardOf(job: string): string {
  return createHash('sha1').update(jobSegment(job), 'utf8').digest('hex').slice(0, 2);
}

// The last segment made is kept: a burst's runs share their slot, so a thousand keys in a row
// have the same day and time segments (each made anew cost a Date, an ISO string and padding).
let lastDay = Number.NaN;
let lastDaySegment = '';
let lastInstant = Number.NaN;
let lastTimeSegment = '';

/** Day partition segment: reversed day number, then the readable UTC date. */
export function daySegment(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  if (day !== lastDay) {
    lastDaySegment = `${String(MAX_DAY - day).padStart(6, '0')}-${new Date(day * DAY_MS).toISOString().slice(0, 10)}`;
    lastDay = day;
  }
  return lastDaySegment;
}

/** Reversed milliseconds, so that later instants sort first. */
export function timeSegment(ms: number): string {
  if (ms !== lastInstant) {
    lastTimeSegment = String(MAX_INSTANT_MS - ms).padStart(13, '0');
    lastInstant = ms;
  }
  return lastTimeSegment;
}

/**
 * A string that sorts after every key of instants `>= ms` and before every key of instants
 * `< ms` under the same partition root: the `startAfter` for "strictly before `ms`". Relies on
 * `.` (after the time) and `-` (after the reversed day) sorting before `/`.
 */
export function strictlyBeforeBound(ms: number): string {
  return `${daySegment(ms)}/${timeSegment(ms)}/`;
}

/** Keys of instants `> ms` sort strictly before this string; keys of instants `<= ms` after. */
export function strictlyAfterBound(ms: number): string {
  return `${daySegment(ms)}/${timeSegment(ms)}`;
}

/** `startAfter` that skips every day partition from the day of `ms` onwards (newer days). */
export function olderDaysBound(ms: number): string {
  return `${daySegment(ms).slice(0, 6)}/`;
}

/** The statistics shard of a job: one hex digit of a hash of its name. */
export function statsShardOf(job: string): string {
  let shard = statsShards.get(job);
  if (shard === undefined) {
    const digest = createHash('sha1').update(job, 'utf8').digest();
    shard = (digest[0]! % STATS_SHARDS).toString(16);
    // Jobs come and go: a bounded cache, emptied when full (it is refilled one hash per job).
    if (statsShards.size >= 100_000) statsShards.clear();
    statsShards.set(job, shard);
  }
  return shard;
}

/** Job name → statistics shard: one hash per job, not one per finished run. */
const statsShards = new Map<string, string>();

export function jobSegment(job: string): string {
  return encodeKeySegment(job);
}

export function isUlid(runId: string): boolean {
  return ULID.test(runId);
}

/** The last slot's tail: a burst claims one slot for every job, so it is built once. */
let lastSlotMs = Number.NaN;
let lastSlotTail = '';

function runTail(ref: RunRef): string {
  if ('slotMs' in ref) {
    if (ref.slotMs !== lastSlotMs) {
      lastSlotTail = `${daySegment(ref.slotMs)}/${timeSegment(ref.slotMs)}.s`;
      lastSlotMs = ref.slotMs;
    }
    return lastSlotTail;
  }
  return `${daySegment(ref.runIdMs)}/${timeSegment(ref.runIdMs)}.m-${ref.runId}`;
}

export { MAX_INSTANT_MS };
