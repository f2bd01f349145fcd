import { createNonce, createRunId } from '@s3-scheduler/core';
import { compareKeys, type ObjectStore } from '@s3-scheduler/storage';
import { HistoryKeys, INDEXED_STATUSES, MARKED_STATUSES } from '../keys.js';
import { encodeRun, type FinalStatus, type StoredRun } from '../run-record.js';
import { iso } from '../time.js';

export interface SeedHistoryOptions {
  job: string;
  /** Number of finished scheduled runs to write. */
  count: number;
  /** Slot of the newest run, in ms. Default 2026-01-01T00:00:00Z. */
  newestSlotMs?: number;
  /** Time between consecutive slots. Default one minute. */
  spacingMs?: number;
  /** Status of the i-th newest run. Default: every 10th `failed`, the rest `completed`. */
  status?: (index: number) => FinalStatus;
  /** Must match the `HistoryStore`'s prefix. Default `history/`. */
  prefix?: string;
  /**
   * `current` (default): as this version writes (index entries and markers for rare statuses
   * only). `v1`: as versions before it wrote (an index entry for every final status, no
   * markers), to test that such data is still read and cleaned up.
   */
  layout?: 'current' | 'v1';
  /**
   * `sharded` (default): the keys this version writes. `legacy`: the unsharded keys of versions
   * before it (implied by `layout: 'v1'`), to test that a bucket written by them is still read.
   */
  keys?: 'sharded' | 'legacy';
}

/**
 * Writes `count` finished runs (records, status index entries, markers) straight into a store, in key
 * order, so that tens of thousands of runs seed a `MemoryStore` in seconds. For tests and
 * benchmarks of query cost; statistics documents are not written.
 */
export async function seedHistory(store: ObjectStore, options: SeedHistoryOptions): Promise<void> {
  const keys = new HistoryKeys(options.prefix ?? 'history/');
  const keyLayout = options.layout === 'v1' ? 'legacy' : (options.keys ?? 'sharded');
  const newest = options.newestSlotMs ?? Date.UTC(2026, 0, 1);
  const spacing = options.spacingMs ?? 60_000;
  const statusOf = options.status ?? ((index: number) => (index % 10 === 9 ? 'failed' : 'completed'));
  const writes: Array<[string, string]> = [];
  for (let index = 0; index < options.count; index++) {
    const slotMs = newest - index * spacing;
    const status = statusOf(index);
    const key = keys.run(options.job, { slotMs }, keyLayout);
    const run: StoredRun = {
      v: 1,
      job: options.job,
      slot: iso(slotMs),
      runId: createRunId(slotMs),
      status,
      trigger: 'schedule',
      epoch: 1,
      workerId: 'seed',
      attempts: 1,
      startedAt: iso(slotMs),
      finishedAt: iso(slotMs + 25),
      durationMs: 25,
      result: status === 'completed' ? { index } : null,
      error: status === 'completed' ? null : { name: 'Error', message: `run ${index} ${status}` },
      updatedAt: iso(slotMs + 25),
      nonce: createNonce(),
    };
    writes.push([key, encodeRun(run)]);
    if (options.layout === 'v1' || (INDEXED_STATUSES as readonly string[]).includes(status))
      writes.push([keys.indexEntry(options.job, key, status), '']);
    if (options.layout !== 'v1' && (MARKED_STATUSES as readonly string[]).includes(status))
      writes.push([keys.marker(key, status), '']);
  }
  writes.sort((a, b) => compareKeys(a[0], b[0]));
  for (const [key, body] of writes) await store.put(key, body);
}
