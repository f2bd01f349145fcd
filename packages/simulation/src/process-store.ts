import type { DeleteOptions, ListOptions, ObjectStore, PutOptions, ReadOptions } from '@s3-scheduler/storage';
import type { ProcessClock } from './sim-clock.js';

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
  constructor(
    readonly inner: ObjectStore,
    readonly clock: ProcessClock,
    readonly latencySpike: () => number = () => 0,
  ) {
    this.description = `process(${inner.description})`;
  }

  async #gate<T>(request: () => Promise<T>): Promise<T> {
    if (this.clock.blocked) await this.clock.ready();
    const delay = this.latencySpike();
    if (delay > 0) {
      this.spikes++;
      await this.clock.sleep(delay);
    }
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

  get(key: string, options?: ReadOptions) {
    return this.#gate(() => this.inner.get(key, options));
  }

  head(key: string, options?: ReadOptions) {
    return this.#gate(() => this.inner.head(key, options));
  }

  put(key: string, body: Uint8Array | string, options?: PutOptions) {
    return this.#gate(() => this.inner.put(key, body, options));
  }

  delete(key: string, options?: DeleteOptions) {
    return this.#gate(() => this.inner.delete(key, options));
  }

  list(prefix: string, options?: ListOptions) {
    return this.#gate(() => this.inner.list(prefix, options));
  }
}
