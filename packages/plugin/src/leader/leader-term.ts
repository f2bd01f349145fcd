import { setMaxListeners } from 'node:events';
import type { Coordinator } from '@s3-scheduler/coordinator';

/**
 * This instance's view of leadership: whether it leads now, under which epoch, and whether
 * leader-only work may go on. With a coordinator, a term is the coordinator's lease; without one,
 * the instance leads from start to stop. Leader-only work asks `leading`, false as soon as the
 * plugin begins to stop or the term ends: the one place the "still leading, not stopping?"
 * question is answered.
 */
export class LeaderTerm {
  #coordinator: Coordinator | undefined;
  #started = false;
  #stop: AbortController | undefined;
  #resigning = false;
  /** Runs marked active for a hand-over; their markers are cleared when they end. */
  readonly markedForHandOver = new Set<string>();

  /** The plugin has started: from now it fires slots while it leads. */
  open(): AbortSignal {
    this.#started = true;
    this.#stop = new AbortController();
    // Every wait of leader-only work listens to it (a retry per slot owed during an outage): more
    // than ten is normal, not a leak, and must not print Node's MaxListenersExceededWarning.
    setMaxListeners(0, this.#stop.signal);
    return this.#stop.signal;
  }

  /** Leadership is decided by `coordinator` (until `forgetCoordinator`). */
  useCoordinator(coordinator: Coordinator): void {
    this.#coordinator = coordinator;
  }

  get coordinator(): Coordinator | undefined {
    return this.#coordinator;
  }

  forgetCoordinator(): void {
    this.#coordinator = undefined;
  }

  /** The plugin begins to stop: leader-only work ends (it still counts as started). */
  beginStop(): void {
    this.#stop?.abort();
  }

  /** The plugin has stopped. */
  close(): void {
    this.#started = false;
    this.#resigning = false;
  }

  /**
   * This leader is about to hand over: its runs, running and still started, are marked active
   * so the successor's overlap policy sees them (a leader's own runs have no marker).
   */
  beginResign(): void {
    this.#resigning = true;
  }

  get resigning(): boolean {
    return this.#resigning;
  }

  get started(): boolean {
    return this.#started;
  }

  /** Aborted once the plugin begins to stop; what sleeps on it wakes. */
  get stopSignal(): AbortSignal | undefined {
    return this.#stop?.signal;
  }

  /** Whether the plugin is stopping (leader-only work must not begin). */
  get stopping(): boolean {
    return this.#started && (this.#stop?.signal.aborted ?? false);
  }

  /** True while this instance fires scheduled slots (always while started, without a coordinator). */
  isLeader(): boolean {
    return this.#started && (this.#coordinator ? this.#coordinator.isLeader() : true);
  }

  /** Leads and is not stopping: leader-only work may go on. */
  get leading(): boolean {
    return !this.stopping && this.isLeader();
  }

  get epoch(): number {
    return this.#coordinator?.getEpoch() ?? 0;
  }

  getLeader(workerId: string): string | null {
    if (!this.#started) return null;
    return this.#coordinator ? this.#coordinator.getLeader() : workerId;
  }

  getActiveWorkers(workerId: string): string[] {
    return this.#coordinator?.getActiveWorkers() ?? (this.#started ? [workerId] : []);
  }
}
