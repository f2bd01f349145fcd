import { abortReason, type Clock, captureError, SchedulerError } from '@s3-scheduler/core';
import type { Deadline, Deadlines } from './deadlines.js';
import type { Action, ActionContext, AttemptRecord, AttemptStatus } from './types.js';

export type Settlement<T> = { ok: true; value: T } | { ok: false; error: unknown };

export interface AttemptPlan<T, C extends object> {
  clock: Clock;
  action: Action<T, C>;
  attempt: number;
  timeout: number;
  abandonGraceMs: number;
  context: C | undefined;
  /** The executor's shared timer of attempt timeouts. */
  deadlines: Deadlines;
  /** The run's cancellation: its signal, and where an abort reaches the attempt going on. */
  cancel: CancelHook;
  /** Shared by every attempt of an executor (no closure per attempt). */
  onStart: (attempt: number, startedAt: number, context: C | undefined) => void;
  onTimeout: (attempt: number, timeoutMs: number, context: C | undefined) => void;
}

/** A run's cancellation, shared by the executor and the attempt going on. */
export interface CancelHook {
  /** The run's signal: the caller's, or one made when the run is cancelled through `onCancelable`. */
  signal: AbortSignal | undefined;
  /** The controller of `signal` when the executor made it (see `onCancelable`). */
  controller?: AbortController;
  /** Set by whatever waits now (the queue, an attempt); called once the run is cancelled. */
  onAbort: (() => void) | undefined;
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
 * The reason internal waits are stopped with: a shared value, since \`abort()\` without one builds
 * a new DOMException each time — measurable at thousands of attempts per second.
 */
const STOPPED = Symbol('stopped');

/**
 * The attempt's signal, made only when the action reads \`context.signal\` or the attempt must be
 * aborted: most actions never read it, and an AbortController per attempt was a measurable part
 * of a burst's cost.
 */
class LazySignal {
  #controller: AbortController | undefined;

  get signal(): AbortSignal {
    this.#controller ??= new AbortController();
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    this.#controller ??= new AbortController();
    this.#controller.abort(reason);
  }
}

/**
 * Where an attempt context keeps its lazy signal: a non-enumerable symbol property, so spreads,
 * `Object.keys` and JSON never see it (a `WeakMap` from context to signal cost three times as
 * much per attempt, in the map and in garbage collection).
 */
const LAZY_SIGNAL = Symbol('s3-scheduler.lazySignal');
const lazySlot: PropertyDescriptor = {
  value: undefined,
  writable: false,
  enumerable: false,
  configurable: false,
};

/**
 * `context.signal`: reading it makes the attempt's controller; assigning replaces it, as on a
 * plain property. One descriptor for every context: an accessor made per context (an object
 * literal's `get signal()`) cost about 5 µs per attempt and left the context in slow properties.
 */
const SIGNAL: PropertyDescriptor = {
  // `this` is the context, or an object made from it (`Object.create(context)`): inherited.
  get(this: { [LAZY_SIGNAL]?: LazySignal }): AbortSignal | undefined {
    return this[LAZY_SIGNAL]?.signal;
  },
  set(this: object, value: AbortSignal): void {
    Object.defineProperty(this, 'signal', { value, writable: true, enumerable: true, configurable: true });
  },
  enumerable: true,
  configurable: true,
};

const hasOwn = Object.prototype.hasOwnProperty;
const isEnumerable = Object.prototype.propertyIsEnumerable;

/**
 * `{ ...base, attempt, signal }` (the same own properties, in the same order, with `signal` an
 * enumerable accessor), built by assignment: a spread followed by an accessor is several times
 * slower, and an attempt context is made for every run.
 */
function attemptContext(base: object | undefined, attempt: number, lazy: LazySignal): object {
  const context: Record<PropertyKey, unknown> = {};
  if (base !== undefined && base !== null) {
    const source = base as Record<PropertyKey, unknown>;
    for (const key in source) {
      if (!hasOwn.call(source, key)) continue;
      // A plain assignment would set the prototype for `__proto__`; a spread defines it.
      if (key === '__proto__')
        Object.defineProperty(context, key, {
          value: source[key],
          writable: true,
          enumerable: true,
          configurable: true,
        });
      else context[key] = source[key];
    }
    const symbols = Object.getOwnPropertySymbols(source);
    for (let i = 0; i < symbols.length; i++) {
      const symbol = symbols[i]!;
      if (isEnumerable.call(source, symbol)) context[symbol] = source[symbol];
    }
  }
  context.attempt = attempt;
  Object.defineProperty(context, 'signal', SIGNAL);
  lazySlot.value = lazy;
  Object.defineProperty(context, LAZY_SIGNAL, lazySlot);
  lazySlot.value = undefined;
  return context;
}

/**
 * One attempt: start the action, then wait for whichever comes first of its settling, its timeout
 * and the run's cancellation. On a timeout or a cancellation the attempt's signal is aborted and the
 * attempt gets \`abandonGraceMs\` to settle; only then does the result arrive, so the caller can
 * never start another attempt while this one may still be running. Never rejects.
 *
 * An action that returns a plain value or throws has settled before any timer could fire, so it
 * is done at once: the result comes back synchronously (no promise, no timer, nothing waits for
 * the cancellation; a cancellation that arrived while it ran still wins, as it would have before
 * the action's value was seen). A burst of a thousand synchronous actions then allocates no
 * promise per attempt, which kept young-generation collections out of the burst.
 */
export function runAttempt<T, C extends object>(
  plan: AttemptPlan<T, C>,
): AttemptResult<T> | Promise<AttemptResult<T>> {
  const { clock, attempt } = plan;
  const lazy = new LazySignal();
  const startedAt = clock.now();
  const start = clock.monotonic();
  plan.onStart(attempt, startedAt, plan.context);

  const context = attemptContext(plan.context, attempt, lazy) as unknown as ActionContext<C>;
  let returned: unknown;
  let threw = false;
  try {
    returned = plan.action(context);
  } catch (error) {
    threw = true;
    returned = error;
  }
  // Asked once: a `then` getter may answer differently the second time. A getter that throws
  // fails the attempt with its error, as resolving a promise with that value would.
  let pending = false;
  if (!threw) {
    try {
      pending = isThenable(returned);
    } catch (error) {
      threw = true;
      returned = error;
    }
  }
  if (!pending && !plan.cancel.signal?.aborted) {
    return threw
      ? attemptResult(plan, startedAt, start, 'failed', undefined, returned, false)
      : attemptResult(plan, startedAt, start, 'completed', returned as T, undefined, false);
  }
  const settlement: Settlement<T> | undefined = threw
    ? { ok: false, error: returned }
    : pending
      ? undefined
      : { ok: true, value: returned as T };
  return waitForAttempt(plan, lazy, startedAt, start, returned, settlement);
}

/** The rest of `runAttempt` when something has to wait: a promise, a timeout, a cancellation. */
async function waitForAttempt<T, C extends object>(
  plan: AttemptPlan<T, C>,
  lazy: LazySignal,
  startedAt: number,
  start: number,
  returned: unknown,
  settlement: Settlement<T> | undefined,
): Promise<AttemptResult<T>> {
  const { clock, attempt } = plan;
  const run = plan.cancel;
  let first: FirstEvent;
  const settled: Promise<Settlement<T>> = settlement
    ? Promise.resolve(settlement)
    : new Promise<T>((resolve) => resolve(returned as PromiseLike<T>)).then(
        (value): Settlement<T> => ({ ok: true, value }),
        (error: unknown): Settlement<T> => ({ ok: false, error }),
      );
  if (settlement && !run.signal?.aborted) {
    first = 'settled';
  } else {
    // The deadline counts from before the action ran, so a long synchronous start cannot stretch it.
    const timeout = plan.timeout;
    let deadline: Deadline | undefined;
    first = await new Promise<FirstEvent>((resolve) => {
      void settled.then(() => resolve('settled'));
      if (hasTimeout(timeout)) deadline = plan.deadlines.add(start, timeout, () => resolve('timeout'));
      if (run.signal?.aborted) resolve('cancelled');
      else run.onAbort = () => resolve('cancelled');
    });
    run.onAbort = undefined;
    if (deadline) plan.deadlines.remove(deadline, timeout);
  }

  if (first === 'settled') {
    const result = settlement ?? (await settled);
    return result.ok
      ? attemptResult(plan, startedAt, start, 'completed', result.value, undefined, false)
      : attemptResult(plan, startedAt, start, 'failed', undefined, result.error, false);
  }
  const error =
    first === 'timeout' ? timeoutError(attempt, plan.timeout) : cancelledError(run.signal, attempt);
  lazy.abort(error);
  if (first === 'timeout') plan.onTimeout(attempt, plan.timeout, plan.context);
  const abandoned = await settlesWithin(settled, clock, plan.abandonGraceMs);
  return attemptResult(plan, startedAt, start, first, undefined, error, abandoned);
}

/** The attempt's record (and its value or error) once it ended. */
function attemptResult<T, C extends object>(
  plan: AttemptPlan<T, C>,
  startedAt: number,
  start: number,
  status: AttemptStatus,
  value: T | undefined,
  error: unknown,
  abandoned: boolean,
): AttemptResult<T> {
  const { clock } = plan;
  const record: AttemptRecord = {
    attempt: plan.attempt,
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

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
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
