import type { CapturedError } from '@s3-scheduler/core';

export type { CapturedError };

import type { Clock } from '@s3-scheduler/core';

/** How the delay grows between attempts. Every field is optional; missing ones take the default. */
export interface BackoffOptions {
  /**
   * Delay before the second attempt, in ms.
   * @default 1000
   */
  initialMs?: number;
  /**
   * Each further delay is the previous one times this (≥ 1).
   * @default 2
   */
  factor?: number;
  /**
   * No delay is longer than this, in ms (`Infinity` for no cap).
   * @default 300000 (5 minutes)
   */
  maxMs?: number;
  /**
   * `'none'`: exactly the computed delay `d`. `'full'`: uniform in [0, d]. `'equal'`: d/2 plus uniform
   * in [0, d/2]. The random part comes from the run's `seed`, so a seed reproduces the same delays.
   * @default 'none'
   */
  jitter?: JitterMode;
}

export type JitterMode = 'none' | 'full' | 'equal';

/** What the action receives: the run's `context`, plus the attempt number and its signal. */
export type ActionContext<C extends object = Record<string, unknown>> = C & {
  /** 1 for the first attempt, 2 for the first retry, and so on. */
  readonly attempt: number;
  /** Aborts when this attempt times out (reason: `JOB_TIMEOUT`) or the run is cancelled (`JOB_CANCELLED`). */
  readonly signal: AbortSignal;
};

/** The work an executor runs. It may return a value or a promise, throw, or never settle. */
export type Action<T, C extends object = Record<string, unknown>> = (
  context: ActionContext<C>,
) => T | PromiseLike<T>;

export interface RunOptions<C extends object = Record<string, unknown>> {
  /**
   * Retries after the first failure: `0` means a single attempt, `N` at most N + 1 attempts.
   * @default 0
   */
  retries?: number;
  /**
   * Per-attempt timeout in ms; on expiry the attempt's signal aborts. `0` (or `Infinity`) means none.
   * @default 0
   */
  timeout?: number;
  /** Delays between attempts. @default { initialMs: 1000, factor: 2, maxMs: 300000, jitter: 'none' } */
  backoff?: BackoffOptions;
  /** Cancels the run: aborts the running attempt and stops a back-off wait or a queue wait at once. */
  signal?: AbortSignal;
  /**
   * Instead of `signal` (not with it): called once, synchronously inside `run()`, with a function
   * that cancels the run exactly as aborting a `signal` with `reason` would; calling it after the
   * run ended does nothing. For callers that start thousands of runs a second and cancel few of
   * them: no AbortSignal is made unless the run is cancelled.
   */
  onCancelable?: (cancel: (reason?: unknown) => void) => void;
  /**
   * Whether a failed or timed-out attempt may be retried. Receives the value the action threw (a
   * `SchedulerError` with code `JOB_TIMEOUT` for a timeout).
   * @default error => error?.retriable !== false
   */
  retryable?: (error: unknown) => boolean;
  /**
   * After aborting an attempt (timeout or cancellation), how long to wait for it to settle before
   * recording it `abandoned` and moving on, in ms. `Infinity` waits for as long as it takes.
   * @default 5000
   */
  abandonGraceMs?: number;
  /** Seed of the back-off jitter (an integer). Defaults to one drawn from the executor's generator. */
  seed?: number;
  /** Spread into the action's context, and handed to every callback of this run. */
  context?: C;
}

/** A serialisable copy of an error: safe to store in history and to log (secrets are redacted). */

export type AttemptStatus = 'completed' | 'failed' | 'timeout' | 'cancelled';
export type RunStatus = 'completed' | 'failed' | 'timeout' | 'cancelled';

export interface AttemptRecord {
  /** 1-based attempt number. */
  attempt: number;
  /** Wall-clock start, ms since the epoch (`clock.now()`). */
  startedAt: number;
  /**
   * Wall-clock end, ms since the epoch: when the attempt settled or was abandoned, which is when the
   * next attempt may begin (after a timeout this is later than `startedAt + timeout`).
   */
  finishedAt: number;
  /** Monotonic duration from start to `finishedAt`, in whole ms (rounded). */
  durationMs: number;
  /** How the attempt ended, decided by whichever came first: settling, its timeout, cancellation. */
  status: AttemptStatus;
  error?: CapturedError;
  /** Present (true) when the attempt did not settle within `abandonGraceMs` after its abort. */
  abandoned?: true;
}

export interface RunOutcome<T> {
  status: RunStatus;
  /** The action's value, when `status` is `completed`. */
  result?: T;
  /** The error that ended the run: the last attempt's error, or `JOB_CANCELLED` on cancellation. */
  error?: CapturedError;
  attempts: AttemptRecord[];
  /** Wall-clock time the run left the queue (or was cancelled in it), ms since the epoch. */
  startedAt: number;
  /** Wall-clock time the run's promise resolved, ms since the epoch. */
  finishedAt: number;
  /** Monotonic time from `startedAt` to `finishedAt`, back-off waits included, in whole ms (rounded). */
  durationMs: number;
  /** Monotonic time spent waiting for a slot under `maxConcurrent`, in whole ms (rounded). */
  queuedMs: number;
  /** The original value behind `error` (non-enumerable, so it stays out of JSON). */
  readonly cause?: unknown;
}

export interface AttemptStartEvent<C extends object> {
  attempt: number;
  startedAt: number;
  context: C | undefined;
}

export interface RetryEvent<C extends object> {
  /** The attempt about to start after the delay (2 for the first retry). */
  attempt: number;
  /** The back-off wait before it, in ms. */
  delayMs: number;
  /** The failed attempt's error. */
  error: CapturedError | undefined;
  /** The original value behind `error`. */
  cause: unknown;
  context: C | undefined;
}

export interface TimeoutEvent<C extends object> {
  attempt: number;
  timeoutMs: number;
  context: C | undefined;
}

export interface CompleteEvent<T, C extends object> {
  outcome: RunOutcome<T>;
  context: C | undefined;
}

/** The callbacks of an executor, and the `retryable` predicate of a run: whose error `onCallbackError` got. */
export type CallbackName =
  | 'onAttemptStart'
  | 'onRetry'
  | 'onTimeout'
  | 'onComplete'
  | 'retryable'
  | 'onCancelable';

export interface ExecutorOptions<C extends object = Record<string, unknown>> {
  /** The source of time. @default systemClock */
  clock?: Clock;
  /** Runs executing at once; further runs wait in a FIFO queue. @default Infinity */
  maxConcurrent?: number;
  /** Seeds the generator of per-run jitter seeds, for reproducible simulations. @default random */
  seed?: number;
  /** Called as each attempt starts. */
  onAttemptStart?: (event: AttemptStartEvent<C>) => unknown;
  /** Called when an attempt failed and another one will follow after `delayMs`. */
  onRetry?: (event: RetryEvent<C>) => unknown;
  /** Called when an attempt's timeout fires, right after its signal was aborted. */
  onTimeout?: (event: TimeoutEvent<C>) => unknown;
  /** Called once per run, just before its promise resolves (also for runs cancelled in the queue). */
  onComplete?: (event: CompleteEvent<unknown, C>) => unknown;
  /** Receives whatever a callback threw or rejected with. Callback errors never affect a run. */
  onCallbackError?: (error: unknown, callback: CallbackName) => unknown;
}

export interface DrainOptions {
  /** Longest wait in ms, measured on the executor's clock. @default Infinity */
  deadline?: number;
}

export interface DrainResult {
  /** True when no run was running or queued at the end. */
  drained: boolean;
  running: number;
  queued: number;
}
