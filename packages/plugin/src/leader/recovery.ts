import { runWithConcurrency, SchedulerError } from '@s3-scheduler/core';
import type { RunHandle, RunRecord } from '@s3-scheduler/history';
import { isPreconditionFailed } from '@s3-scheduler/storage';
import type { JobState } from '../jobs/job-state.js';
import { retryLater } from '../runs/retry-later.js';
import type { Runtime } from '../runtime.js';
import { recentlyDue } from '../schedule/slot-math.js';

/** Claims sent at once while sweeping every job (promotion, catch-up, departures). */
export const SWEEP_CONCURRENCY = 16;

/**
 * The leader's recovery of runs orphaned by a vanished instance: recorded `abandoned`, or
 * claimed again and run here with `recovery: 'rerun'`. Also knows which instances are alive
 * as far as run ownership goes, and which left since the last heartbeat.
 */
export class Recovery {
  /** Instances seen alive at the last heartbeat, to notice those that left. */
  #lastActive = new Set<string>();
  /** The leader this instance took over from in its current term. */
  #previousLeader: string | null = null;
  /** The leader of the latest term this instance saw begin. */
  #lastSeenLeader: string | null = null;
  /**
   * A departure not acted on yet: noted while this instance followed, or its recovery failed (a
   * sweep the store refused, a 409 in simulation seed 322). The leader looks again at its next
   * heartbeat; before, the departure was forgotten and its runs stayed `running` for good.
   */
  #pending = false;

  constructor(
    private readonly runtime: Runtime,
    /** Starts a re-claimed run here (not awaited). */
    private readonly start: (state: JobState, handle: RunHandle) => void,
  ) {}

  /** A term began (`coordinator-elected`): remembers whom this instance takes over from. */
  noteElected(workerId: string, previousWorkerId: string | null | undefined): void {
    if (workerId === this.runtime.workerId) {
      this.#previousLeader = previousWorkerId ?? this.#lastSeenLeader;
    }
    this.#lastSeenLeader = workerId;
  }

  /**
   * A slot found `running` under an instance that is no longer alive was orphaned by a crash:
   * it is recorded `abandoned`, or claimed again for another attempt with `recovery: 'rerun'`.
   * Only the leader decides, and only about instances the coordinator no longer sees.
   */
  async recoverIfOrphaned(state: JobState, existing: RunHandle, attempt = 1): Promise<void> {
    const { leader, workerId, store } = this.runtime;
    const record = existing.record;
    if (record.status !== 'running' || !leader.coordinator || !leader.isLeader()) return;
    if (record.workerId === workerId && state.running.has(record.runId)) return;
    if (this.holderAlive(record)) return;
    const history = store.history;
    const action = state.def.recovery;
    try {
      if (action === 'rerun') {
        const reclaimed = await history.reclaim(existing, { workerId, epoch: leader.epoch });
        state.counters.abandoned++;
        this.#emitAbandoned(record, action);
        this.start(state, reclaimed);
        return;
      }
      await history.finish(existing, {
        status: 'abandoned',
        error: new SchedulerError(`Instance ${record.workerId} stopped while running this slot`, {
          code: 'JOB_CANCELLED',
          operation: 'recover',
          metadata: { workerId: record.workerId, runId: record.runId },
        }),
      });
      state.counters.abandoned++;
      this.#emitAbandoned(record, action);
    } catch (error) {
      if (isPreconditionFailed(error)) return;
      // Looked at again at the next leader heartbeat too (the sweep); before that, tried again
      // after a back-off: with a heartbeat between attempts, two refusals in a row (a store
      // answering 503 and 409 to one request in ten) left a run `running` under a dead instance
      // for minutes (simulation seed 316 of the fresh range).
      this.#pending = true;
      this.runtime.reportError('recover', error, state.def.name);
      this.#retryLater(state, existing.key, attempt);
    }
  }

  /**
   * Reads the run at `key` again after a back-off (1 s, 2 s, 4 s … 30 s) and recovers it if it
   * is still orphaned, while this instance leads. A concurrent recovery of the same run (the
   * heartbeat's sweep) is harmless: the writes are conditional, and the loser stops.
   */
  #retryLater(state: JobState, key: string, attempt: number): void {
    retryLater(this.runtime, attempt, async () => {
      const handle = await this.runtime.store.history.read(key).catch((error: unknown) => {
        this.runtime.reportError('recover', error, state.def.name);
        this.#retryLater(state, key, attempt + 1);
        return null;
      });
      if (handle) await this.recoverIfOrphaned(state, handle, attempt + 1);
    });
  }

  #emitAbandoned(record: RunHandle['record'], action: 'abandon' | 'rerun'): void {
    this.runtime.events.emit('plg:scheduler:job-abandoned', {
      jobName: record.job,
      slot: record.slot,
      runId: record.runId,
      previousWorkerId: record.workerId,
      action,
      workerId: this.runtime.workerId,
      epoch: this.runtime.leader.epoch,
    });
  }

  /** Recovers the `running` records among `runs` whose instance is gone (see `recoverIfOrphaned`). */
  async recoverRuns(state: JobState, runs: readonly RunRecord[]): Promise<void> {
    for (const run of runs) {
      if (run.status !== 'running' || this.holderAlive(run)) continue;
      const handle = await this.runtime.store.history.read(run.key);
      if (handle) await this.recoverIfOrphaned(state, handle);
    }
  }

  /**
   * Whether the instance holding a `running` record may still be running it: another instance
   * the coordinator sees alive — except the leader this one took over from, for runs it claimed
   * under an older epoch: its lease ran out or was given up, so its runs are orphans even while
   * its last heartbeat still looks fresh. A leader that released its lease (a graceful stop) is
   * the exception: it heartbeats on while it drains its runs, and they are its own until it is gone.
   */
  holderAlive(record: RunRecord): boolean {
    const { leader, workerId } = this.runtime;
    if (record.workerId === null || record.workerId === workerId) return false;
    if (
      record.workerId === this.#previousLeader &&
      (record.epoch ?? 0) < leader.epoch &&
      !leader.coordinator?.tookOverByRelease(record.workerId)
    )
      return false;
    return leader.getActiveWorkers(workerId).includes(record.workerId);
  }

  /**
   * Whether an instance seen alive at the last heartbeat is gone (noted as follower too), or an
   * earlier departure still waits for the leader's recovery (`recoverDeparted` has not run since,
   * or failed).
   */
  noteDepartures(): boolean {
    const active = new Set(this.runtime.leader.getActiveWorkers(this.runtime.workerId));
    const departed = [...this.#lastActive].some((workerId) => !active.has(workerId));
    this.#lastActive = active;
    if (departed) this.#pending = true;
    return this.#pending;
  }

  /**
   * When instances leave the cluster, the leader looks again at the jobs that were due lately,
   * for runs those instances left `running`: a holder that died just before a promotion still
   * looked alive then, and a run whose final write failed stays `running` until recovered.
   */
  async recoverDeparted(): Promise<void> {
    this.#pending = false;
    const now = this.runtime.clock.now();
    const work: Array<() => Promise<void>> = [];
    for (const state of this.runtime.jobs.values()) {
      if (!state.def.cron || !recentlyDue(state.def, now)) continue;
      work.push(async () => {
        try {
          const page = await this.runtime.store.history.query(state.def.name, {
            limit: 10,
            status: 'running',
          });
          await this.recoverRuns(state, page.runs);
        } catch (error) {
          this.#pending = true; // looked at again at the next leader heartbeat
          throw error;
        }
      });
    }
    await runWithConcurrency(work, SWEEP_CONCURRENCY);
  }
}
