import { type Clock, captureError, SchedulerError, seededRandom } from '@s3-scheduler/core';
import {
  type AttemptPlan,
  type AttemptResult,
  type CancelHook,
  cancelledError,
  isThenable,
  runAttempt,
} from './attempt.js';
import { computeBackoff } from './backoff.js';
import { Deadlines } from './deadlines.js';
import {
  invalidAction,
  type ResolvedExecutorOptions,
  type ResolvedRunOptions,
  resolveDrainOptions,
  resolveExecutorOptions,
  resolveRunOptions,
} from './options.js';
import type {
  Action,
  AttemptRecord,
  CallbackName,
  DrainOptions,
  DrainResult,
  ExecutorOptions,
  RunOptions,
  RunOutcome,
  RunStatus,
} from './types.js';

/** A run waiting for (or holding) a slot. */
interface RunEntry<C extends object> {
  action: Action<unknown, C>;
  options: ResolvedRunOptions<C>;
  seed: number;
  enqueuedAt: number;
  resolve: (outcome: RunOutcome<unknown>) => void;
  /**
   * What the run's one abort listener does now: leave the queue while queued, end the attempt
   * going on while one runs, nothing in between (a back-off wait listens itself).
   */
  cancel: CancelHook;
  /** Removes the run's abort listener once the run is complete. */
  unlisten?: () => void;
  /** Set once the outcome is out: a later cancellation does nothing. */
  done?: true;
}

/**
 * Runs actions with attempts, retries, back-off, timeouts that abort, and a concurrency limit.
 * `run()` resolves with an outcome and never rejects for anything the action does; the only throws
 * are `SchedulerError`s for invalid options, synchronously, where the mistake was made.
 */
export class Executor<C extends object = Record<string, unknown>> {
  readonly #options: ResolvedExecutorOptions<C>;
  readonly #clock: Clock;
  readonly #nextSeed: () => number;
  readonly #queue: RunEntry<C>[] = [];
  readonly #idleWaiters = new Set<() => void>();
  readonly #deadlines: Deadlines;
  #running = 0;
  #pumping = false;
  /** True while a started run's outcome is handed out (`onComplete`): `run()` queues meanwhile. */
  #settling = false;
  /** The attempt hooks, one pair per executor; a payload is built only when its callback is set. */
  readonly #onAttemptStart = (attempt: number, startedAt: number, context: C | undefined): void => {
    if (this.#options.onAttemptStart) this.#emit('onAttemptStart', { attempt, startedAt, context });
  };
  readonly #onAttemptTimeout = (attempt: number, timeoutMs: number, context: C | undefined): void => {
    if (this.#options.onTimeout) this.#emit('onTimeout', { attempt, timeoutMs, context });
  };

