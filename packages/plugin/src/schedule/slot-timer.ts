import type { Clock } from '@s3-scheduler/core';
import type { JobRegistry } from '../jobs/job-registry.js';
import type { JobState } from '../jobs/job-state.js';
import { type DueEntry, DueHeap } from './due-heap.js';
import { fireTime, nextSlot } from './slot-math.js';

/** The scheduler re-reads the wall clock at least this often, so a clock jump is noticed. */
const MAX_TIMER_SLEEP_MS = 60_000;

/**
 * The one timer of an instance: every job's next slot in a due-heap, one sleep until the
 * earliest, never past it, never early. Its only outward call is `onDue` ("this slot is due").
 */
export class SlotTimer {
  readonly #heap = new DueHeap();
  /** The last generation given to a job's heap entries (see `schedule`). */
  #generations = 0;
  #wake: AbortController | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly jobs: JobRegistry,
    private readonly onDue: (state: JobState, entry: DueEntry, now: number) => void,
  ) {}

  /** Computes the job's next slot from `now` and queues it; the timer is re-armed. */
  schedule(state: JobState, now: number): void {
    // Plugin-wide, not per job: a job removed and added again under the same name must not find
    // the old job's heap entries current.
    state.startGeneration(++this.#generations);
    const runnable = state.def.enabled && !state.paused && !state.removed;
    this.queue(state, runnable ? nextSlot(state.def, now) : null);
    this.rearm();
  }

  /** Puts the job's next slot in the heap, at its fire time (later than the slot with `jitter`). */
  queue(state: JobState, slot: number | null): void {
    const at = slot === null ? null : fireTime(state.def, slot);
    state.setNext(slot, at);
    if (slot !== null && at !== null) {
      this.#heap.push({ at, slot, job: state.def.name, generation: state.generation });
    }
  }

  /** Wakes the timer to look at the heap again (an entry was added or went stale). */
  rearm(): void {
    this.#wake?.abort();
  }

  clear(): void {
    this.#heap.clear();
  }

  /** Runs until `stop` aborts: sleeps until the earliest due slot and hands it to `onDue`. */
  async run(stop: AbortSignal): Promise<void> {
    while (!stop.aborted) {
      const entry = this.#heap.peek();
      if (entry && this.jobs.find(entry.job)?.generation !== entry.generation) {
        this.#heap.pop();
        continue;
      }
      const now = this.clock.now();
      if (entry && entry.at <= now) {
        this.#heap.pop();
        this.onDue(this.jobs.find(entry.job)!, entry, now);
        continue;
      }
      const wake = new AbortController();
      this.#wake = wake;
      const wait = entry ? Math.min(entry.at - now, MAX_TIMER_SLEEP_MS) : MAX_TIMER_SLEEP_MS;
      await this.clock.sleep(wait, wake.signal).catch(() => undefined);
    }
  }
}
