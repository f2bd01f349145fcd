import { abortReason } from '../abort.js';
import { type Clock, normalizeDelay } from '../clock.js';
import { recordClock } from './failure-context.js';

interface PendingSleep {
  due: number;
  seq: number;
  resolve: () => void;
}

export interface ManualClockOptions {
  /** Initial wall-clock time (ms since epoch or a Date). Default 2026-01-01T00:00:00Z. */
  now?: number | Date;
}

/**
 * A clock that only moves when a test moves it. `advance(ms)` walks time forward, waking each
 * due sleeper in time order, at exactly its due time, and lets the work it started run (promise
 * chains, further sleeps that fall inside the same advance) before waking the next.
 */
export class ManualClock implements Clock {
  #wall: number;
  #mono = 0;
  #seq = 0;
  #sleepers: PendingSleep[] = [];

  constructor(options: ManualClockOptions | number | Date = {}) {
    const start = typeof options === 'number' || options instanceof Date ? options : options.now;
    this.#wall = start === undefined ? Date.UTC(2026, 0, 1) : Number(start);
    recordClock(this); // printed when a test fails (failure-context.ts)
  }

  now(): number {
    return this.#wall;
  }

  monotonic(): number {
    return this.#mono;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    // Whole milliseconds, as real timers have: wall time stays an integer, as Date.now() is.
    const delay = Math.ceil(normalizeDelay(ms));
    if (delay === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const entry: PendingSleep = {
        due: this.#mono + delay,
        seq: this.#seq++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.#remove(entry);
        reject(abortReason(signal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#insert(entry);
    });
  }

  /** Number of sleeps waiting for time to pass. */
  get pendingTimers(): number {
    return this.#sleepers.length;
  }

  /** Monotonic time at which the next sleeper wakes, or `undefined` when none waits. */
  nextTimerAt(): number | undefined {
    return this.#sleepers[0]?.due;
  }

  /**
   * Moves time forward by `ms`, waking due sleepers in order. Resolves once the work they
   * started has settled.
   */
  async advance(ms: number): Promise<void> {
    const target = this.#mono + normalizeDelay(ms);
    await this.settle();
    for (;;) {
      const next = this.#sleepers[0];
      if (!next || next.due > target) break;
      this.#sleepers.shift();
      this.#moveTo(next.due);
      next.resolve();
      await this.settle();
    }
    this.#moveTo(target);
    await this.settle();
  }

  /** Moves time to the wall-clock instant `at` (no-op if it has passed). */
  async advanceTo(at: number | Date): Promise<void> {
    await this.advance(Number(at) - this.#wall);
  }

  /** Advances to the next sleeper's due time and wakes it; returns false when none waits. */
  async runNext(): Promise<boolean> {
    const due = this.nextTimerAt();
    if (due === undefined) return false;
    await this.advance(due - this.#mono);
    return true;
  }

  /**
   * Jumps the wall clock without moving monotonic time, as NTP or a skewed host would. Sleepers
   * are unaffected, exactly as with real timers.
   */
  setWallTime(at: number | Date): void {
    this.#wall = Number(at);
  }

  /**
   * Lets pending promise chains and immediates run. Several macrotask turns are taken so that
   * chains of awaits (store calls, event handlers) complete before time moves on.
   */
  async settle(turns = 25): Promise<void> {
    for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  #moveTo(mono: number): void {
    if (mono <= this.#mono) return;
    this.#wall += mono - this.#mono;
    this.#mono = mono;
  }

  #insert(entry: PendingSleep): void {
    // Binary search keeps sleepers ordered by due time, then by creation order.
    let low = 0;
    let high = this.#sleepers.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const other = this.#sleepers[mid]!;
      if (other.due < entry.due || (other.due === entry.due && other.seq < entry.seq)) low = mid + 1;
      else high = mid;
    }
    this.#sleepers.splice(low, 0, entry);
  }

  #remove(entry: PendingSleep): void {
    const index = this.#sleepers.indexOf(entry);
    if (index >= 0) this.#sleepers.splice(index, 1);
  }
}