  constructor(options: ExecutorOptions<C> = {}) {
    this.#options = resolveExecutorOptions<C>(options);
    this.#clock = this.#options.clock;
    this.#deadlines = new Deadlines(this.#clock);
    this.#nextSeed =
      this.#options.seed === undefined
        ? () => Math.floor(Math.random() * 4294967296)
        : seedStream(this.#options.seed);
  }

  /** Runs holding a slot now (an abandoned attempt no longer holds one). */
  get running(): number {
    return this.#running;
  }

  /** Runs waiting for a slot, in FIFO order. */
  get queued(): number {
    return this.#queue.length;
  }

  /** The concurrency limit this executor was built with. */
  get maxConcurrent(): number {
    return this.#options.maxConcurrent;
  }

  /**
   * Runs `action` now, or once a slot is free and the runs queued before it have started (a run
   * asked for from `onComplete` queues, and starts right after that callback). Resolves with the outcome of all its attempts;
   * throws a `SchedulerError` (`INVALID_OPTION`, `UNKNOWN_OPTION`) at once for invalid options.
   */
  run<T>(action: Action<T, C>, options?: RunOptions<C>): Promise<RunOutcome<Awaited<T>>> {
    if (typeof action !== 'function') throw invalidAction(action);
    const resolved = resolveRunOptions<C>(options);
    return new Promise<RunOutcome<unknown>>((resolve) => {
      const entry: RunEntry<C> = {
        action: action as Action<unknown, C>,
        options: resolved,
        seed: resolved.seed ?? this.#nextSeed(),
        enqueuedAt: this.#clock.monotonic(),
        resolve,
        cancel: { signal: resolved.signal, onAbort: undefined },
      };
      const { signal } = resolved;
      if (signal?.aborted) {
        this.#finishUnstarted(entry);
        return;
      }
      if (resolved.onCancelable) {
        try {
          resolved.onCancelable((reason) => cancelRun(entry, reason));
        } catch (error) {
          this.#reportCallbackError(error, 'onCancelable');
        }
      }
      if (signal) {
        // One listener for the whole run, whatever phase the abort finds it in.
        const onAbort = () => entry.cancel.onAbort?.();
        signal.addEventListener('abort', onAbort, { once: true });
        entry.unlisten = () => signal.removeEventListener('abort', onAbort);
      }
      // Started at once only when nothing waits ahead of it (FIFO) and no run is being settled:
      // a run() from `onComplete` goes to the queue, and the pump after that callback starts it
      // from its loop (a chain of synchronous runs started from `onComplete` would otherwise be
      // a recursion, one level per run, until the stack overflows).
      if (this.#running < this.#options.maxConcurrent && this.#queue.length === 0 && !this.#settling) {
        this.#start(entry);
      } else {
        this.#enqueue(entry);
        if (!this.#settling) this.#pump();
      }
    }) as Promise<RunOutcome<Awaited<T>>>;
  }

  /**
   * Waits until nothing is running or queued, or until `deadline` ms have passed on the clock.
   * Queued runs keep starting meanwhile; call `cancelQueued()` first to drop them instead.
   */
  drain(options?: DrainOptions): Promise<DrainResult> {
    const deadline = resolveDrainOptions(options);
    if (this.#isIdle()) return Promise.resolve(this.#drainResult());
    return new Promise<DrainResult>((resolve) => {
      const stop = new AbortController();
      const onIdle = () => {
        stop.abort();
        resolve(this.#drainResult());
      };
      this.#idleWaiters.add(onIdle);
      if (Number.isFinite(deadline)) {
        this.#clock.sleep(deadline, stop.signal).then(
          () => {
            this.#idleWaiters.delete(onIdle);
            resolve(this.#drainResult());
          },
          () => {}, // stopped because the executor went idle first
        );
      }
    });
  }

  /** Resolves every queued run as `cancelled` with no attempts. Returns how many there were. */
  cancelQueued(reason?: unknown): number {
    const entries = this.#queue.splice(0);
    for (const entry of entries) {
      this.#finishUnstarted(entry, reason);
    }
    this.#notifyIfIdle();
    return entries.length;
  }

  #enqueue(entry: RunEntry<C>): void {
    this.#queue.push(entry);
    entry.cancel.onAbort = () => {
      const index = this.#queue.indexOf(entry);
      if (index < 0) return;
      this.#queue.splice(index, 1);
      this.#finishUnstarted(entry);
      this.#notifyIfIdle();
    };
  }

  #start(entry: RunEntry<C>): void {
    this.#running++;
    entry.cancel.onAbort = undefined;
    let outcome: RunOutcome<unknown> | Promise<RunOutcome<unknown>>;
    try {
      outcome = this.#execute(entry);
    } catch (error) {
      outcome = this.#internalFailure(error);
    }
    if (isThenable(outcome)) {
      outcome.then(
        (ended) => this.#finishStarted(entry, ended),
        (error: unknown) => this.#finishStarted(entry, this.#internalFailure(error)),
      );
    } else {
      this.#finishStarted(entry, outcome);
    }
  }

  #finishStarted(entry: RunEntry<C>, outcome: RunOutcome<unknown>): void {
    this.#running--;
    const settling = this.#settling;
    this.#settling = true;
    try {
      this.#complete(entry, outcome);
    } finally {
      this.#settling = settling;
    }
    this.#pump();
    this.#notifyIfIdle();
  }

  /**
   * Starts queued runs while slots are free. Not re-entered: a run that ends synchronously inside
   * `#start` leaves its slot to the loop already going, so a queue of synchronous actions is a
   * loop, not a recursion a thousand calls deep.
   */
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#running < this.#options.maxConcurrent) {
        const next = this.#queue.shift();
        if (!next) return;
        this.#start(next);
      }
    } finally {
      this.#pumping = false;
    }
  }

  /**
   * All attempts of a run. The first attempt of a synchronous action that completes, or fails
   * with no retries allowed, ends the run synchronously (no promise per run: see `runAttempt`);
   * anything that waits goes on in `#attempts`.
   */
  #execute(entry: RunEntry<C>): RunOutcome<unknown> | Promise<RunOutcome<unknown>> {
    const clock = this.#clock;
    const startedAt = clock.now();
    const start = clock.monotonic();
    if (entry.cancel.signal?.aborted) return this.#attempts(entry, startedAt, start, undefined);
    const first = runAttempt(this.#plan(entry, 1));
    if (isThenable(first)) return this.#attempts(entry, startedAt, start, first);
    const status = first.record.status;
    // A failure with retries left goes on below (which asks `retryable`, once).
    if (status === 'completed' || entry.options.retries < 1) {
      return this.#outcome(entry, startedAt, start, status, [first.record], first, first.error);
    }
    return this.#attempts(entry, startedAt, start, first);
  }

  /**
   * The attempts of a run, the first one's result given when `#execute` started it already;
   * retries after a back-off, until one completes, is cancelled, or the retries run out.
   */
  async #attempts(
    entry: RunEntry<C>,
    startedAt: number,
    start: number,
    first: AttemptResult<unknown> | Promise<AttemptResult<unknown>> | undefined,
  ): Promise<RunOutcome<unknown>> {
    const clock = this.#clock;
    const { options } = entry;
    const { context } = options;
    const run = entry.cancel;
    const attempts: AttemptRecord[] = [];
    let status: RunStatus;
    let ended: AttemptResult<unknown> | undefined;
    let error: unknown;

    for (let attempt = 1; ; attempt++) {
      let result: AttemptResult<unknown>;
      if (attempt === 1 && first !== undefined) {
        result = await first;
      } else {
        if (run.signal?.aborted) {
          status = 'cancelled';
          error = cancelledError(run.signal, attempt);
          break;
        }
        result = await runAttempt(this.#plan(entry, attempt));
      }
      attempts.push(result.record);
      ended = result;
      error = result.error;
      const attemptStatus = result.record.status;
      if (attemptStatus === 'completed' || attemptStatus === 'cancelled') {
        status = attemptStatus;
        break;
      }
      if (attempt > options.retries || !this.#isRetryable(options, result.error)) {
        status = attemptStatus;
        break;
      }
      if (run.signal?.aborted) {
        // Cancelled while an aborted attempt was in its grace period: no retry will follow.
        status = 'cancelled';
        error = cancelledError(run.signal, attempt + 1);
        break;
      }
      const delayMs = computeBackoff(attempt + 1, options.backoff, entry.seed);
      this.#emit('onRetry', {
        attempt: attempt + 1,
        delayMs,
        error: result.record.error,
        cause: error,
        context,
      });
      try {
        await clock.sleep(delayMs, signalOf(run));
      } catch {
        // Only the run's signal can stop a back-off wait.
        status = 'cancelled';
        error = cancelledError(run.signal, attempt + 1);
        break;
      }
    }
    return this.#outcome(entry, startedAt, start, status, attempts, ended, error);
  }

  /** What one attempt needs from its run. */
  #plan(entry: RunEntry<C>, attempt: number): AttemptPlan<unknown, C> {
    const { options } = entry;
    return {
      clock: this.#clock,
      action: entry.action,
      attempt,
      timeout: options.timeout,
      abandonGraceMs: options.abandonGraceMs,
      context: options.context,
      deadlines: this.#deadlines,
      cancel: entry.cancel,
      onStart: this.#onAttemptStart,
      onTimeout: this.#onAttemptTimeout,
    };
  }

  /** The run's outcome from its attempts (`error`: why it did not complete). */
  #outcome(
    entry: RunEntry<C>,
    startedAt: number,
    start: number,
    status: RunStatus,
    attempts: AttemptRecord[],
    ended: AttemptResult<unknown> | undefined,
    error: unknown,
  ): RunOutcome<unknown> {
    const clock = this.#clock;
    const outcome: RunOutcome<unknown> = {
      status,
      attempts,
      startedAt,
      finishedAt: clock.now(),
      // Whole ms, rounded once here (the source): a monotonic clock reads fractions.
      durationMs: Math.round(clock.monotonic() - start),
      queuedMs: Math.round(start - entry.enqueuedAt),
    };
    if (status === 'completed') outcome.result = ended?.value;
    else setError(outcome, error);
    return outcome;
  }

  #isRetryable(options: ResolvedRunOptions<C>, error: unknown): boolean {
    try {
      return options.retryable(error) === true;
    } catch (predicateError) {
      // A broken predicate must not break the run: do not retry, and report it.
      this.#reportCallbackError(predicateError, 'retryable');
      return false;
    }
  }

  /** Resolves a run that never got a slot: cancelled through its signal or `cancelQueued()`. */
  #finishUnstarted(entry: RunEntry<C>, reason?: unknown): void {
    const now = this.#clock.now();
    const outcome: RunOutcome<unknown> = {
      status: 'cancelled',
      attempts: [],
      startedAt: now,
      finishedAt: now,
      durationMs: 0,
      queuedMs: Math.round(this.#clock.monotonic() - entry.enqueuedAt),
    };
    const error = entry.cancel.signal?.aborted
      ? cancelledError(entry.cancel.signal, 1)
      : new SchedulerError('The run was cancelled before it started', {
          code: 'JOB_CANCELLED',
          operation: 'Executor.cancelQueued',
          cause: reason,
        });
    setError(outcome, error);
    this.#complete(entry, outcome);
  }

  #complete(entry: RunEntry<C>, outcome: RunOutcome<unknown>): void {
    entry.done = true;
    entry.unlisten?.();
    if (this.#options.onComplete) this.#emit('onComplete', { outcome, context: entry.options.context });
    entry.resolve(outcome);
  }

  /** A bug in this package must still resolve the run, never reject it. */
  #internalFailure(cause: unknown): RunOutcome<unknown> {
    const now = this.#clock.now();
    const outcome: RunOutcome<unknown> = {
      status: 'failed',
      attempts: [],
      startedAt: now,
      finishedAt: now,
      durationMs: 0,
      queuedMs: 0,
    };
    setError(
      outcome,
      new SchedulerError('The executor failed internally', {
        code: 'INTERNAL',
        operation: 'Executor.run',
        cause,
        suggestion: 'Please report this with the cause attached.',
      }),
    );
    return outcome;
  }

  #isIdle(): boolean {
    return this.#running === 0 && this.#queue.length === 0;
  }

  #notifyIfIdle(): void {
    // Checked first: a synchronous run leaves the executor idle at its end, a thousand times a burst.
    if (this.#idleWaiters.size === 0 || !this.#isIdle()) return;
    const waiters = [...this.#idleWaiters];
    this.#idleWaiters.clear();
    for (const waiter of waiters) waiter();
  }

  #drainResult(): DrainResult {
    return { drained: this.#isIdle(), running: this.#running, queued: this.#queue.length };
  }

  #emit<K extends Exclude<CallbackName, 'retryable' | 'onCancelable'>>(
    name: K,
    payload: Parameters<NonNullable<ExecutorOptions<C>[K]>>[0],
  ): void {
    const callback = this.#options[name] as ((event: typeof payload) => unknown) | undefined;
    if (!callback) return;
    try {
      const returned = callback(payload);
      if (isThenable(returned))
        returned.then(undefined, (error: unknown) => this.#reportCallbackError(error, name));
    } catch (error) {
      this.#reportCallbackError(error, name);
    }
  }

  #reportCallbackError(error: unknown, name: CallbackName): void {
    const report = this.#options.onCallbackError;
    if (!report) return;
    try {
      const returned = report(error, name);
      if (isThenable(returned)) returned.then(undefined, () => {});
    } catch {
      // The last line of defence: nothing may escape into the run.
    }
  }
}

/** The run's signal, made now if it has none yet (a back-off wait needs one to be stopped). */
function signalOf(run: CancelHook): AbortSignal {
  if (!run.signal) {
    run.controller = new AbortController();
    run.signal = run.controller.signal;
  }
  return run.signal;
}

/**
 * What the function `onCancelable` hands out does: abort the run's own signal (made now if
 * needed), then tell whatever waits. Such a run has no caller's signal (the options refuse both).
 */
function cancelRun(entry: { cancel: CancelHook; done?: true }, reason: unknown): void {
  const run = entry.cancel;
  if (entry.done || run.signal?.aborted) return;
  signalOf(run);
  run.controller?.abort(reason);
  run.onAbort?.();
}

function setError(outcome: RunOutcome<unknown>, error: unknown): void {
  outcome.error = captureError(error);
  // Non-enumerable: the plugin can rethrow or log the original, JSON stays plain.
  Object.defineProperty(outcome, 'cause', { value: error, enumerable: false, configurable: true });
}

/** Seeds of per-run jitter as 32-bit integers, reproducible from the executor's seed. */
function seedStream(seed: number): () => number {
  const random = seededRandom(seed);
  return () => Math.floor(random() * 4294967296);
}
