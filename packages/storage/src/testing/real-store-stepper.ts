import type { ManualClock } from '@s3-scheduler/core/testing';
import type { GatedStore } from './gated-store.js';

/**
 * Drives a `ManualClock` for tests against a real server: time moves from timer to timer (at
 * most `stepMs` at once), and before it moves on, every request in flight through the given
 * `GatedStore`s is answered. A slow server or a busy machine then costs wall time, never
 * simulated time, so timing assertions in simulated ms hold on any machine; the requests still
 * go to the real server, with its real conditional-write semantics.
 *
 * ```ts
 * const clock = new ManualClock();
 * const gates = [new GatedStore(s3), new GatedStore(s3)];
 * const time = new RealStoreStepper(clock, () => gates);
 * const took = await time.until(() => leaders().length === 1, 5_000); // simulated ms
 * ```
 */
export class RealStoreStepper {
  constructor(
    readonly clock: ManualClock,
    readonly gates: () => Iterable<GatedStore>,
    readonly stepMs = 50,
  ) {}

  /** Resolves once no request is in flight, three checks in a row (answers start new work). */
  async settle(): Promise<void> {
    for (let quiet = 0; quiet < 3; ) {
      await this.clock.settle(5);
      quiet = [...this.gates()].every((gate) => gate.inflight === 0) ? quiet + 1 : 0;
    }
  }

  /** Moves simulated time forward by `ms`, waiting for the server at every timer. */
  async advance(ms: number): Promise<void> {
    const target = this.clock.monotonic() + ms;
    await this.settle();
    while (this.clock.monotonic() < target) {
      const next = this.clock.nextTimerAt() ?? target;
      const step = Math.min(target, next, this.clock.monotonic() + this.stepMs) - this.clock.monotonic();
      await this.clock.advance(Math.max(step, 0));
      await this.settle();
    }
  }

  /**
   * Moves time until `condition()` holds; returns the simulated ms it took. Throws, naming the
   * simulated time, when it does not hold within `limitMs` of simulated time.
   */
  async until(condition: () => boolean, limitMs: number): Promise<number> {
    const started = this.clock.monotonic();
    await this.settle();
    while (!condition()) {
      const elapsed = this.clock.monotonic() - started;
      if (elapsed > limitMs) {
        throw new Error(
          `condition not met within ${limitMs} simulated ms (clock at ${new Date(this.clock.now()).toISOString()})`,
        );
      }
      await this.advance(Math.min(this.stepMs, limitMs + 1 - elapsed));
    }
    return this.clock.monotonic() - started;
  }

  /** Moves time until `promise` settles (a `stop()` that sleeps, an `acquire` that waits). */
  async drive<T>(promise: Promise<T>, limitMs = 600_000): Promise<T> {
    let settled = false;
    const done = promise.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    await this.until(() => settled, limitMs);
    await done;
    return promise;
  }
}
