import {
  type Clock,
  checkEnum,
  checkFunction,
  checkInteger,
  checkMethods,
  checkNumber,
  checkOptions,
  invalidOption,
  type SchedulerError,
  systemClock,
} from '@s3-scheduler/core';
import type {
  BackoffOptions,
  CallbackName,
  DrainOptions,
  ExecutorOptions,
  JitterMode,
  RunOptions,
} from './types.js';

/** Defaults of `backoff`: 1 s, 2 s, 4 s … as the design's table, capped at 5 minutes, no jitter. */
export const DEFAULT_BACKOFF: Readonly<Required<BackoffOptions>> = Object.freeze({
  initialMs: 1000,
  factor: 2,
  maxMs: 5 * 60 * 1000,
  jitter: 'none',
});

/** How long an aborted attempt gets to settle before it is abandoned. */
export const DEFAULT_ABANDON_GRACE_MS = 5000;

const JITTER_MODES: readonly JitterMode[] = ['none', 'full', 'equal'];
const BACKOFF_KEYS = ['initialMs', 'factor', 'maxMs', 'jitter'] as const;
const RUN_KEYS = [
  'retries',
  'timeout',
  'backoff',
  'signal',
  'onCancelable',
  'retryable',
  'abandonGraceMs',
  'seed',
  'context',
] as const;
const CALLBACK_KEYS: readonly Exclude<CallbackName, 'retryable' | 'onCancelable'>[] = [
  'onAttemptStart',
  'onRetry',
  'onTimeout',
  'onComplete',
];
const EXECUTOR_KEYS = ['clock', 'maxConcurrent', 'seed', ...CALLBACK_KEYS, 'onCallbackError'] as const;

export interface ResolvedRunOptions<C extends object> {
  retries: number;
  timeout: number;
  backoff: Required<BackoffOptions>;
  signal: AbortSignal | undefined;
  onCancelable: ((cancel: (reason?: unknown) => void) => void) | undefined;
  retryable: (error: unknown) => boolean;
  abandonGraceMs: number;
  seed: number | undefined;
  context: C | undefined;
}

/** Retry unless the error says it cannot succeed (`retriable: false`, as `SchedulerError` does). */
export function defaultRetryable(error: unknown): boolean {
  return !(
    typeof error === 'object' &&
    error !== null &&
    (error as { retriable?: unknown }).retriable === false
  );
}

/**
 * Upper bounds of the run options: values beyond them are mistakes (`retries: 1e20` would keep a
 * run going for ever), refused with `INVALID_OPTION`.
 */
export const RUN_LIMITS = Object.freeze({
  /** Most retries of one run. */
  retries: 100,
  /** Longest attempt timeout: 7 days (0 means no timeout). */
  timeoutMs: 7 * 86_400_000,
  /** Longest grace for an aborted attempt: 1 hour. */
  abandonGraceMs: 3_600_000,
  /** Longest first back-off delay, and longest delay whatever `maxMs` and `factor` say: 1 day. */
  backoffMs: 86_400_000,
  /** Largest back-off factor. */
  backoffFactor: 100,
});

/** A finite number in `[0, max]` (what `checkNumber` accepts with this `max`). */
function inRange(value: unknown, max: number): value is number {
  return typeof value === 'number' && value >= 0 && value <= max;
}

export function resolveRunOptions<C extends object>(options: unknown): ResolvedRunOptions<C> {
  const operation = 'Executor.run';
  const input = checkOptions(options, RUN_KEYS, { operation, option: 'options' }) as RunOptions<C>;
  const at = (option: string) => ({ operation, option });
  // Valid values (every run's, nearly always) pass inline checks; the checkers below only build
  // their descriptions (and the error) for a value that fails them. A run is started per slot.
  const retriesIn = input.retries ?? 0;
  const retries =
    Number.isInteger(retriesIn) && retriesIn >= 0 && retriesIn <= RUN_LIMITS.retries
      ? retriesIn
      : checkInteger(retriesIn, at('retries'), { max: RUN_LIMITS.retries });
  // 0 and Infinity both mean no timeout (as documented); a finite timeout has an upper bound.
  const timeoutIn = input.timeout ?? 0;
  const timeout =
    timeoutIn === Number.POSITIVE_INFINITY || inRange(timeoutIn, RUN_LIMITS.timeoutMs)
      ? timeoutIn
      : checkNumber(timeoutIn, at('timeout'), {
          max: RUN_LIMITS.timeoutMs,
          unit: 'ms (0 or Infinity: no timeout)',
        });
  const graceIn = input.abandonGraceMs ?? DEFAULT_ABANDON_GRACE_MS;
  const abandonGraceMs =
    graceIn === Number.POSITIVE_INFINITY || inRange(graceIn, RUN_LIMITS.abandonGraceMs)
      ? graceIn
      : checkNumber(graceIn, at('abandonGraceMs'), {
          max: RUN_LIMITS.abandonGraceMs,
          unit: 'ms (Infinity: wait as long as it takes)',
        });
  const retryable =
    input.retryable === undefined
      ? defaultRetryable
      : checkFunction<(error: unknown) => boolean>(
          input.retryable,
          at('retryable'),
          'a function (error) => boolean',
        );
  if (input.signal !== undefined && !isAbortSignal(input.signal)) {
    throw invalidOption(at('signal'), input.signal, 'an AbortSignal');
  }
  if (input.onCancelable !== undefined) {
    checkFunction(input.onCancelable, at('onCancelable'), 'a function (cancel) => void');
    if (input.signal !== undefined) {
      throw invalidOption(
        at('onCancelable'),
        input.onCancelable,
        'left out when a signal is given',
        'Pass either signal or onCancelable, not both.',
      );
    }
  }
  if (input.seed !== undefined && !Number.isSafeInteger(input.seed)) {
    throw invalidOption(at('seed'), input.seed, 'an integer');
  }
  if (input.context !== undefined && (typeof input.context !== 'object' || input.context === null)) {
    throw invalidOption(at('context'), input.context, 'an object');
  }
  return {
    retries,
    timeout,
    // Frozen and only ever read: shared by every run without back-off options.
    backoff: input.backoff === undefined ? DEFAULT_BACKOFF : resolveBackoff(input.backoff, operation),
    signal: input.signal,
    onCancelable: input.onCancelable,
    retryable,
    abandonGraceMs,
    seed: input.seed,
    context: input.context,
  };
}

