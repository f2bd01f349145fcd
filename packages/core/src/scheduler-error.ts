import { ERROR_CODES, isKnownErrorCode, type SchedulerErrorCode } from './error-codes.js';
import { redactText, redactValue } from './redact.js';

/** Marks every `SchedulerError`, whichever copy of this package created it. */
const BRAND = Symbol.for('@s3-scheduler/core.SchedulerError');

export interface SchedulerErrorOptions {
  /** A documented code; user code may use its own strings (they are kept as given). */
  code?: SchedulerErrorCode | (string & {});
  /** Whether retrying the same operation can succeed. Defaults from the code or `statusCode`. */
  retriable?: boolean;
  /** What the reader should do about it. */
  suggestion?: string;
  /** The operation that failed, such as `addJob` or `put`. */
  operation?: string;
  /** Facts about the failure: the offending value, the job name, the key. Secrets are redacted. */
  metadata?: Record<string, unknown>;
  /** A longer explanation; defaults to the code's description. */
  description?: string;
  /** An HTTP-like status; defaults from the code. */
  statusCode?: number;
  /** The underlying error. */
  cause?: unknown;
}

export interface SchedulerErrorJSON {
  name: 'SchedulerError';
  code: string;
  message: string;
  retriable: boolean;
  statusCode: number;
  suggestion?: string;
  operation?: string;
  description?: string;
  metadata: Record<string, unknown>;
  cause?: { name: string; message: string; code?: string };
}

/**
 * The one error class of s3-scheduler. Every failure a user can act on carries a `code`, the
 * offending value in `metadata` and a `suggestion`. Messages and metadata are redacted at
 * construction, so no secret can leak through `message`, `toJSON()` or a logged stack.
 */
export class SchedulerError extends Error {
  override readonly name = 'SchedulerError' as const;
  readonly code: SchedulerErrorCode | (string & {});
  readonly retriable: boolean;
  readonly suggestion: string | undefined;
  readonly operation: string | undefined;
  readonly metadata: Record<string, unknown>;
  readonly description: string | undefined;
  readonly statusCode: number;

  constructor(message: string, options: SchedulerErrorOptions = {}) {
    super(redactText(String(message)), options.cause === undefined ? undefined : { cause: options.cause });
    const code = options.code ?? 'UNKNOWN';
    const known = isKnownErrorCode(code) ? ERROR_CODES[code] : undefined;
    this.code = code;
    this.statusCode = options.statusCode ?? known?.statusCode ?? 500;
    this.retriable = options.retriable ?? defaultRetriable(known?.retriable, options.statusCode);
    this.suggestion = options.suggestion === undefined ? undefined : redactText(options.suggestion);
    this.operation = options.operation;
    this.metadata = (redactValue(options.metadata ?? {}) as Record<string, unknown>) ?? {};
    this.description =
      options.description === undefined ? known?.description : redactText(options.description);
    Object.defineProperty(this, BRAND, { value: true });
    if (this.stack) this.stack = redactText(this.stack);
  }

  /**
   * What `util.inspect` (and so `console.log`) shows: the redacted stack and fields, and the cause
   * as its redacted summary. Node would otherwise print the cause's own message and stack as they
   * are, and a cause (a failed S3 call, a user's error) may carry a secret.
   */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const { name: _name, message: _message, ...fields } = this.toJSON();
    return `${this.stack ?? `${this.name}: ${this.message}`} ${JSON.stringify(fields, null, 2)}`;
  }

  /** The spec's examples read `error.context`; it is the same object as `metadata`. */
  get context(): Record<string, unknown> {
    return this.metadata;
  }

  /** Recognises a `SchedulerError` from any copy of this package, not only this one. */
  static is(value: unknown): value is SchedulerError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  /** Makes `instanceof` agree with `SchedulerError.is` across package copies. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return SchedulerError.is(value);
  }

  toJSON(): SchedulerErrorJSON {
    const json: SchedulerErrorJSON = {
      name: this.name,
      code: this.code,
      message: this.message,
      retriable: this.retriable,
      statusCode: this.statusCode,
      metadata: this.metadata,
    };
    if (this.suggestion !== undefined) json.suggestion = this.suggestion;
    if (this.operation !== undefined) json.operation = this.operation;
    if (this.description !== undefined) json.description = this.description;
    const cause = summarizeCause(this.cause);
    if (cause) json.cause = cause;
    return json;
  }
}

/** Same as `SchedulerError.is`, as a free function for `catch` blocks and filters. */
export function isSchedulerError(value: unknown): value is SchedulerError {
  return SchedulerError.is(value);
}

function defaultRetriable(fromCode: boolean | undefined, statusCode: number | undefined): boolean {
  if (statusCode !== undefined) return statusCode >= 500 || statusCode === 429 || statusCode === 408;
  return fromCode ?? true;
}

function summarizeCause(cause: unknown): SchedulerErrorJSON['cause'] {
  if (cause === undefined || cause === null) return undefined;
  if (typeof cause === 'object') {
    const { name, message, code } = cause as { name?: unknown; message?: unknown; code?: unknown };
    const summary: NonNullable<SchedulerErrorJSON['cause']> = {
      name: typeof name === 'string' ? name : 'Error',
      message: redactText(typeof message === 'string' ? message : String(cause)),
    };
    if (typeof code === 'string') summary.code = code;
    return summary;
  }
  return { name: typeof cause, message: redactText(String(cause)) };
}
