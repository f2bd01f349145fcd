import { createNonce } from '@s3-scheduler/core';
import type { ObjectStore } from '@s3-scheduler/storage';
import { DEFAULT_LAYOUT } from '../layout.js';

/**
 * `changes.json`: one small object that a writer of a job document (other than the leader) or of
 * an operator request rewrites after its own write, so that the leader learns of changes with one
 * HEAD per heartbeat instead of a list of `jobs/` and `requests/` each (S3 prices a LIST like a
 * PUT, 12.5× a HEAD). Followers do not read it: they follow the digest of the job documents the
 * leader publishes in its lease (`JobDocuments.digest`).
 *
 * Why no change is missed: a writer writes its document first and the signal after; the leader
 * reads the signal's ETag first and lists after. A document the list did not see was written
 * after the list began, so its signal write came after the read, and the next read shows a new
 * ETag (S3 reads after writes are strongly consistent; each write carries a fresh nonce). A write
 * whose outcome is unknown is announced all the same; an announcement that fails is retried at
 * the writer's next heartbeat. A writer that dies between its two writes, or a write that lands
 * after its announcement, leaves a change unannounced: the leader lists everything every
 * `SWEEP_HEARTBEATS` heartbeats and at promotion.
 */
export const CHANGES_KEY = DEFAULT_LAYOUT.changes;

/** The leader lists `jobs/` and `requests/` at least this often (heartbeats) whatever the signal says. */
export const SWEEP_HEARTBEATS = 20;

/**
 * Rewrites the signal. Throws what the store throws (callers whose own write already succeeded
 * catch it: see `JobDocuments`).
 */
export async function announceChange(store: ObjectStore, now: number): Promise<void> {
  await store.put(CHANGES_KEY, JSON.stringify({ at: new Date(now).toISOString(), nonce: createNonce() }), {
    contentType: 'application/json',
  });
}

/** The signal's ETag (`null`: never written). Throws what the store throws. */
export async function readChangeSignal(store: ObjectStore): Promise<string | null> {
  return (await store.head(CHANGES_KEY))?.etag ?? null;
}

/**
 * One reader's view of the signal (the job documents' sync, the operator requests): whether to
 * list at this heartbeat. `undefined` as the signal means it could not be read: list.
 */
export class ChangeWatch {
  /** The signal's ETag before the last complete list; `undefined`: list at the next look. */
  #seen: string | null | undefined;

  /** Lists at the next look, whatever the signal says (start, promotion, a list that failed). */
  invalidate(): void {
    this.#seen = undefined;
  }

  /** Whether the signal moved since the last complete list (or could not be read). */
  moved(signal: string | null | undefined): boolean {
    return signal === undefined || this.#seen === undefined || signal !== this.#seen;
  }

  /** A list that began after the signal read `signal` completed. */
  listed(signal: string | null | undefined): void {
    this.#seen = signal;
  }
}
