export { computeBackoff } from './backoff.js';
export { Executor } from './executor.js';
export { DEFAULT_BACKOFF, RUN_LIMITS, resolveBackoff } from './options.js';
export type {
  Action,
  ActionContext,
  AttemptRecord,
  AttemptStartEvent,
  AttemptStatus,
  BackoffOptions,
  CallbackName,
  CapturedError,
  CompleteEvent,
  DrainOptions,
  DrainResult,
  ExecutorOptions,
  JitterMode,
  RetryEvent,
  RunOptions,
  RunOutcome,
  RunStatus,
  TimeoutEvent,
} from './types.js';
