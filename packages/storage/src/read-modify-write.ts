import type { ObjectStore } from './object-store.js';
import { isPreconditionFailed } from './store-errors.js';

/** What `readModifyWrite` needs to change one JSON object. */
export interface ReadModifyWriteOptions<T> {
  /** The current value and its ETag, or `null` when the object does not exist. */
  read: () => Promise<{ value: T; etag: string } | null>;
  /** The value to start from when the object does not exist. */
  fresh: () => T;
  /** Changes the (copied) value in place; `false` leaves the object as it is (nothing written). */
  change: (value: T) => boolean | undefined;
  /** Writes lost to another writer before giving up (the last precondition failure is thrown). Default 20. */
  maxAttempts?: number;
}

/**
 * Changes the JSON object at `key` by compare-and-swap: reads it, applies `change` to a copy and
 * writes it only if nobody wrote in between (`If-Match` its ETag, or `If-None-Match: *` when it
 * did not exist); when somebody did, starts over. Resolves with the value as written (or as
 * read, when `change` returned `false`) and the new ETag (`null` when nothing was written).
 * Throws what the store throws, and `PRECONDITION_FAILED` after `maxAttempts` lost races.
 */
export async function readModifyWrite<T>(
  store: ObjectStore,
  key: string,
  options: ReadModifyWriteOptions<T>,
): Promise<{ value: T; etag: string | null }> {
  const maxAttempts = options.maxAttempts ?? 20;
  for (let attempt = 1; ; attempt++) {
    const current = await options.read();
    const value = current ? structuredClone(current.value) : options.fresh();
    if (options.change(value) === false) return { value, etag: null };
    try {
      const { etag } = await store.put(key, JSON.stringify(value), {
        contentType: 'application/json',
        ...(current ? { ifMatch: current.etag } : { ifNoneMatch: '*' as const }),
      });
      return { value, etag };
    } catch (error) {
      if (!isPreconditionFailed(error) || attempt >= maxAttempts) throw error;
    }
  }
}
