import { type Clock, closestMatch, SchedulerError, systemClock } from '@s3-scheduler/core';
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
  'retryable',
  'abandonGraceMs',
  'seed',
  'context',
] as const;
const CALLBACK_KEYS: readonly Exclude<CallbackName, 'retryable'>[] = [
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

export function resolveRunOptions<C extends object>(options: unknown): ResolvedRunOptions<C> {
  const operation = 'Executor.run';
  const input = asOptionsObject<RunOptions<C>>(options, 'options', RUN_KEYS, operation);
  const {
    retries = 0,
    timeout = 0,
    abandonGraceMs = DEFAULT_ABANDON_GRACE_MS,
    retryable = defaultRetryable,
  } = input;
  if (!Number.isSafeInteger(retries) || retries < 0) {
    throw invalid(operation, 'retries', retries, 'a non-negative integer (0 means a single attempt)');
  }
  if (!isNonNegativeNumber(timeout)) {
    throw invalid(operation, 'timeout', timeout, 'a non-negative number of ms (0 means no timeout)');
  }
  if (!isNonNegativeNumber(abandonGraceMs)) {
    throw invalid(operation, 'abandonGraceMs', abandonGraceMs, 'a non-negative number of ms');
  }
  if (typeof retryable !== 'function') {
    throw invalid(operation, 'retryable', retryable, 'a function (error) => boolean');
  }
  if (input.signal !== undefined && !isAbortSignal(input.signal)) {
    throw invalid(operation, 'signal', input.signal, 'an AbortSignal');
  }
  if (input.seed !== undefined && !Number.isSafeInteger(input.seed)) {
    throw invalid(operation, 'seed', input.seed, 'an integer');
  }
  if (input.context !== undefined && (typeof input.context !== 'object' || input.context === null)) {
    throw invalid(operation, 'context', input.context, 'an object');
  }
  return {
    retries,
    timeout,
    backoff: resolveBackoff(input.backoff, operation),
    signal: input.signal,
    retryable,
    abandonGraceMs,
    seed: input.seed,
    context: input.context,
  };
}

export function resolveBackoff(backoff: unknown, operation: string): Required<BackoffOptions> {
  if (backoff === undefined) return { ...DEFAULT_BACKOFF };
  const input = asOptionsObject<BackoffOptions>(backoff, 'backoff', BACKOFF_KEYS, operation);
  const resolved = { ...DEFAULT_BACKOFF, ...withoutUndefined(input) };
  if (!Number.isFinite(resolved.initialMs) || resolved.initialMs < 0) {
    throw invalid(operation, 'backoff.initialMs', resolved.initialMs, 'a finite, non-negative number of ms');
  }
  if (!Number.isFinite(resolved.factor) || resolved.factor < 1) {
    throw invalid(
      operation,
      'backoff.factor',
      resolved.factor,
      'a finite number ≥ 1 (1 keeps the delay constant)',
    );
  }
  if (!isNonNegativeNumber(resolved.maxMs)) {
    throw invalid(
      operation,
      'backoff.maxMs',
      resolved.maxMs,
      'a non-negative number of ms (Infinity: no cap)',
    );
  }
  if (!JITTER_MODES.includes(resolved.jitter)) {
    throw invalid(
      operation,
      'backoff.jitter',
      resolved.jitter,
      `one of ${JITTER_MODES.map(quote).join(', ')}`,
    );
  }
  return resolved;
}

export interface ResolvedExecutorOptions<C extends object> extends ExecutorOptions<C> {
  clock: Clock;
  maxConcurrent: number;
}

export function resolveExecutorOptions<C extends object>(options: unknown): ResolvedExecutorOptions<C> {
  const operation = 'new Executor';
  const input = asOptionsObject<ExecutorOptions<C>>(options, 'options', EXECUTOR_KEYS, operation);
  const { clock = systemClock, maxConcurrent = Number.POSITIVE_INFINITY } = input;
  if (!isClock(clock)) {
    throw invalid(operation, 'clock', clock, 'an object with now(), monotonic() and sleep(ms, signal)');
  }
  if (
    !(
      maxConcurrent === Number.POSITIVE_INFINITY ||
      (Number.isSafeInteger(maxConcurrent) && maxConcurrent >= 1)
    )
  ) {
    throw invalid(operation, 'maxConcurrent', maxConcurrent, 'a positive integer or Infinity');
  }
  if (input.seed !== undefined && !Number.isSafeInteger(input.seed)) {
    throw invalid(operation, 'seed', input.seed, 'an integer');
  }
  for (const key of [...CALLBACK_KEYS, 'onCallbackError'] as const) {
    if (input[key] !== undefined && typeof input[key] !== 'function') {
      throw invalid(operation, key, input[key], 'a function');
    }
  }
  return { ...input, clock, maxConcurrent };
}

export function resolveDrainOptions(options: unknown): number {
  const input = asOptionsObject<DrainOptions>(options, 'options', ['deadline'], 'Executor.drain');
  const { deadline = Number.POSITIVE_INFINITY } = input;
  if (!isNonNegativeNumber(deadline)) {
    throw invalid('Executor.drain', 'deadline', deadline, 'a non-negative number of ms');
  }
  return deadline;
}

export function invalidAction(action: unknown): SchedulerError {
  return invalid('Executor.run', 'action', action, 'a function (context) => value or promise');
}

function asOptionsObject<T>(value: unknown, name: string, known: readonly string[], operation: string): T {
  if (value === undefined) return {} as T;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(operation, name, value, 'an object');
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      const close = closestMatch(key, known);
      throw new SchedulerError(`Unknown option \`${name === 'options' ? key : `${name}.${key}`}\``, {
        code: 'UNKNOWN_OPTION',
        operation,
        metadata: { option: key, known: [...known] },
        suggestion: close
          ? `Did you mean \`${close}\`? Known options: ${known.join(', ')}.`
          : `Known options: ${known.join(', ')}.`,
      });
    }
  }
  return value as T;
}

function invalid(operation: string, option: string, value: unknown, expected: string): SchedulerError {
  return new SchedulerError(`\`${option}\` must be ${expected}, got ${show(value)}`, {
    code: 'INVALID_OPTION',
    operation,
    metadata: { option, value: serialisable(value) },
    suggestion: `Pass ${expected} as \`${option}\`, or leave it out for the default.`,
  });
}

function isNonNegativeNumber(value: unknown): value is number {
  return typeof value === 'number' && !Number.isNaN(value) && value >= 0;
}

function isAbortSignal(value: unknown): value is AbortSignal {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AbortSignal).aborted === 'boolean' &&
    typeof (value as AbortSignal).addEventListener === 'function'
  );
}

function isClock(value: unknown): value is Clock {
  if (typeof value !== 'object' || value === null) return false;
  const clock = value as Record<string, unknown>;
  return (
    typeof clock.now === 'function' &&
    typeof clock.monotonic === 'function' &&
    typeof clock.sleep === 'function'
  );
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as Partial<T>;
}

function quote(value: string): string {
  return `'${value}'`;
}

function show(value: unknown): string {
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}

/** Metadata must stay JSON-friendly: numbers and strings as given, anything else described. */
function serialisable(value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (
    typeof value === 'string' ||
    typeof value === 'number' ||
    typeof value === 'boolean' ||
    value === null
  ) {
    return value;
  }
  return show(value);
}
