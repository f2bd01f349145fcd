import { redactText, redactValue } from './redact.js';

/**
 * What a run's error is from the executor to history: plain JSON, secrets redacted. `code` is a
 * `SchedulerError` code or the thrown error's own `code`; `stack` only where kept.
 */
export interface CapturedError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
}

/**
 * A plain, JSON-safe copy of whatever an action threw: `name`, `message`, `code` and `stack`, with
 * secrets redacted (messages of failed S3 calls can carry presigned URLs). A value that is not an
 * error (`throw 'boom'`, `reject(undefined)`) becomes a `JOB_FAILED` description of that value.
 * Messages and stacks are cut at 8,192 characters (names and codes at 100) before they are
 * redacted, so a 40 KB message costs no more than a short one.
 */
export function captureError(error: unknown): CapturedError {
  if (isErrorLike(error)) {
    const { name, message, code, stack } = error as {
      name?: unknown;
      message: string;
      code?: unknown;
      stack?: unknown;
    };
    const captured: CapturedError = {
      name: typeof name === 'string' && name !== '' ? redactText(name, 100) : 'Error',
      message: redactText(message),
    };
    if (typeof code === 'string' || typeof code === 'number') captured.code = redactText(String(code), 100);
    if (typeof stack === 'string') captured.stack = redactText(stack);
    return captured;
  }
  return {
    name: 'SchedulerError',
    message: redactText(`The action threw a value that is not an Error: ${describe(error)}`),
    code: 'JOB_FAILED',
  };
}

function isErrorLike(value: unknown): boolean {
  return (
    value instanceof Error ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as { message?: unknown }).message === 'string')
  );
}

function describe(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 500 ? `${value.slice(0, 500)}…` : value);
  if (typeof value === 'object' && value !== null) {
    try {
      // Redact first: a thrown options object may hold a password under a telling key.
      const json = JSON.stringify(redactValue(value));
      if (json !== undefined) return json.length > 500 ? `${json.slice(0, 500)}…` : json;
    } catch {
      // A cycle or a throwing toJSON: fall back to the tag below.
    }
    return Object.prototype.toString.call(value);
  }
  return String(value);
}
