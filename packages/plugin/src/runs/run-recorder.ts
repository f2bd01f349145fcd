import { isSchedulerError } from '@s3-scheduler/core';
import type { FinishInput, RunHandle } from '@s3-scheduler/history';
import { eventBase, toError } from '../events.js';
import type { JobState } from '../jobs/job-state.js';
import { finishedRun } from '../jobs/job-statistics.js';
import type { Runtime } from '../runtime.js';
import type { FinishedRun } from './job-runner.js';
import { retryDelay } from './retry-later.js';

/** Attempts at writing a run's final state before it is left to recovery. */
const MAX_RECORD_ATTEMPTS = 12;

/**
 * Records how a run ended: this instance's counters, the final state in history (retried
 * through an outage) and the `job-completed` / `job-failed` event.
 */
export class RunRecorder {
  constructor(private readonly runtime: Runtime) {}

  async record(state: JobState, handle: RunHandle, { outcome, context }: FinishedRun): Promise<void> {
    const { options, events } = this.runtime;
    const record = handle.record;
    // Recording yields to the event loop first: slots due now are claimed and started before
    // runs that just ended are written, which keeps a burst of due slots on time.
    await nextTurn();
    const error = outcome.status === 'completed' ? undefined : toError(outcome);
    state.counters.record(finishedRun(record, outcome));
    const finish: FinishInput = {
      status: outcome.status,
      attempts: record.attempts - 1 + outcome.attempts.length,
      durationMs: outcome.durationMs,
      finishedAt: outcome.finishedAt,
    };
    if (outcome.status === 'completed' && options.persistJobs) finish.result = outcome.result;
    // The error as the executor captured it (redacted, plain data): the one shape of a run's
    // error from the executor to history; the event below carries it as an `Error`.
    if (error) finish.error = outcome.error ?? error;
    await this.#finish(handle, finish);
    if (outcome.status === 'completed') {
      // Built only when someone reads it: completions come a thousand a second in a burst.
      if (!events.wants('plg:scheduler:job-completed')) return;
      events.emit('plg:scheduler:job-completed', {
        ...eventBase(context),
        status: 'completed',
        result: outcome.result,
        duration: outcome.durationMs,
        attempts: outcome.attempts.length,
      });
    } else {
      events.emit('plg:scheduler:job-failed', {
        ...eventBase(context),
        status: outcome.status,
        error: error!,
        duration: outcome.durationMs,
        attempts: outcome.attempts.length,
        attempt: outcome.attempts.length,
      });
    }
  }

  /**
   * Writes a run's final state. A store outage does not leave it `running`: the write is tried
   * again with back-off until it lands, is refused because the run was taken over (fenced), or
   * the scheduler stops (then the next leader records the run `abandoned`).
   */
  async #finish(handle: RunHandle, outcome: FinishInput): Promise<void> {
    const { clock, store, leader } = this.runtime;
    for (let attempt = 1; ; attempt++) {
      try {
        await store.history.finish(handle, outcome);
        return;
      } catch (error) {
        this.runtime.reportError('finish', error, handle.record.job);
        if (!isSchedulerError(error) || !error.retriable || attempt >= MAX_RECORD_ATTEMPTS) return;
        const signal = leader.stopSignal;
        if (signal?.aborted) return;
        const waited = await clock.sleep(retryDelay(attempt), signal).then(
          () => true,
          () => false,
        );
        if (!waited) return;
      }
    }
  }
}

let turn: Promise<void> | undefined;

/**
 * Resolves in the event loop's next check phase; every run that ends in the same turn shares one
 * immediate (a burst's thousand runs resume in the order they asked, as with one each).
 */
function nextTurn(): Promise<void> {
  turn ??= new Promise<void>((resolve) =>
    setImmediate(() => {
      turn = undefined;
      resolve();
    }),
  );
  return turn;
}
