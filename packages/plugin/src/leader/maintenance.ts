import type { SchedulerError } from '@s3-scheduler/core';
import { takeUpDocument } from '../jobs/job-controls.js';
import type { JobDocument } from '../jobs/job-document.js';
import type { JobState } from '../jobs/job-state.js';
import { takeCancelRequests } from '../runs/cancel-requests.js';
import type { Dispatcher } from '../runs/dispatcher.js';
import { followRemoteRunsOf } from '../runs/remote-runs.js';
import type { Runtime } from '../runtime.js';
import type { SlotTimer } from '../schedule/slot-timer.js';
import type { Recovery } from './recovery.js';

/**
 * Statistics deltas waiting this long are written at the next heartbeat: history's timer
 * (`statsFlushIntervalMs`, 5 minutes) only fires when the shard's next run arrives, so a job that
 * ran a few times by hand and stopped would otherwise show none of those runs.
 */
const STATS_MAX_PENDING_MS = 5 * 60_000;

/**
 * Every heartbeat: flush statistics, take up job changes made on other instances, act on
 * cancel requests for runs here; the leader also recovers runs of departed instances, follows
 * runs elsewhere, drains buffers and applies retention every `cleanupInterval`.
 */
export class Maintenance {
  #lastCleanupAt: number | undefined;

  constructor(
    private readonly runtime: Runtime,
    private readonly timer: SlotTimer,
    private readonly dispatcher: Dispatcher,
    private readonly recovery: Recovery,
    /** Called at each heartbeat while leading (operator requests, the job catalog). */
    private readonly onLeaderHeartbeat: () => void = () => undefined,
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
    await this.syncDocuments();
    await takeCancelRequests(runtime);
    const departed = this.recovery.noteDepartures();
    if (!runtime.leader.isLeader()) return;
    this.onLeaderHeartbeat();
    if (departed) await this.recovery.recoverDeparted();
    await followRemoteRunsOf(runtime);
    for (const state of runtime.jobs.values()) await this.dispatcher.drainBuffer(state);
    await this.#applyRetention();
  }

  /** Takes up job documents other instances wrote: overrides, pause, buffer, removal. */
  async syncDocuments(): Promise<void> {
    const corrupted = (error: SchedulerError) =>
      this.runtime.reportError('syncJob', error, error.metadata?.jobName as string | undefined);
    for (const doc of await this.runtime.store.documents.changed(corrupted)) {
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
