import { type Clock, seededRandom, systemClock } from '@s3-scheduler/core';
import { recordStoreOperation } from '@s3-scheduler/core/testing';
import type { DeleteOptions, ListOptions, ObjectStore, PutOptions, ReadOptions } from '../object-store.js';
import { storeUnavailable } from '../store-errors.js';

type FaultError = { metadata?: { reason?: unknown } };

/** The faults a `FaultyStore` can inject. */
export type FaultKind = 'conflict409' | 'serverError500' | 'slowDown503' | 'lostResponse' | 'timeout';

export interface FaultyStoreOptions {
  /** Seed of every random decision: the same seed injects the same faults. */
  seed?: number;
  clock?: Clock;
  /** Probability per request of each fault. Default: none. */
  rates?: Partial<Record<FaultKind, number>>;
  /** Inject faults only into conditional writes (the dangerous ones). Default false. */
  onlyConditionalWrites?: boolean;
  /** Random latency per request, in ms, drawn uniformly from `[min, max]`. Default none. */
  latencyMs?: readonly [number, number];
}

/**
 * Wraps any store and injects faults, seeded. `lostResponse` applies the write to the inner
 * store and then fails as if the response never arrived: the case that turns naive
 * exactly-once into twice. `timeout` does the same without saying whether it applied: half the
 * time it did. Reads never lose data; they only fail or slow down.
 */
export class FaultyStore implements ObjectStore {
  readonly description: string;
  /** Faults injected so far, by kind. */
  readonly injected: Record<FaultKind, number> = {
    conflict409: 0,
    serverError500: 0,
    slowDown503: 0,
    lostResponse: 0,
    timeout: 0,
  };
  /** While true, every request fails with a 503 (a store outage). */
  outage = false;
  rates: Partial<Record<FaultKind, number>>;
  readonly #random: () => number;
  readonly #clock: Clock;
  readonly #options: FaultyStoreOptions;

  constructor(
    readonly inner: ObjectStore,
    options: FaultyStoreOptions = {},
  ) {
    this.description = `faulty(${inner.description})`;
    this.rates = { ...options.rates };
    this.#random = seededRandom(options.seed ?? 1);
    this.#clock = options.clock ?? systemClock;
    this.#options = options;
  }

  async get(key: string, options?: ReadOptions) {
    await this.#before('get', key, false);
    return this.inner.get(key, options);
  }

  async head(key: string, options?: ReadOptions) {
    await this.#before('head', key, false);
    return this.inner.head(key, options);
  }

  async list(prefix: string, options?: ListOptions) {
    await this.#before('list', prefix, false);
    return this.inner.list(prefix, options);
  }

  async put(key: string, body: Uint8Array | string, options: PutOptions = {}) {
    const conditional = options.ifMatch !== undefined || options.ifNoneMatch !== undefined;
    const fault = await this.#before('put', key, conditional);
    if (fault === 'lostResponse' || fault === 'timeout') {
      const applied = fault === 'lostResponse' || this.#random() < 0.5;
      if (applied) await this.inner.put(key, body, options).catch(() => undefined);
      this.injected[fault]++;
      throw storeUnavailable('put', key, { reason: fault === 'timeout' ? 'timeout' : 'response lost' });
    }
    return this.inner.put(key, body, options);
  }

  async delete(key: string, options: DeleteOptions = {}) {
    const fault = await this.#before('delete', key, options.ifMatch !== undefined);
    if (fault === 'lostResponse' || fault === 'timeout') {
      await this.inner.delete(key, options).catch(() => undefined);
      this.injected[fault]++;
      throw storeUnavailable('delete', key, { reason: 'response lost' });
    }
    return this.inner.delete(key, options);
  }

  /** `#decide`, with its outcome recorded for a failing test's report (`recordStoreOperation`). */
  async #before(operation: string, key: string, conditional: boolean): Promise<FaultKind | undefined> {
    try {
      const fault = await this.#decide(operation, key, conditional);
      recordStoreOperation('faulty', operation, key, fault ?? 'sent');
      return fault;
    } catch (error) {
      recordStoreOperation('faulty', operation, key, String((error as FaultError).metadata?.reason ?? error));
      throw error;
    }
  }

  /** Applies latency, then either throws a fault, returns a write fault to apply, or nothing. */
  async #decide(operation: string, key: string, conditional: boolean): Promise<FaultKind | undefined> {
    const latency = this.#options.latencyMs;
    if (latency) await this.#clock.sleep(Math.round(latency[0] + this.#random() * (latency[1] - latency[0])));
    if (this.outage) throw storeUnavailable(operation, key, { statusCode: 503, reason: 'outage' });
    if (this.#options.onlyConditionalWrites && !conditional) return undefined;
    const isWrite = operation === 'put' || operation === 'delete';
    for (const kind of ['conflict409', 'serverError500', 'slowDown503', 'lostResponse', 'timeout'] as const) {
      const rate = this.rates[kind] ?? 0;
      if (rate <= 0 || this.#random() >= rate) continue;
      if (kind === 'lostResponse' || kind === 'timeout') {
        if (isWrite) return kind;
        continue;
      }
      this.injected[kind]++;
      const statusCode = kind === 'conflict409' ? 409 : kind === 'serverError500' ? 500 : 503;
      throw storeUnavailable(operation, key, { statusCode, reason: kind });
    }
    return undefined;
  }
}
