import type { DeleteOptions, ListOptions, ObjectStore, PutOptions, ReadOptions } from '@s3-scheduler/storage';

/**
 * A view of a shared store for one simulated process. After `kill()` every request hangs
 * forever, as the requests of a process that died never complete: it writes nothing more,
 * releases nothing, and its leases run out. `pause()` holds requests back until `resume()`,
 * as a long GC pause or a network partition would.
 */
export class KillableStore implements ObjectStore {
  readonly description: string;
  #killed = false;
  #inflight = 0;
  #paused: Array<() => void> | undefined;

  constructor(readonly inner: ObjectStore) {
    this.description = inner.description;
  }

  /** Requests sent and not yet answered (hung requests of a killed store are not counted). */
  get inflight(): number {
    return this.#inflight;
  }

  get killed(): boolean {
    return this.#killed;
  }

  kill(): void {
    this.#killed = true;
  }

  pause(): void {
    this.#paused ??= [];
  }

  resume(): void {
    const waiting = this.#paused ?? [];
    this.#paused = undefined;
    for (const release of waiting) release();
  }

  async #gate<T>(request: () => Promise<T>): Promise<T> {
    if (this.#killed) return new Promise<T>(() => undefined);
    if (this.#paused) await new Promise<void>((release) => this.#paused!.push(release));
    if (this.#killed) return new Promise<T>(() => undefined);
    this.#inflight++;
    try {
      return await request();
    } finally {
      this.#inflight--;
    }
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