/** The back-off options with defaults filled in; throws `INVALID_OPTION` / `UNKNOWN_OPTION`. */
export function resolveBackoff(backoff: unknown, operation: string): Required<BackoffOptions> {
  if (backoff === undefined) return { ...DEFAULT_BACKOFF };
  const input = checkOptions(backoff, BACKOFF_KEYS, { operation, option: 'backoff' }) as BackoffOptions;
  const at = (option: string) => ({ operation, option: `backoff.${option}` });
  return {
    initialMs: checkNumber(input.initialMs ?? DEFAULT_BACKOFF.initialMs, at('initialMs'), {
      max: RUN_LIMITS.backoffMs,
      unit: 'ms',
    }),
    factor: checkNumber(input.factor ?? DEFAULT_BACKOFF.factor, at('factor'), {
      min: 1,
      max: RUN_LIMITS.backoffFactor,
      unit: '(1 keeps the delay constant)',
    }),
    // Infinity means no cap of its own; delays stay within RUN_LIMITS.backoffMs anyway.
    maxMs: checkNumber(input.maxMs ?? DEFAULT_BACKOFF.maxMs, at('maxMs'), {
      max: Number.POSITIVE_INFINITY,
      unit: 'ms (Infinity: no cap but the 1-day limit)',
    }),
    jitter: checkEnum(input.jitter ?? DEFAULT_BACKOFF.jitter, JITTER_MODES, at('jitter')),
  };
}

export interface ResolvedExecutorOptions<C extends object> extends ExecutorOptions<C> {
  clock: Clock;
  maxConcurrent: number;
}

export function resolveExecutorOptions<C extends object>(options: unknown): ResolvedExecutorOptions<C> {
  const operation = 'new Executor';
  const input = checkOptions(options, EXECUTOR_KEYS, { operation, option: 'options' }) as ExecutorOptions<C>;
  const at = (option: string) => ({ operation, option });
  const clock = checkMethods<Clock>(
    input.clock ?? systemClock,
    ['now', 'monotonic', 'sleep'],
    at('clock'),
    'a Clock',
  );
  const { maxConcurrent = Number.POSITIVE_INFINITY } = input;
  if (maxConcurrent !== Number.POSITIVE_INFINITY)
    checkInteger(maxConcurrent, at('maxConcurrent'), { min: 1 });
  if (input.seed !== undefined && !Number.isSafeInteger(input.seed)) {
    throw invalidOption(at('seed'), input.seed, 'an integer');
  }
  for (const key of [...CALLBACK_KEYS, 'onCallbackError'] as const) {
    if (input[key] !== undefined) checkFunction(input[key], at(key));
  }
  return { ...input, clock, maxConcurrent };
}

export function resolveDrainOptions(options: unknown): number {
  const operation = 'Executor.drain';
  const input = checkOptions(options, ['deadline'], { operation, option: 'options' }) as DrainOptions;
  return checkNumber(
    input.deadline ?? Number.POSITIVE_INFINITY,
    { operation, option: 'deadline' },
    {
      max: Number.POSITIVE_INFINITY,
      unit: 'ms',
    },
  );
}

export function invalidAction(action: unknown): SchedulerError {
  return invalidOption(
    { operation: 'Executor.run', option: 'action' },
    action,
    'a function (context) => value or promise',
  );
}

function isAbortSignal(value: unknown): value is AbortSignal {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AbortSignal).aborted === 'boolean' &&
    typeof (value as AbortSignal).addEventListener === 'function'
  );
}
