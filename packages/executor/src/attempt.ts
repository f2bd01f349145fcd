import { abortReason, type Clock, captureError, SchedulerError } from '@s3-scheduler/core';
import type { Action, ActionContext, AttemptRecord, AttemptStatus } from './types.js';

export type Settlement<T> = { ok: true; value: T } | { ok: false; error: unknown };

export interface AttemptPlan<T, C extends object> {
  clock: Clock;
  action: Action<T, C>;
  attempt: number;
  timeout: number;
  abandonGraceMs: number;
  signal: AbortSignal | undefined;
  context: C | undefined;
  onStart: (startedAt: number) => void;
  onTimeout: () => void;
}

export interface AttemptResult<T> {
  record: AttemptRecord;
  /** The action's value, for a `completed` attempt. */
  value?: T;
  /** The original error of an attempt that did not complete. */
  error?: unknown;
}

type FirstEvent = 'settled' | 'timeout' | 'cancelled';

/**
 * One attempt: start the action, then wait for whichever comes first of its settling, its timeout
 * and the run's cancellation. On a timeout or a cancellation the attempt's signal is aborted and the
 * attempt gets `abandonGraceMs` to settle; only then does this resolve, so the caller can never
 * start another attempt while this one may still be running. Never rejects.
 */
/**
 * The reason internal waits are stopped with: a shared value, since \`abort()\` without one builds
 * a new DOMException each time — measurable at thousands of attempts per second.
 */
const STOPPED = Symbol('stopped');

export async function runAttempt<T, C extends object>(plan: AttemptPlan<T, C>): Promise<AttemptResult<T>> {
  const { clock, attempt } = plan;
  const controller = new AbortController();
  const startedAt = clock.now();
  const start = clock.monotonic();
  plan.onStart(startedAt);

  // The timer is armed before the action runs, so a long synchronous start cannot stretch it.
  const stopWaiting = new AbortController();
  const timedOut = hasTimeout(plan.timeout) ? clock.sleep(plan.timeout, stopWaiting.signal) : undefined;
  const context = { ...plan.context, attempt, signal: controller.signal } as ActionContext<C>;
  const settled = settle(() => plan.action(context));

  const first = await new Promise<FirstEvent>((resolve) => {
    void settled.then(() => resolve('settled'));
    timedOut?.then(
      () => resolve('timeout'),
      () => {}, // stopped because something else came first
    );
    const { signal } = plan;
    if (signal?.aborted) resolve('cancelled');
    else
      signal?.addEventListener('abort', () => resolve('cancelled'), {
        once: true,
        signal: stopWaiting.signal,
      });
  });
  stopWaiting.abort(STOPPED);

  let status: AttemptStatus;
  let value: T | undefined;
  let error: unknown;
  let abandoned = false;
  if (first === 'settled') {
    const settlement = await settled;
    status = settlement.ok ? 'completed' : 'failed';
    if (settlement.ok) value = settlement.value;
    else error = settlement.error;
  } else {
    status = first;
    error = first === 'timeout' ? timeoutError(attempt, plan.timeout) : cancelledError(plan.signal, attempt);
    controller.abort(error);
    if (first === 'timeout') plan.onTimeout();
    abandoned = await settlesWithin(settled, clock, plan.abandonGraceMs);
  }

  const record: AttemptRecord = {
    attempt,
    startedAt,
    finishedAt: clock.now(),
    // Whole ms, rounded once here: a monotonic clock reads fractions (performance.now()).
    durationMs: Math.round(clock.monotonic() - start),
    status,
  };
  if (status !== 'completed') record.error = captureError(error);
  if (abandoned) record.abandoned = true;
  return status === 'completed' ? { record, value: value as T } : { record, error };
}

/** The error a run ends with when its signal aborts; the signal's own reason is kept as `cause`. */
export function cancelledError(signal: AbortSignal | undefined, attempt: number): SchedulerError {
  return new SchedulerError('The run was cancelled through its signal', {
    code: 'JOB_CANCELLED',
    operation: 'Executor.run',
    metadata: { attempt },
    cause: abortReason(signal),
  });
}

function timeoutError(attempt: number, timeout: number): SchedulerError {
  return new SchedulerError(`Attempt ${attempt} timed out after ${timeout} ms and was aborted`, {
    code: 'JOB_TIMEOUT',
    operation: 'Executor.run',
    metadata: { attempt, timeoutMs: timeout },
    suggestion: 'Raise `timeout`, or make the action stop promptly when `context.signal` aborts.',
  });
}

function hasTimeout(timeout: number): boolean {
  return timeout > 0 && Number.isFinite(timeout);
}

/**
 * Calls the action and turns every way it can end into a settlement that never rejects: a
 * synchronous throw, a plain value, a thenable, a rejection with anything. A late rejection of an
 * abandoned attempt lands here too, so it can never become an unhandled rejection.
 */
function settle<T>(run: () => T | PromiseLike<T>): Promise<Settlement<T>> {
  return new Promise<T>((resolve) => resolve(run())).then(
    (value): Settlement<T> => ({ ok: true, value }),
    (error: unknown): Settlement<T> => ({ ok: false, error }),
  );
}

/** True when `graceMs` passed before `settled` did: the attempt is abandoned. */
async function settlesWithin(settled: Promise<unknown>, clock: Clock, graceMs: number): Promise<boolean> {
  const stop = new AbortController();
  try {
    return await Promise.race([
      settled.then(() => false),
      clock.sleep(graceMs, stop.signal).then(
        () => true,
        () => false, // only aborted by `stop`, after `settled` won
      ),
    ]);
  } finally {
    stop.abort(STOPPED);
  }
}
