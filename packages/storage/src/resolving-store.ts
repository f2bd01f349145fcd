import { type Clock, exponentialBackoff, seededRandom, systemClock } from '@s3-scheduler/core';
import { createEach } from './create-all.js';
import { unquoteEtag } from './etag.js';
import type {
  CreateEntry,
  CreateManyOptions,
  CreateResult,
  DeleteOptions,
  ListOptions,
  ObjectStore,
  PutOptions,
  ReadOptions,
} from './object-store.js';
import { isOutcomeUnknown, isPreconditionFailed, preconditionFailed } from './store-errors.js';

const utf8 = new TextEncoder();

export interface ResolvingStoreOptions {
  clock?: Clock;
  /** Attempts per operation before giving up with `STORE_UNAVAILABLE`. Default 6. */
  maxAttempts?: number;
  /** First back-off between attempts, doubled each time up to 2 s. Default 50 ms. */
  initialBackoffMs?: number;
  /** Seed of the back-off jitter. */
  seed?: number;
  /**
   * No new attempt starts once this many ms have passed since the operation began (reading back
   * an unknown outcome included): the last `STORE_UNAVAILABLE` is thrown instead. With requests
   * that hang until their deadline (a frozen server), this bounds an operation to about this
   * plus one request, so callers see errors during an outage instead of waiting it out.
   * Default 15,000.
   */
  retryBudgetMs?: number;
}

/**
 * Wraps a backend so a write whose outcome is unknown (409 `ConditionalRequestConflict`, 5xx,
 * throttling, timeout, lost response) is settled before the caller sees it: the key is read
 * again and its bytes compared with the bytes written. Equal bytes mean this write won (every
 * conditional body carries a nonce, so equal bytes identify one write); other bytes mean it
 * lost; an untouched key means it never applied, so it is sent again. A 412 after one of our
 * own retries is checked the same way, since the first try may have won.
 */
export class ResolvingStore implements ObjectStore {
  readonly description: string;
  readonly resolvesOutcomes = true;
  readonly #clock: Clock;
  readonly #maxAttempts: number;
  readonly #initialBackoffMs: number;
  readonly #retryBudgetMs: number;
  readonly #random: () => number;

