import type { Clock } from '@s3-scheduler/core';
import { ManualClock, SkewedClock } from '@s3-scheduler/core/testing';

/**
 * The one clock of a simulated cluster. `ManualClock.advance` lets the work each woken sleeper
 * started settle before it wakes the next; the default 25 macrotask turns per wake would cost
 * more than everything else in a 200-day run. The memory store and every wrapper above it
 * answer in microtasks, which one turn drains, so a few turns are plenty; work that is still
 * pending simply continues at the next wake, deterministically.
 */
export class SimClock extends ManualClock {
  constructor(
    now: number,
    readonly settleTurns = 3,
  ) {
    super({ now });
  }

  override async settle(turns = this.settleTurns): Promise<void> {
    await super.settle(turns);
  }

  /**
   * Whole milliseconds only: `FaultyStore` draws fractional latencies, and a fractional wall
   * clock makes the history refuse every timestamp (`'startedAt' is not a valid instant`).
   */
  override sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return super.sleep(Math.ceil(ms), signal);
  }
}

/**
 * A promise that never settles. A fresh one each time: a shared one would collect the reactions
 * of every hung request and timer, and keep every crashed process reachable forever.
 */
function never(): Promise<never> {
  return new Promise<never>(() => undefined);
}

/**
 * One simulated process's view of time: the shared clock with a skew on its wall time (as a
 * host with a wrong clock), and sleeps that stop when the process crashes (they never wake) or
 * wait out a pause (a stop-the-world GC pause: timers that came due fire when it ends).
 * Monotonic time keeps running through a pause, as on a real host.
 */
export class ProcessClock extends SkewedClock {
  #dead = false;
  #pause: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(base: Clock, skewMs: number) {
    super(base, skewMs);
  }

  get dead(): boolean {
    return this.#dead;
  }

  get paused(): boolean {
    return this.#pause !== undefined;
  }

  /** True when a request or a timer of this process must wait (paused) or never return (dead). */
  get blocked(): boolean {
    return this.#dead || this.#pause !== undefined;
  }

  kill(): void {
    this.#dead = true;
    this.#pause?.resolve();
    this.#pause = undefined;
  }

  pause(): void {
    if (this.#dead || this.#pause) return;
    let resolve!: () => void;
    const promise = new Promise<void>((done) => {
      resolve = done;
    });
    this.#pause = { promise, resolve };
  }

  resume(): void {
    const pause = this.#pause;
    this.#pause = undefined;
    pause?.resolve();
  }

  /** Resolves when the process runs again; never when it is dead. */
  async ready(): Promise<void> {
    while (this.blocked) {
      if (this.#dead) return never();
      await this.#pause!.promise;
    }
  }

  override sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.#dead) return never();
    const slept = super.sleep(ms, signal);
    return slept.then(() => (this.blocked ? this.ready() : undefined));
  }
}
