import {
  type DeleteOptions,
  type ListOptions,
  type ObjectStore,
  type PutOptions,
  type ReadOptions,
  storeUnavailable,
} from '@s3-scheduler/storage';
import type { ProcessClock } from './sim-clock.js';

/**
 * The deadline every request has on a real store (`S3Store`'s `requestTimeoutMs`, 10 s by
 * default): a request that hangs, or meets a frozen server, fails `STORE_UNAVAILABLE` after it.
 */
export const REQUEST_DEADLINE_MS = 10_000;

/** Hangs and freezes of the shared store, as the harness decides them. */
export interface StoreStalls {
  /** Until when (shared clock) the server is frozen: requests reach it and get no answer. */
  frozenUntil: number;
  /** Draws, per request, whether it hangs (a dead connection): true means until its deadline. */
  hangs(): boolean;
}

/**
 * One simulated process's connection to the shared store. While the process is paused its
 * requests wait to be sent, and responses that arrive wait to be read; once it is dead every
 * request hangs forever (a request already at the server may still be applied: its response is
 * lost), so a crashed process writes nothing more, releases nothing, and its leases run out.
 */
export class ProcessStore implements ObjectStore {
  readonly description: string;
  /** Requests delayed by a latency spike. */
  spikes = 0;

  /**
   * @param latencySpike Draws, per request, a delay in ms (0 for none): a slow network path.
   *   Sparse on purpose: every delay is a timer the simulation must wake.
   */
  /** Requests that hung until their deadline (a hung connection or a frozen server). */
  hung = 0;

  constructor(
    readonly inner: ObjectStore,
    readonly clock: ProcessClock,
    readonly latencySpike: () => number = () => 0,
    readonly stalls?: StoreStalls,
    /** The shared clock's time, for `stalls.frozenUntil`. */
    readonly now: () => number = () => 0,
  ) {
    this.description = `process(${inner.description})`;
  }

  async #gate<T>(request: () => Promise<T>, operation = 'request', key = ''): Promise<T> {
    if (this.clock.blocked) await this.clock.ready();
    const delay = this.latencySpike();
    if (delay > 0) {
      this.spikes++;
      await this.clock.sleep(delay);
    }
    if (this.stalls) await this.#stall(operation, key);
    let result: T;
    try {
      result = await request();
    } catch (error) {
      if (this.clock.blocked) await this.clock.ready();
      throw error;
    }
    if (this.clock.blocked) await this.clock.ready();
    return result;
  }

  /**
   * A hung request, or one sent to a frozen server, waits for an answer until its deadline and
   * then fails `STORE_UNAVAILABLE`, as `S3Store` does; a frozen server that thaws first answers
   * late. (Reads and writes alike are not applied when they time out: the conservative case for
   * liveness; lost write answers are `FaultyStore`'s `lostResponse`.)
   */
  async #stall(operation: string, key: string): Promise<void> {
    const stalls = this.stalls!;
    const hangs = stalls.hangs();
    const frozenFor = stalls.frozenUntil - this.now();
    if (!hangs && frozenFor <= 0) return;
    const wait = hangs ? REQUEST_DEADLINE_MS : Math.min(frozenFor, REQUEST_DEADLINE_MS);
    await this.clock.sleep(wait);
    if (hangs || stalls.frozenUntil > this.now()) {
      this.hung++;
      throw storeUnavailable(operation, key, { reason: `no answer within ${REQUEST_DEADLINE_MS} ms` });
    }
  }

  get(key: string, options?: ReadOptions) {
    return this.#gate(() => this.inner.get(key, options), 'get', key);
  }

  head(key: string, options?: ReadOptions) {
    return this.#gate(() => this.inner.head(key, options), 'head', key);
  }

  put(key: string, body: Uint8Array | string, options?: PutOptions) {
    return this.#gate(() => this.inner.put(key, body, options), 'put', key);
  }

  delete(key: string, options?: DeleteOptions) {
    return this.#gate(() => this.inner.delete(key, options), 'delete', key);
  }

  list(prefix: string, options?: ListOptions) {
    return this.#gate(() => this.inner.list(prefix, options), 'list', prefix);
  }
}
