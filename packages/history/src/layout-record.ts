import type { Clock } from '@s3-scheduler/core';
import { isPreconditionFailed, type ObjectStore } from '@s3-scheduler/storage';
import type { HistoryKeys, KeyLayout } from './keys.js';
import { corrupted } from './run-record.js';
import { DAY_MS, iso } from './time.js';

/** `shardedFrom` of a bucket whose every run is in the sharded layout (it never had legacy runs). */
export const ALL_SHARDED = Number.NEGATIVE_INFINITY;
/** `shardedFrom` of a bucket with no layout record: no version that shards has written to it yet. */
export const ALL_LEGACY = Number.POSITIVE_INFINITY;

/** The layout of the run whose key instant (slot, or run id time) is `ms`. */
export function layoutAt(ms: number, shardedFrom: number): KeyLayout {
  return ms >= shardedFrom ? 'sharded' : 'legacy';
}

/**
 * The bucket's layout record, `<prefix>layout.json`: `{ "v": 1, "shardedFrom": <ISO> | null }`.
 * A run whose key instant (its slot, or the time of its run id) is at or after `shardedFrom` lives
 * in the sharded layout, an earlier one in the legacy layout, so every instance maps a slot to the
 * same key (the claim stays exclusive) and a query reads the legacy partitions only for times
 * before `shardedFrom`. `null` (the bucket had no legacy runs when the record was written): every
 * run is sharded and the legacy prefixes are never listed. No record: every run is legacy.
 *
 * The first instance that writes history creates it, create-only (of many starting at once, one
 * wins and the others read its record): when legacy runs exist, `shardedFrom` is the start of the
 * UTC day after the next one (24 to 48 hours ahead), so the instances of an older version still
 * running during a rolling deploy keep claiming the same keys until then, and the boundary falls
 * between whole day partitions. A reader (`readOnly`) never creates it, and reads it again at its
 * next call while it is missing. The record is never deleted or changed afterwards.
 */
export class LayoutRecord {
  #shardedFrom: number | undefined;
  #pending: Promise<number> | undefined;

  constructor(
    readonly store: ObjectStore,
    readonly clock: Clock,
    readonly keys: HistoryKeys,
    /** Whether a missing record is created (writers) or read as "every run is legacy" (readers). */
    readonly creates: boolean,
  ) {}

  /** `shardedFrom` in ms (`ALL_SHARDED`, `ALL_LEGACY` or an instant) once read; `undefined` before. */
  get known(): number | undefined {
    return this.#shardedFrom;
  }

  /** `shardedFrom` in ms: one read the first time (plus two lists and a create-only put for the first writer). */
  resolve(): Promise<number> {
    if (this.#shardedFrom !== undefined) return Promise.resolve(this.#shardedFrom);
    this.#pending ??= this.#load().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #load(): Promise<number> {
    const found = await this.#read();
    if (found !== undefined) return this.#remember(found);
    if (!this.creates) return ALL_LEGACY;
    const { store, keys, clock } = this;
    const now = clock.now();
    const legacy = await Promise.all(
      [keys.legacyRunsRoot, keys.legacyIndexRoot].map((root) => store.list(root, { limit: 1 })),
    );
    const shardedFrom = legacy.some((page) => page.objects.length > 0)
      ? (Math.floor(now / DAY_MS) + 2) * DAY_MS
      : ALL_SHARDED;
    const body = JSON.stringify({
      v: 1,
      shardedFrom: shardedFrom === ALL_SHARDED ? null : iso(shardedFrom),
      createdAt: iso(now),
    });
    try {
      await store.put(keys.layoutRecord, body, { ifNoneMatch: '*', contentType: 'application/json' });
      return this.#remember(shardedFrom);
    } catch (error) {
      if (!isPreconditionFailed(error)) throw error;
    }
    // Another instance created it first: its record is the bucket's.
    const theirs = await this.#read();
    if (theirs === undefined) throw corrupted(keys.layoutRecord, 'it was created, then deleted');
    return this.#remember(theirs);
  }

  #remember(shardedFrom: number): number {
    this.#shardedFrom = shardedFrom;
    return shardedFrom;
  }

  async #read(): Promise<number | undefined> {
    const key = this.keys.layoutRecord;
    const object = await this.store.get(key);
    if (!object) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(object.body));
    } catch (cause) {
      throw corrupted(key, 'not valid JSON', cause);
    }
    const record = parsed as { v?: unknown; shardedFrom?: unknown } | null;
    if (record?.v !== 1) throw corrupted(key, 'not a version 1 layout record');
    if (record.shardedFrom === null) return ALL_SHARDED;
    const ms = typeof record.shardedFrom === 'string' ? Date.parse(record.shardedFrom) : Number.NaN;
    if (!Number.isFinite(ms)) throw corrupted(key, 'shardedFrom is neither null nor an ISO instant');
    return ms;
  }
}
