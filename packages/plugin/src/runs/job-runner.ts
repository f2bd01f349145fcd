import type { Executor, RunOptions, RunOutcome } from '@s3-scheduler/executor';
import type { RunHandle } from '@s3-scheduler/history';
import { encodeKeySegment } from '@s3-scheduler/storage';
import type { JobState } from '../jobs/job-state.js';
import type { Runtime } from '../runtime.js';
import type { JobContext } from '../types.js';
import { markerOf } from './remote-runs.js';
import { releaseHold } from './run-holds.js';

/** A run that ended: its outcome and the context it ran with. */
export interface FinishedRun {
  outcome: RunOutcome<unknown>;
  context: JobContext;
}

/**
 * Runs one claimed record through the executor on this instance and returns how it ended. It
 * registers the run as running for the time it runs (so overlap policies and cancellation see
 * it) and marks it in `active/` when this instance does not lead; recording the outcome is the
 * caller's (see `RunRecorder`).
 */
export class JobRunner {
  constructor(
    private readonly runtime: Runtime,
    private readonly executor: Executor<JobContext>,
    /** Runs an attempt's action inside its trace span (see observability/); by default as is. */
    private readonly inSpan: <T>(runId: string, fn: () => T) => T = (_runId, fn) => fn(),
  ) {}

  /** `admitted` (a `skip` job's admission) is released once the run is registered as running. */
  async run(state: JobState, handle: RunHandle, admitted?: () => void): Promise<FinishedRun> {
    const { clock, workerId } = this.runtime;
    const def = state.def;
    const record = handle.record;
    const scheduledTime = record.slot ? Date.parse(record.slot) : Date.parse(record.startedAt);
    // Cancelling goes to the executor once the run is handed to it; before that (while its marker
    // is written) the reason is kept, and the run starts already cancelled.
    let cancel: ((reason: unknown) => void) | undefined;
    let cancelledEarly: { reason: unknown } | undefined;
    state.addRun({
      runId: record.runId,
      abort: (reason) => {
        if (cancel) cancel(reason);
        else cancelledEarly ??= { reason };
      },
      slot: record.slot,
      epoch: record.epoch ?? 0,
    });
    // Registered as running: from here `state.running` keeps other runs out, not the admission.
    admitted?.();
    state.counters.lastRunAt = clock.now();
    // No `signal` here: the executor gives each attempt its own (made when the action reads it).
    const context = {
      ...def.context,
      jobName: def.name,
      slot: record.slot,
      scheduledTime,
      startTime: clock.now(),
      runId: record.runId,
      executionId: record.runId,
      attempt: record.attempts,
      epoch: record.epoch ?? 0,
      idempotencyKey: `${encodeKeySegment(def.name)}:${record.slot ?? record.runId}`,
      trigger: record.trigger,
      workerId,
    } as unknown as JobContext;
    const database = this.runtime.database;
    const plugin = this.runtime.plugin;
    const markers = this.runtime.store.markers;
    // A run started away from the leader (or on a leader handing over) announces itself, so the
    // leader's overlap policy sees it.
    const { leader } = this.runtime;
    const marked = !leader.isLeader() || leader.resigning;
    if (marked)
      await markers
        ?.markActive(markerOf(record, workerId))
        .catch((error: unknown) => this.runtime.reportError('marker', error, def.name));
    const options: RunOptions<JobContext> = { retries: def.retries, timeout: def.timeout, context };
    if (def.backoff) options.backoff = def.backoff;
    if (cancelledEarly) options.signal = AbortSignal.abort(cancelledEarly.reason);
    else
      options.onCancelable = (cancelRun) => {
        cancel = cancelRun;
      };
    let outcome: RunOutcome<unknown>;
    try {
      // A re-run after a crash continues the attempt count of the run it takes over.
      const offset = record.attempts - 1;
      outcome = await this.executor.run(
        (ctx) =>
          this.inSpan(ctx.runId, () =>
            def.action(
              database,
              offset === 0 ? ctx : { ...ctx, attempt: ctx.attempt + offset },
              plugin as never,
            ),
          ),
        options,
      );
    } finally {
      state.removeRun(record.runId);
    }
    // Its job's hold, if this run took it (`run-holds.ts`): no request otherwise.
    await releaseHold(this.runtime, state, record.runId);
    if (leader.markedForHandOver.delete(record.runId) || marked)
      await markers
        ?.clearActive(markerOf(record, workerId))
        .catch((error: unknown) => this.runtime.reportError('marker', error, def.name));
    return { outcome, context };
  }
}
