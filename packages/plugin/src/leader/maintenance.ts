import type { SchedulerError } from '@s3-scheduler/core';
import { takeUpDocument } from '../jobs/job-controls.js';
import type { JobDocument } from '../jobs/job-document.js';
import type { JobState } from '../jobs/job-state.js';
import { takeCancelRequests } from '../runs/cancel-requests.js';
import type { Dispatcher } from '../runs/dispatcher.js';
import { followRemoteRunsOf } from '../runs/remote-runs.js';
import type { Runtime } from '../runtime.js';
import type { SlotTimer } from '../schedule/slot-timer.js';
import { ChangeWatch, SWEEP_HEARTBEATS } from '../store/change-signal.js';
import type { Recovery } from './recovery.js';

/**
 * Statistics deltas waiting this long are written at the next heartbeat: history's timer
 * (`statsFlushIntervalMs`, 5 minutes) only fires when the shard's next run arrives, so a job that
 * ran a few times by hand and stopped would otherwise show none of those runs.
 */
const STATS_MAX_PENDING_MS = 5 * 60_000;

/** A follower lists `jobs/` at least this often (heartbeats), whatever the leader's digest says. */
export const FOLLOWER_LIST_HEARTBEATS = 20;

/** The lease data key under which the leader publishes the digest of the job documents it knows. */
export const JOBS_DIGEST_KEY = 'jobs';

/**
 * Every heartbeat: flush statistics, take up job changes made on other instances, act on
 * cancel requests for runs here; the leader also recovers runs of departed instances, follows
 * runs elsewhere, drains buffers and applies retention every `cleanupInterval`.
 *
 * Job documents cost no listing when nothing changed. The leader lists `jobs/` when the change
 * signal moved (one HEAD per heartbeat), at its first heartbeat, and every `SWEEP_HEARTBEATS`;
 * it publishes the digest of the versions it knows in its lease (`JOBS_DIGEST_KEY`). A follower
 * lists only when that digest differs from its own (or none is published), and every
 * `FOLLOWER_LIST_HEARTBEATS`: it never knows less than the leader did a renewal ago.
 */
export class Maintenance {
  #lastCleanupAt: number | undefined;
  /** The job documents as the leader last listed them, against the change signal. */
  readonly #documents = new ChangeWatch();
  /** Heartbeats as leader since the last list of `jobs/` whatever the signal said. */
  #sinceSweep = 0;
  /** Heartbeats as follower since the last list of `jobs/`. */
  #sinceList = 0;

  constructor(
    private readonly runtime: Runtime,
    private readonly timer: SlotTimer,
    private readonly dispatcher: Dispatcher,
    private readonly recovery: Recovery,
    /**
     * Called at each heartbeat while leading (operator requests, the job catalog) with the change
     * signal as read at this heartbeat (`undefined`: unreadable) and whether this is a sweep.
     */
    private readonly onLeaderHeartbeat: (signal: string | null | undefined, sweep: boolean) => void = () =>
      undefined,
  ) {}

  async run(stop: AbortSignal): Promise<void> {
    while (!stop.aborted) {
      await this.runtime.clock.sleep(this.runtime.options.heartbeatInterval, stop).catch(() => undefined);
      if (stop.aborted) return;
      await this.#maintain().catch((error: unknown) => this.runtime.reportError('maintenance', error));
    }
  }

  async #maintain(): Promise<void> {
    const { runtime } = this;
    // Statistics are batched in history (written on a timer, one document per shard); here the
    // deltas left waiting (a job that stopped running) are written.
    await runtime.store.historyIfOpen
      ?.flushStatistics({ pendingForMs: STATS_MAX_PENDING_MS })
      .catch((error: unknown) => runtime.reportError('statistics', error));
    const { documents } = runtime.store;
    await documents.announceOwed();
    const leading = runtime.leader.isLeader();
    const signal = leading ? await documents.changeSignal().catch(() => undefined) : undefined;
    const sweep = leading && ++this.#sinceSweep >= SWEEP_HEARTBEATS;
    if (sweep) this.#sinceSweep = 0;
    if (leading) {
      if (sweep || documents.behind || this.#documents.moved(signal)) await this.#syncDocuments(signal);
    } else {
      const published = runtime.leader.coordinator?.getLeaseData()?.[JOBS_DIGEST_KEY];
      const list =
        typeof published !== 'string' ||
        published !== documents.digest() ||
        ++this.#sinceList >= FOLLOWER_LIST_HEARTBEATS;
      // Unlisted, it still reads the documents whose version it lost track of (a failed write).
      await this.#syncDocuments(undefined, list);
    }
    await takeCancelRequests(runtime);
    const departed = this.recovery.noteDepartures();
    if (!runtime.leader.isLeader()) return;
    this.onLeaderHeartbeat(signal, sweep);
    if (departed) await this.recovery.recoverDeparted();
    await followRemoteRunsOf(runtime);
    for (const state of runtime.jobs.values()) await this.dispatcher.drainBuffer(state);
    await this.#applyRetention();
  }

  /** Leading from now: job documents are listed at the next heartbeat whatever the signal says. */
  promoted(): void {
    this.#documents.invalidate();
    this.#sinceSweep = 0;
  }

  /**
   * Takes up job documents other instances wrote (overrides, pause, buffer, removal): one list,
   * whatever the change signal or digest say (start). Throws what the store throws.
   */
  async syncDocuments(): Promise<void> {
    const signal = await this.runtime.store.documents.changeSignal().catch(() => undefined);
    await this.#syncDocuments(signal);
  }

  /** Lists (unless `list` is false) and applies what changed; `signal`: as read before the list. */
  async #syncDocuments(signal: string | null | undefined, list = true): Promise<void> {
    const corrupted = (error: SchedulerError) =>
      this.runtime.reportError('syncJob', error, error.metadata?.jobName as string | undefined);
    if (list) {
      this.#documents.invalidate(); // until this list has completed
      this.#sinceList = 0;
    }
    const changed = await this.runtime.store.documents.changed(corrupted, { list });
    if (list) this.#documents.listed(signal);
    for (const doc of changed) {
      const state = this.runtime.jobs.find(doc.name);
      if (state) this.#applyDocument(state, doc);
    }
  }

  #applyDocument(state: JobState, doc: JobDocument): void {
    takeUpDocument(this.runtime, state, doc);
    if (this.runtime.leader.started) this.timer.schedule(state, this.runtime.clock.now());
  }

  async #applyRetention(): Promise<void> {
    const { clock, options, store, events } = this.runtime;
    const now = clock.now();
    if (options.historyRetention === 0 || options.cleanupInterval === 0) return;
    if (this.#lastCleanupAt !== undefined && now - this.#lastCleanupAt < options.cleanupInterval) return;
    this.#lastCleanupAt = now;
    try {
      const olderThan = now - options.historyRetention;
      const result = await store.history.cleanup({ olderThan });
      events.emit('plg:scheduler:history-cleanup', {
        deleted: result.deleted,
        partitions: result.partitions,
        olderThan: new Date(olderThan).toISOString(),
      });
    } catch (error) {
      this.runtime.reportError('cleanup', error);
    }
  }
}
