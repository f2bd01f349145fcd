import type { Clock } from '@s3-scheduler/core';
import type { DeleteOptions, ListOptions, ObjectStore, PutOptions, ReadOptions } from '@s3-scheduler/storage';

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

/**
 * One simulated process's view of the shared store. `kill()` makes every request, sent or still
 * to come, hang forever, as those of a process that died: it writes nothing more, releases
 * nothing, and its leases run out. `pause(ms)` holds every request and every answer until the
 * pause ends, as a long GC pause or a network partition would; then they go through late.
 */
export class FaultyInstanceStore implements ObjectStore {
  readonly description: string;
  #killed = false;
  #resume: Promise<void> | undefined;
  #release: (() => void) | undefined;

  constructor(readonly inner: ObjectStore) {
    this.description = inner.description;
  }

  get killed(): boolean {
    return this.#killed;
  }

  get paused(): boolean {
    return this.#resume !== undefined;
  }

  kill(): void {
    this.#killed = true;
  }

  /** Holds requests until `unpause()`. */
  pause(): void {
    if (this.#resume) return;
    this.#resume = new Promise<void>((resolve) => {
      this.#release = resolve;
    });
  }

  unpause(): void {
    const release = this.#release;
    this.#resume = undefined;
    this.#release = undefined;
    release?.();
  }

  async #gate<T>(request: () => Promise<T>): Promise<T> {
    await this.#wait();
    const result = await request();
    await this.#wait();
    return result;
  }

  async #wait(): Promise<void> {
    while (this.#resume && !this.#killed) await this.#resume;
    if (this.#killed) await never();
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

/**
 * A clock whose timers all stop for good at `kill()`: sleeps already waiting never wake and new
 * ones never end, so the instance's heartbeat, timer and retry loops stop as a dead process's
 * do. Its timers are cancelled, so a killed instance keeps nothing alive.
 */
export class KillableClock implements Clock {
  readonly #inner: Clock;
  readonly #sleepers = new Set<AbortController>();
  #killed = false;

  constructor(inner: Clock) {
    this.#inner = inner;
  }

  now(): number {
    return this.#inner.now();
  }

  monotonic(): number {
    return this.#inner.monotonic();
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.#killed) return never();
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    this.#sleepers.add(controller);
    try {
      await this.#inner.sleep(ms, controller.signal);
    } catch (error) {
      if (this.#killed) return never();
      throw error;
    } finally {
      this.#sleepers.delete(controller);
      signal?.removeEventListener('abort', onAbort);
    }
    if (this.#killed) return never();
  }

  kill(): void {
    this.#killed = true;
    for (const sleeper of this.#sleepers) sleeper.abort();
    this.#sleepers.clear();
  }
}
