import type { Clock } from '@s3-scheduler/core';

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

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
