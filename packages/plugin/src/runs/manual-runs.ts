import { createRunId, SchedulerError } from '@s3-scheduler/core';
import type { RunOutcome } from '@s3-scheduler/executor';
import type { HistoryStore } from '@s3-scheduler/history';
import type { JobState } from '../jobs/job-state.js';
import type { Runtime } from '../runtime.js';
import { slotsBetween } from '../schedule/slot-math.js';
import type { BackfillResult, RunJobResult } from '../types.js';
import type { Dispatcher } from './dispatcher.js';
import { recheckRemoteRuns } from './remote-runs.js';
import type { RunAdmission } from './run-admission.js';
import { recentScheduledRun, releaseHold, takeHold } from './run-holds.js';
import type { RunMarkers } from './run-markers.js';
import { claimRun } from './slot-claim.js';

/** The most slots one `backfill()` call runs. */
export const MAX_BACKFILL_SLOTS = 10_000;

/** Runs asked for by a caller on this instance, leading or not: `runJob()` and `backfill()`. */
export class ManualRuns {
  constructor(
    private readonly runtime: Runtime,
    private readonly dispatcher: Dispatcher,
    private readonly admission: RunAdmission,
  ) {}

  /**
   * See `SchedulerPlugin.runJob`. A `skip` job's run first takes the job's hold (`run-holds.ts`),
   * which admits one run of it at a time across instances, and deletes it once its outcome is
   * written. Requests, whatever the history: the hold's put, the claim, the final write and the
   * hold's delete (4); 2 for a job that may overlap. No listing, no history page.
   */
  async runJob(state: JobState): Promise<RunJobResult> {
    const name = state.def.name;
    // Admitted before the first await: two concurrent calls cannot both pass the check below.
    const release = state.def.overlap === 'skip' ? this.#admit(state, 'runJob') : undefined;
    let markers: RunMarkers | undefined;
    let outcome: RunOutcome<unknown>;
    const runId = createRunId(this.runtime.clock.now());
    try {
      const history = await this.runtime.store.ensureHistory();
      if (release) {
        // The hold marks this run for every instance: no `active/` marker besides.
        markers = this.runtime.store.markers;
        markers.heldRuns.add(runId);
        await this.#refuseIfRunning(state, history, runId);
      }
      try {
        const claim = await claimRun(this.runtime, { job: name, runId, trigger: 'manual' });
        if (claim.kind !== 'won') {
          throw new SchedulerError(`Run ${runId} of job '${name}' could not be recorded`, {
            code: 'INTERNAL',
            operation: 'runJob',
            metadata: { jobName: name, runId },
          });
        }
        outcome = await this.dispatcher.execute(state, claim.run, release);
      } finally {
        if (release) await releaseHold(this.runtime, state, runId);
      }
    } finally {
      markers?.heldRuns.delete(runId);
      release?.();
    }
    return {
      runId: runId,
      jobName: name,
      status: outcome.status,
      ...(outcome.status === 'completed' ? { result: outcome.result } : {}),
      ...(outcome.error
        ? {
            error: {
              name: outcome.error.name,
              message: outcome.error.message,
              ...(outcome.error.code ? { code: outcome.error.code } : {}),
            },
          }
        : {}),
      attempts: outcome.attempts.length,
      durationMs: outcome.durationMs,
    };
  }

