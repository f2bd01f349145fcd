import { createNonce, SchedulerError } from '@s3-scheduler/core';
import type { ObjectStore } from './object-store.js';
import { isPreconditionFailed } from './store-errors.js';

export interface ProbeOptions {
  /** The scratch key, relative to the store. Default `_probe/<random>`. */
  key?: string;
  signal?: AbortSignal;
}

// An ETag no store produces for these bodies: MD5 hex is 32 characters, this is not hex.
const WRONG_ETAG = 'probe-wrong-etag-00000000000000000';

/**
 * Proves that the store honours conditional writes before anything relies on them: creates a
 * scratch key with `If-None-Match: *` twice (the second must fail), overwrites it with a wrong
 * `If-Match` (must fail) and with the right, unquoted one (must succeed), then deletes it. A
 * store that ignores a condition is refused with `STORE_UNSAFE`; other failures (no bucket, bad
 * credentials, no connection) pass through with their own codes. Costs four PUTs and a DELETE.
 */
export async function probeStore(store: ObjectStore, options: ProbeOptions = {}): Promise<void> {
  const key = options.key ?? `_probe/${createNonce()}`;
  const signal = options.signal;
  const body = (step: string) => JSON.stringify({ probe: step, nonce: createNonce() });
  let created = false;
  try {
    const first = await store.put(key, body('create'), {
      ifNoneMatch: '*',
      contentType: 'application/json',
      signal,
    });
    created = true;
    if (await succeeds(store.put(key, body('create-again'), { ifNoneMatch: '*', signal }))) {
      throw unsafe(store, key, 'If-None-Match: *', 'a second create-only write to the same key succeeded');
    }
    if (await succeeds(store.put(key, body('wrong-etag'), { ifMatch: WRONG_ETAG, signal }))) {
      throw unsafe(store, key, 'If-Match', 'a write with a wrong If-Match ETag succeeded');
    }
    const current = await store.head(key, { signal });
    if (current?.etag !== first.etag) {
      throw unsafe(
        store,
        key,
        'If-None-Match: *',
        'the scratch object changed although every overwrite should have failed',
      );
    }
    try {
      await store.put(key, body('right-etag'), { ifMatch: first.etag, signal });
    } catch (error) {
      if (!isPreconditionFailed(error)) throw error;
      throw unsafe(
        store,
        key,
        'If-Match',
        `a write with the current ETag (${first.etag}, unquoted) failed, so compare-and-swap cannot work`,
      );
    }
  } finally {
    if (created) await store.delete(key).catch(() => undefined);
  }
}

/** True if the write succeeded, false if its condition failed; other errors propagate. */
async function succeeds(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (error) {
    if (isPreconditionFailed(error)) return false;
    throw error;
  }
}

function unsafe(store: ObjectStore, key: string, condition: string, observed: string): SchedulerError {
  return new SchedulerError(`Store ${store.description} ignores ${condition}: ${observed}`, {
    code: 'STORE_UNSAFE',
    operation: 'probe',
    metadata: { store: store.description, key, condition, observed },
    suggestion:
      'Use a store that honours conditional PutObject (AWS S3, Ceph RGW, MinIO, Cloudflare R2); npm fakes such as ' +
      's3rver do not. To run anyway without exactly-once guarantees, pass { unsafeSkipProbe: true }.',
  });
}
