import { createRunId, SchedulerError } from '@s3-scheduler/core';
import type { RunOutcome } from '@s3-scheduler/executor';
import type { HistoryStore, RunHandle } from '@s3-scheduler/history';
import type { JobState } from '../jobs/job-state.js';
import type { Runtime } from '../runtime.js';
import { slotsBetween } from '../schedule/slot-math.js';
import type { BackfillResult, RunJobResult } from '../types.js';
import type { Dispatcher } from './dispatcher.js';
import type { RunAdmission } from './run-admission.js';
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

  /** See `SchedulerPlugin.runJob`. */
  async runJob(state: JobState): Promise<RunJobResult> {
    const name = state.def.name;
    // Admitted before the first await: two concurrent calls cannot both pass the check below.
    const release = state.def.overlap === 'skip' ? this.#admit(state, 'runJob') : undefined;
    let outcome: RunOutcome<unknown>;
    let run: RunHandle;
    try {
      const history = await this.runtime.store.ensureHistory();
      if (release) await this.#refuseIfRunning(state, history);
      const runId = createRunId(this.runtime.clock.now());
      const claim = await claimRun(this.runtime, { job: name, runId, trigger: 'manual' });
      if (claim.kind !== 'won') {
        throw new SchedulerError(`Run ${runId} of job '${name}' could not be recorded`, {
          code: 'INTERNAL',
          operation: 'runJob',
          metadata: { jobName: name, runId },
        });
      }
      run = claim.run;
      outcome = await this.dispatcher.execute(state, run, release);
    } finally {
      release?.();
    }
    return {
      runId: run.record.runId,
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

  /** Refuses a manual run while the job runs on an instance that is still alive. */
  async #refuseIfRunning(state: JobState, history: HistoryStore): Promise<void> {
    const name = state.def.name;
    const { leader, workerId } = this.runtime;
    const local = [...state.running.keys()][0];
    let elsewhere: { runId: string; workerId: string | null } | undefined;
    if (!local) {
      const page = await history.query(name, { status: 'running', limit: 5 });
      const alive = new Set(leader.getActiveWorkers(workerId));
      const found = page.runs.find((run) => run.workerId !== null && alive.has(run.workerId));
      if (found) elsewhere = { runId: found.runId, workerId: found.workerId };
    }
    if (!local && !elsewhere) return;
    const where = local ? 'on this instance' : `on instance ${elsewhere!.workerId}`;
    throw new SchedulerError(`Job '${name}' is already running ${where}`, {
      code: 'JOB_ALREADY_RUNNING',
      operation: 'runJob',
      metadata: {
        jobName: name,
        runId: local ?? elsewhere!.runId,
        workerId: local ? workerId : elsewhere!.workerId,
      },
      suggestion: "Wait for the run to finish, or set overlap: 'allow' on the job.",
    });
  }
}
