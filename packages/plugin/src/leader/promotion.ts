import { createRunId, isSchedulerError, runWithConcurrency } from '@s3-scheduler/core';
import type { JobState } from '../jobs/job-state.js';
import type { Dispatcher } from '../runs/dispatcher.js';
import { followRemoteRunsOf } from '../runs/remote-runs.js';
import { retryLater } from '../runs/retry-later.js';
import type { Skips } from '../runs/skips.js';
import { claimRun } from '../runs/slot-claim.js';
import type { Runtime } from '../runtime.js';
import { catchUpPlan, recentlyDue } from '../schedule/slot-math.js';
import { type Recovery, SWEEP_CONCURRENCY } from './recovery.js';

/**
 * What a new leader does first: slots that passed while nobody led are caught up under each
 * job's policy (a claim per slot; slots that already ran lose their claim and nothing runs
 * twice), orphaned runs are recovered, and `runOnStart` jobs run once per start.
 */
export class Promotion {
  #ranOnStart = false;

  constructor(
    private readonly runtime: Runtime,
    private readonly dispatcher: Dispatcher,
    private readonly recovery: Recovery,
    private readonly skips: Skips,
  ) {}

  /** The plugin (re)starts: `runOnStart` jobs run again at the next promotion. */
  reset(): void {
    this.#ranOnStart = false;
  }

  async onPromoted(): Promise<void> {
    const { runtime } = this;
    // Slots due from here on are the timer's: the catch-up looks at what was stored before.
    const promotedAt = runtime.clock.now();
    // Runs still going elsewhere (a predecessor handing over marks its own) count for overlap
    // before anything is dispatched.
    await followRemoteRunsOf(runtime).catch((error: unknown) => runtime.reportError('maintenance', error));
    const work: Array<() => Promise<void>> = [];
    const now = runtime.clock.now();
    // Every job is looked at once (its runs may have been orphaned whenever), those due lately
    // first: their catch-up is the one that cannot wait.
    const jobs = [...runtime.jobs.values()].filter((state) => state.def.cron && state.def.enabled);
    const recent = jobs.filter((state) => recentlyDue(state.def, now));
    const rest = jobs.filter((state) => !recentlyDue(state.def, now));
    for (const state of [...recent, ...rest]) work.push(() => this.catchUp(state, promotedAt));
    if (!this.#ranOnStart) {
      this.#ranOnStart = true;
      for (const state of runtime.jobs.values()) {
        if (state.def.runOnStart && state.def.enabled) {
          work.push(async () => {
            const claim = await claimRun(runtime, {
              job: state.def.name,
              runId: createRunId(runtime.clock.now()),
              trigger: 'run-on-start',
            });
            if (claim.kind === 'won') this.dispatcher.start(state, claim.run);
          });
        }
      }
    }
    await runWithConcurrency(work, SWEEP_CONCURRENCY);
  }

  /**
   * Catch-up of one job on promotion. The job's newest stored runs tell what happened before:
   * a job with no history is new to this store and has missed nothing; otherwise the slots
   * after its newest recorded slot, inside `catchUpWindow`, are claimed under the policy. A
   * newest slot still `running` under a vanished instance is recovered.
   *
   * `promotedAt` (ms): the instant of the promotion. A slot due after it is the timer's, and
   * its record may already be stored when the catch-up reads (a slow store, the remote runs
   * read first): anchoring on it would skip the slots of the leaderless gap before it, so the
   * anchor is the newest slot up to `promotedAt` (simulation seeds 214 and 223).
   */
  async catchUp(state: JobState, promotedAt: number, attempt = 1): Promise<void> {
    const { runtime, recovery } = this;
    const name = state.def.name;
    try {
      const page = await runtime.store.history.query(name, { limit: 3 });
      await recovery.recoverRuns(state, page.runs);
      for (const run of page.runs) {
        // Runs still going on another live instance (a demoted leader's, a manual one) count for
        // overlap; those `recoverRuns` just took for orphans (the same test) do not.
        if (run.status === 'running' && recovery.holderAlive(run)) {
          state.addRemoteRun({ runId: run.runId, key: run.key, workerId: run.workerId! });
        }
      }
      const scheduled = page.runs.filter((run) => run.slot !== null);
      const newest =
        scheduled.find((run) => Date.parse(run.slot!) <= promotedAt) ??
        // All three are the timer's (a fast job): the oldest of them is the best anchor known.
        scheduled.at(-1);
      // After the newest scheduled run in the store; a job without one (new to this store, or
      // only run by hand) has missed the slots since this instance registered it, no earlier.
      const after = newest
        ? Date.parse(newest.slot!)
        : Math.min(state.since, state.document?.since ?? Number.POSITIVE_INFINITY);
      // Up to the promotion: a slot due after it is the timer's (the timer fires while this
      // instance leads). The reads above can take longer than a slot (s3db-host check on RGW:
      // 200 ms at a hand-over), and planning up to now made the catch-up dispatch the timer's slot too.
      const plan = catchUpPlan(state.def, Math.min(runtime.clock.now(), promotedAt), after);
      if (!runtime.leader.leading) return;
      this.skips.reportMissed(state, plan.missed, plan.missedCount, plan.firstMissed);
      for (const slot of plan.run) {
        if (!runtime.leader.leading) return;
        await this.dispatcher.dispatch(state, slot, 'catch-up');
      }
      await this.dispatcher.drainBuffer(state);
    } catch (error) {
      runtime.reportError('catch-up', error, name);
      if (isSchedulerError(error) && error.retriable)
        retryLater(runtime, attempt, () => this.catchUp(state, promotedAt, attempt + 1));
    }
  }
}