  /**
   * See `SchedulerPlugin.backfill`: `from`/`to` in ms, already checked. Throws
   * `INVALID_OPTION` for a job without a schedule, `to < from`, or more than
   * `MAX_BACKFILL_SLOTS` slots.
   */
  async backfill(
    state: JobState,
    range: { from: number; to: number; overlap?: 'allow' | 'buffer-all' },
    given: { from: unknown; to: unknown },
  ): Promise<BackfillResult> {
    const name = state.def.name;
    const { from, to } = range;
    if (!state.def.cron || to < from) {
      throw new SchedulerError(`backfill('${name}') needs a scheduled job and from ≤ to`, {
        code: 'INVALID_OPTION',
        operation: 'backfill',
        metadata: { jobName: name, from: given.from, to: given.to, schedule: state.def.schedule },
        suggestion: 'Pass { from, to } as dates with from before to, for a job that has a schedule.',
      });
    }
    // Past slots only: a slot after now is the schedule's to run at its time (a backfill that ran
    // it early would also claim it, so it would never run on time).
    const slots = slotsBetween(
      state.def,
      from - 1,
      Math.min(to, this.runtime.clock.now()),
      MAX_BACKFILL_SLOTS + 1,
    );
    if (slots.length > MAX_BACKFILL_SLOTS) {
      throw new SchedulerError(`backfill('${name}') covers more than ${MAX_BACKFILL_SLOTS} slots`, {
        code: 'INVALID_OPTION',
        operation: 'backfill',
        metadata: { jobName: name, from: new Date(from).toISOString(), to: new Date(to).toISOString() },
        suggestion: `Split the range into pieces of at most ${MAX_BACKFILL_SLOTS} slots.`,
      });
    }
    await this.runtime.store.ensureHistory();
    const runOne = async (slot: number): Promise<BackfillResult['runs'][number]> => {
      const claim = await claimRun(this.runtime, { job: name, slot, trigger: 'backfill' });
      const iso = new Date(slot).toISOString();
      if (claim.kind !== 'won') return { slot: iso, status: 'already-ran' };
      const outcome = await this.dispatcher.execute(state, claim.run);
      return { slot: iso, status: outcome.status, runId: claim.run.record.runId };
    };
    const runs: BackfillResult['runs'] = [];
    if (range.overlap === 'allow') runs.push(...(await Promise.all(slots.map(runOne))));
    else for (const slot of slots) runs.push(await runOne(slot));
    return {
      slots: slots.length,
      ran: runs.filter((run) => run.status !== 'already-ran').length,
      alreadyRan: runs.filter((run) => run.status === 'already-ran').length,
      runs,
    };
  }

  /**
   * Admits one run of a `skip` job on this instance (see `RunAdmission`), or throws
   * `JOB_ALREADY_RUNNING` when a run of it is running or being started here.
   */
  #admit(state: JobState, operation: string): () => void {
    const name = state.def.name;
    const release = state.running.size === 0 ? this.admission.tryEnter(name) : undefined;
    if (release) return release;
    throw new SchedulerError(`Job '${name}' is already running on this instance`, {
      code: 'JOB_ALREADY_RUNNING',
      operation,
      metadata: {
        jobName: name,
        runId: [...state.running.keys()][0] ?? null,
        workerId: this.runtime.workerId,
      },
      suggestion: "Wait for the run to finish, or set overlap: 'allow' on the job.",
    });
  }

  /**
   * Refuses a manual run of a `skip` job while it runs here or on an instance that is still alive,
   * and takes the job's hold (`takeHold`) for run `runId` otherwise. Reads no history pages: the
   * runs the leader follows (their records read again) and the hold.
   */
  async #refuseIfRunning(state: JobState, history: HistoryStore, runId: string): Promise<void> {
    const { leader, workerId } = this.runtime;
    const local = [...state.running.keys()][0];
    if (local) this.#refuse(state, { runId: local, workerId });
    if (state.remoteRunning.size > 0)
      await recheckRemoteRuns(history, state, new Set(leader.getActiveWorkers(workerId)));
    const [remote] = state.remoteRunning.values();
    if (remote) this.#refuse(state, remote);
    const holder = await takeHold(this.runtime, state, runId);
    if (holder) this.#refuse(state, holder);
    // A scheduled run on another instance too young to have taken the hold yet.
    const recent = await recentScheduledRun(this.runtime, state).catch(async (error: unknown) => {
      await releaseHold(this.runtime, state, runId);
      throw error;
    });
    if (recent) {
      await releaseHold(this.runtime, state, runId);
      this.#refuse(state, recent);
    }
  }

  #refuse(state: JobState, holder: { runId: string; workerId: string }): never {
    const name = state.def.name;
    const here = holder.workerId === this.runtime.workerId;
    const where = here ? 'on this instance' : `on instance ${holder.workerId}`;
    throw new SchedulerError(`Job '${name}' is already running ${where}`, {
      code: 'JOB_ALREADY_RUNNING',
      operation: 'runJob',
      metadata: { jobName: name, runId: holder.runId || null, workerId: holder.workerId || null },
      suggestion: "Wait for the run to finish, or set overlap: 'allow' on the job.",
    });
  }
}
