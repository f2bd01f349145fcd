export { abortReason, isAbortError } from './abort.js';
export { exponentialBackoff } from './backoff.js';
export { type CapturedError, captureError } from './capture-error.js';
export { type Clock, MAX_TIMER_MS, SystemClock, systemClock } from './clock.js';
export { closestMatch } from './closest-match.js';
export { KeyedQueue, Limiter, runWithConcurrency } from './concurrency.js';
export { ERROR_CODES, isKnownErrorCode, type SchedulerErrorCode } from './error-codes.js';
export { createNonce, createRunId, createWorkerId, runIdTime } from './ids.js';
export { isoInstant } from './iso-instant.js';
export { hashString, seededRandom } from './random.js';
export { isSecretKey, MAX_TEXT_LENGTH, REDACTED, redactText, redactValue } from './redact.js';
export {
  isSchedulerError,
  SchedulerError,
  type SchedulerErrorJSON,
  type SchedulerErrorOptions,
} from './scheduler-error.js';
export { type SleepOptions, sleep } from './sleep.js';
export {
  checkBoolean,
  checkEnum,
  checkFunction,
  checkInstant,
  checkInteger,
  checkKnownKeys,
  checkMethods,
  checkNumber,
  checkOptions,
  checkString,
  invalidOption,
  MAX_INSTANT_MS,
  MAX_SHOWN_LENGTH,
  metadataValue,
  type RangeRule,
  type StringRule,
  showValue,
  snapshotObject,
  type Where,
} from './validate.js';