  constructor(
    readonly inner: ObjectStore,
    options: ResolvingStoreOptions = {},
  ) {
    this.description = inner.description;
    this.#clock = options.clock ?? systemClock;
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 6);
    this.#initialBackoffMs = options.initialBackoffMs ?? 50;
    this.#retryBudgetMs = options.retryBudgetMs ?? 15_000;
    this.#random = seededRandom(options.seed ?? 0x5eed);
    if (inner.createMany) this.createMany = (entries, options) => this.#createMany(entries, options);
  }

  get(key: string, options?: ReadOptions) {
    return this.#retry(() => this.inner.get(key, options), options?.signal, this.#clock.monotonic());
  }

  head(key: string, options?: ReadOptions) {
    return this.#retry(() => this.inner.head(key, options), options?.signal, this.#clock.monotonic());
  }

  list(prefix: string, options?: ListOptions) {
    return this.#retry(() => this.inner.list(prefix, options), options?.signal, this.#clock.monotonic());
  }

  /** Whether the budget of an operation begun at `startedAt` is spent (no new attempt then). */
  #spent(startedAt: number): boolean {
    return this.#clock.monotonic() - startedAt >= this.#retryBudgetMs;
  }

  put(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<{ etag: string }> {
    const startedAt = this.#clock.monotonic();
    // The first attempt goes straight to the inner store; only a failure enters the retry loop
    // (an async frame per put was a measurable part of a burst's garbage: a write per run).
    let first: Promise<{ etag: string }>;
    try {
      first = this.inner.put(key, body, options);
    } catch (error) {
      return this.#put(key, body, options, startedAt, error);
    }
    return first.catch((error: unknown) => this.#put(key, body, options, startedAt, error));
  }

  /**
   * The inner store's batch, each entry whose outcome is unknown then settled exactly as `put`
   * settles it. Present only when the inner store has `createMany` (otherwise `createAll` sends
   * one `put` per entry through this store, as before).
   */
  readonly createMany?: (
    entries: readonly CreateEntry[],
    options?: CreateManyOptions,
  ) => Promise<CreateResult[]>;

  async #createMany(
    entries: readonly CreateEntry[],
    options: CreateManyOptions = {},
  ): Promise<CreateResult[]> {
    if (!this.inner.createMany) return createEach(this, entries, options);
    const startedAt = this.#clock.monotonic();
    const results = await this.inner.createMany(entries, options);
    const unknown: Array<Promise<void>> = [];
    for (let i = 0; i < results.length; i++) {
      const result = results[i]!;
      if (result.status !== 'failed' || !isOutcomeUnknown(result.error)) continue;
      const { key, body, contentType } = entries[i]!;
      const putOptions: PutOptions = { ifNoneMatch: '*' };
      if (contentType !== undefined) putOptions.contentType = contentType;
      if (options.signal) putOptions.signal = options.signal;
      unknown.push(
        this.#put(key, body, putOptions, startedAt, result.error).then(
          ({ etag }) => {
            results[i] = { status: 'created', etag };
          },
          (error: unknown) => {
            results[i] = isPreconditionFailed(error) ? { status: 'exists' } : { status: 'failed', error };
          },
        ),
      );
    }
    await Promise.all(unknown);
    return results;
  }

  /** `put` from its first attempt, or (`firstError`) from a first attempt that ended so. */
  async #put(
    key: string,
    body: Uint8Array | string,
    options: PutOptions,
    startedAt: number,
    firstError?: unknown,
  ): Promise<{ etag: string }> {
    let retried = false;
    // Sent as given (a string costs a store no encoding it would not do itself); the bytes are
    // needed only to compare with what the key holds after an unknown outcome.
    let bytes: Uint8Array | undefined;
    for (let attempt = 1; ; attempt++) {
      let error: unknown;
      if (attempt === 1 && firstError !== undefined) error = firstError;
      else {
        try {
          return await this.inner.put(key, body, options);
        } catch (failure) {
          error = failure;
        }
      }
      const lostAfterRetry = retried && isPreconditionFailed(error);
      if (!isOutcomeUnknown(error) && !lostAfterRetry) throw error;
      bytes ??= typeof body === 'string' ? utf8.encode(body) : body;
      const verdict = await this.#settle(key, bytes, options, error, startedAt);
      if (verdict.won) return { etag: verdict.etag };
      if (attempt >= this.#maxAttempts || this.#spent(startedAt)) throw error;
      retried = true;
      await this.#backoff(attempt, options.signal);
    }
  }

  async delete(key: string, options: DeleteOptions = {}): Promise<void> {
    const startedAt = this.#clock.monotonic();
    for (let attempt = 1; ; attempt++) {
      try {
        await this.inner.delete(key, options);
        return;
      } catch (error) {
        if (!isOutcomeUnknown(error)) throw error;
        const current = await this.#retry(() => this.inner.head(key), options.signal, startedAt);
        if (!current) return;
        if (options.ifMatch !== undefined && current.etag !== unquoteEtag(options.ifMatch)) {
          throw preconditionFailed(key, `If-Match: ${options.ifMatch}`, error);
        }
        if (attempt >= this.#maxAttempts || this.#spent(startedAt)) throw error;
        await this.#backoff(attempt, options.signal);
      }
    }
  }

  /** Reads the key after an unknown outcome: won (our bytes), lost (someone else's) or retry. */
  async #settle(
    key: string,
    bytes: Uint8Array,
    options: PutOptions,
    error: unknown,
    startedAt: number,
  ): Promise<{ won: true; etag: string } | { won: false }> {
    const current = await this.#retry(() => this.inner.get(key), options.signal, startedAt);
    if (current && sameBytes(current.body, bytes)) return { won: true, etag: current.etag };
    if (options.ifNoneMatch === '*' && current) throw preconditionFailed(key, 'If-None-Match: *', error);
    if (options.ifMatch !== undefined && current?.etag !== unquoteEtag(options.ifMatch)) {
      throw preconditionFailed(key, `If-Match: ${unquoteEtag(options.ifMatch)}`, error);
    }
    return { won: false };
  }

  async #retry<T>(
    operation: () => Promise<T>,
    signal: AbortSignal | undefined,
    startedAt: number,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await operation();
      } catch (error) {
        if (!isOutcomeUnknown(error) || attempt >= this.#maxAttempts || this.#spent(startedAt)) throw error;
        await this.#backoff(attempt, signal);
      }
    }
  }

  #backoff(attempt: number, signal?: AbortSignal): Promise<void> {
    const ceiling = exponentialBackoff(attempt, { initialMs: this.#initialBackoffMs, maxMs: 2000 });
    return this.#clock.sleep(ceiling / 2 + (this.#random() * ceiling) / 2, signal);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

/**
 * `store` itself when it already settles unknown outcomes, otherwise a `ResolvingStore` over it:
 * wrapping twice would multiply retries (and their waits) for nothing.
 */
export function withResolvedOutcomes(store: ObjectStore, options: ResolvingStoreOptions = {}): ObjectStore {
  return store.resolvesOutcomes ? store : new ResolvingStore(store, options);
}
