import type { Executor, RunOptions, RunOutcome } from '@s3-scheduler/executor';
import type { RunHandle } from '@s3-scheduler/history';
import { encodeKeySegment } from '@s3-scheduler/storage';
import { NO_CONTEXT } from '../jobs/job-options.js';
import type { JobState, LocalRun } from '../jobs/job-state.js';
import type { Runtime } from '../runtime.js';
import type { JobContext } from '../types.js';
import { markerOf } from './remote-runs.js';
import { holdsHold, releaseHold } from './run-holds.js';

/** Runs `fn` as is: no trace span (the runner's default). */
function noSpan<T>(_runId: string, fn: () => T): T {
  return fn();
}

/**
 * A run registered as running on this instance (`state.running`): cancelling goes to the executor
 * once the run is handed to it (`onCancelable`); before that the reason is kept, and the run
 * starts already cancelled. One object per run instead of a closure per hook.
 */
class RunningHere implements LocalRun {
  #cancel: ((reason: unknown) => void) | undefined;
  cancelledEarly: { reason: unknown } | undefined;
  /** Handed to the executor: keeps its cancel function. */
  readonly onCancelable = (cancelRun: (reason?: unknown) => void): void => {
    this.#cancel = cancelRun;
  };

  constructor(
    readonly runId: string,
    readonly slot: string | null,
    readonly epoch: number,
  ) {}

  abort(reason: unknown): void {
    if (this.#cancel) this.#cancel(reason);
    else this.cancelledEarly ??= { reason };
  }
}

/** Job name → its key segment, once per definition (the idempotency key's first part). */
const jobSegments = new WeakMap<object, string>();
function jobSegmentOf(def: { name: string }): string {
  let segment = jobSegments.get(def);
  if (segment === undefined) {
    segment = encodeKeySegment(def.name);
    jobSegments.set(def, segment);
  }
  return segment;
}

/** A burst's runs share their slot: its ISO text is parsed once, not once per run. */
let lastInstantText = '';
let lastInstantMs = Number.NaN;
function parseInstant(text: string): number {
  if (text !== lastInstantText) {
    lastInstantMs = Date.parse(text);
    lastInstantText = text;
  }
  return lastInstantMs;
}

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
    private readonly inSpan: <T>(runId: string, fn: () => T) => T = noSpan,
  ) {}

  /** `admitted` (a `skip` job's admission) is released once the run is registered as running. */
  async run(state: JobState, handle: RunHandle, admitted?: () => void): Promise<FinishedRun> {
    const { clock, workerId } = this.runtime;
    const def = state.def;
    const record = handle.record;
    const scheduledTime = record.slot ? parseInstant(record.slot) : Date.parse(record.startedAt);
    // Cancelling goes to the executor once the run is handed to it; before that (while its marker
    // is written) the reason is kept, and the run starts already cancelled.
    const local = new RunningHere(record.runId, record.slot, record.epoch ?? 0);
    state.addRun(local);
    // Registered as running: from here `state.running` keeps other runs out, not the admission.
    admitted?.();
    const startTime = clock.now();
    state.counters.lastRunAt = startTime;
    // No `signal` here: the executor gives each attempt its own (made when the action reads it).
    const idempotencyKey = `${jobSegmentOf(def)}:${record.slot ?? record.runId}`;
    const fields = {
      jobName: def.name,
      slot: record.slot,
      scheduledTime,
      startTime,
      runId: record.runId,
      executionId: record.runId,
      attempt: record.attempts,
      epoch: record.epoch ?? 0,
      idempotencyKey,
      trigger: record.trigger,
      workerId,
    };
    // A job without a `context` of its own (most) gets the plain literal, not a spread of an empty
    // one; a job's own context comes first, and the run's fields win over its keys.
    const context = (def.context === NO_CONTEXT
      ? fields
      : { ...def.context, ...fields }) as unknown as JobContext;
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
    if (local.cancelledEarly) options.signal = AbortSignal.abort(local.cancelledEarly.reason);
    else options.onCancelable = local.onCancelable;
    let outcome: RunOutcome<unknown>;
    try {
      // A re-run after a crash continues the attempt count of the run it takes over.
      const offset = record.attempts - 1;
      const inSpan = this.inSpan;
      outcome = await this.executor.run(
        inSpan === noSpan && offset === 0
          ? (ctx) => def.action(database, ctx, plugin as never)
          : (ctx) =>
              inSpan(ctx.runId, () =>
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
    // Checked first: most runs take no hold, and an await costs a turn of a burst's thousand runs.
    if (holdsHold(this.runtime, state, record.runId)) await releaseHold(this.runtime, state, record.runId);
    if (leader.markedForHandOver.delete(record.runId) || marked)
      await markers
        ?.clearActive(markerOf(record, workerId))
        .catch((error: unknown) => this.runtime.reportError('marker', error, def.name));
    return { outcome, context };
  }
}
