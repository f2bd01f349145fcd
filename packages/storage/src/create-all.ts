import { abortReason } from '@s3-scheduler/core';
import type { CreateEntry, CreateManyOptions, CreateResult, ObjectStore } from './object-store.js';
import { isPreconditionFailed } from './store-errors.js';

/** Create-only puts in flight at once for a store without `createMany` (an S3 bucket). */
export const CREATE_ALL_CONCURRENCY = 32;

export interface CreateAllOptions extends CreateManyOptions {
  /** Puts in flight at once when the store has no `createMany`. Default 32. */
  concurrency?: number;
}

/**
 * A create-only put (`If-None-Match: *`) of every entry, results in input order (see
 * `CreateResult`): the store's own `createMany` when it has one, otherwise one `put` per entry
 * with at most `concurrency` in flight. Each key keeps exactly the semantics of a single
 * create-only put. Rejects only when `signal` is already aborted; every other failure is the
 * `failed` result of its entry.
 */
export async function createAll(
  store: ObjectStore,
  entries: readonly CreateEntry[],
  options: CreateAllOptions = {},
): Promise<CreateResult[]> {
  const signal = options.signal;
  if (signal?.aborted) throw abortReason(signal);
  if (store.createMany) return store.createMany(entries, signal ? { signal } : undefined);
  return createEach(store, entries, options);
}

/**
 * `createAll` without the store's `createMany`: one create-only `put` per entry, at most
 * `concurrency` in flight (for a store's own `createMany` that has nothing better to do). Entries
 * with the same key are put one after the other in input order: the first creates, the rest find
 * it (`exists`).
 */
export async function createEach(
  store: ObjectStore,
  entries: readonly CreateEntry[],
  options: CreateAllOptions = {},
): Promise<CreateResult[]> {
  const signal = options.signal;
  const results = new Array<CreateResult>(entries.length);
  // A key given twice is put after its earlier entry has settled, so the first one wins as in a
  // single call (with both in flight, the later could land first: CI, real S3 server, Node 24).
  const lastOfKey = new Map<string, Promise<CreateResult>>();
  let next = 0;
  const worker = async () => {
    while (next < entries.length) {
      const index = next++;
      const entry = entries[index]!;
      const earlier = lastOfKey.get(entry.key);
      const put = earlier
        ? earlier.then(() => createOne(store, entry, signal))
        : createOne(store, entry, signal);
      lastOfKey.set(entry.key, put);
      results[index] = await put;
    }
  };
  const workers = Math.min(Math.max(1, options.concurrency ?? CREATE_ALL_CONCURRENCY), entries.length);
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
}

async function createOne(
  store: ObjectStore,
  entry: CreateEntry,
  signal: AbortSignal | undefined,
): Promise<CreateResult> {
  try {
    const { etag } = await store.put(entry.key, entry.body, {
      ifNoneMatch: '*',
      ...(entry.contentType === undefined ? {} : { contentType: entry.contentType }),
      ...(signal ? { signal } : {}),
    });
    return { status: 'created', etag };
  } catch (error) {
    return isPreconditionFailed(error) ? { status: 'exists' } : { status: 'failed', error };
  }
}
