import type { Clock } from '@s3-scheduler/core';

/** A deadline waiting in `Deadlines`: `fire` is called once the clock's monotonic time reaches `at`. */
export interface Deadline {
  /** Monotonic ms. */
  readonly at: number;
  readonly fire: () => void;
}

/** The reason the shared sleep is stopped with: one value, not a new DOMException per re-arm. */
const STOPPED = Symbol('stopped');

/**
 * The attempt timeouts of one executor on one clock sleep, instead of a timer (and an abort
 * controller to stop it) per attempt: at a thousand attempts a second those were a fifth of the
 * executor's cost. Deadlines are kept per timeout length in insertion order; since monotonic time
 * only moves forward, each such queue is sorted by deadline, so adding and removing cost O(1)
 * and the earliest deadline is the earliest head. The sleep targets the earliest deadline known
 * when it was armed: removing a head does not re-arm (a sleep that wakes early only re-arms),
 * adding an earlier one does, and the sleep stops as soon as no deadline is left, so an idle
 * executor holds no timer.
 */
export class Deadlines {
  readonly #clock: Clock;
  /** Timeout length (ms) → deadlines of that length, oldest first. */
  readonly #queues = new Map<number, Set<Deadline>>();
  #size = 0;
  /** The deadline the current sleep wakes at, and the controller that stops it. */
  #armedAt = Number.POSITIVE_INFINITY;
  #stop: AbortController | undefined;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Calls `fire` once `timeoutMs` (> 0, finite) have passed from monotonic `start`, unless removed first. */
  add(start: number, timeoutMs: number, fire: () => void): Deadline {
    const deadline: Deadline = { at: start + timeoutMs, fire };
    let queue = this.#queues.get(timeoutMs);
    if (!queue) {
      queue = new Set();
      this.#queues.set(timeoutMs, queue);
    }
    queue.add(deadline);
    this.#size++;
    if (deadline.at < this.#armedAt) this.#arm(deadline.at);
    return deadline;
  }

  /** Forgets a deadline that has not fired (a no-op for one that has). */
  remove(deadline: Deadline, timeoutMs: number): void {
    const queue = this.#queues.get(timeoutMs);
    if (!queue?.delete(deadline)) return;
    this.#size--;
    if (queue.size === 0) this.#queues.delete(timeoutMs);
    if (this.#size === 0) this.#disarm();
  }

  #arm(at: number): void {
    this.#disarm();
    const stop = new AbortController();
    this.#stop = stop;
    this.#armedAt = at;
    this.#clock.sleep(Math.max(0, at - this.#clock.monotonic()), stop.signal).then(
      () => {
        if (this.#stop !== stop) return;
        this.#stop = undefined;
        this.#armedAt = Number.POSITIVE_INFINITY;
        this.#wake();
      },
      () => {}, // stopped: re-armed or nothing left to wait for
    );
  }

  #disarm(): void {
    const stop = this.#stop;
    if (!stop) return;
    this.#stop = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
    stop.abort(STOPPED);
  }

  /** Fires every deadline that has passed, oldest first per length, then sleeps until the next. */
  #wake(): void {
    const now = this.#clock.monotonic();
    const due: Deadline[] = [];
    for (const [timeoutMs, queue] of this.#queues) {
      for (const deadline of queue) {
        if (deadline.at > now) break;
        queue.delete(deadline);
        this.#size--;
        due.push(deadline);
      }
      if (queue.size === 0) this.#queues.delete(timeoutMs);
    }
    due.sort((a, b) => a.at - b.at);
    let next = Number.POSITIVE_INFINITY;
    for (const queue of this.#queues.values()) {
      const head = queue.values().next().value;
      if (head && head.at < next) next = head.at;
    }
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next);
    for (const deadline of due) deadline.fire();
  }
}
