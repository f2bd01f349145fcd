import { closestMatch } from './closest-match.js';
import type { SchedulerErrorCode } from './error-codes.js';
import { SchedulerError } from './scheduler-error.js';

/**
 * The one validation mechanism of s3-scheduler. Every package checks its options and arguments
 * with these functions, so every refusal is a `SchedulerError` of the same shape: a `code`, a
 * message naming the option and showing the offending value truthfully (`NaN`, `Infinity`, long
 * strings cut), `metadata: { option, value, jobName? }` and a suggestion. Every check is linear
 * in its input and never calls user code (no getters beyond plain property reads, no toString).
 */

/** Where a value came from: the operation the user called and the option (or argument) name. */
export interface Where {
  operation: string;
  option: string;
  /** The job the option belongs to, if any: named in the message and metadata. */
  jobName?: string;
}

/** Strings shown in messages and metadata are cut to this many characters. */
export const MAX_SHOWN_LENGTH = 100;

/**
 * A short, truthful description of any value for an error message: `NaN`, `Infinity`, `-0`,
 * `10n`, `'text'` (cut at `maxLength` with a count of what was left out), `an array of 3
 * items`, `an object with keys a, b`, `a Map`, `a function`, `Invalid Date`. Never throws.
 */
export function showValue(value: unknown, maxLength = MAX_SHOWN_LENGTH): string {
  try {
    switch (typeof value) {
      case 'string':
        return JSON.stringify(cut(value, maxLength));
      case 'number':
        return Object.is(value, -0) ? '-0' : String(value);
      case 'bigint':
        return `${cut(String(value), maxLength)}n`;
      case 'boolean':
      case 'undefined':
        return String(value);
      case 'symbol':
        return cut(value.toString(), maxLength);
      case 'function':
        return 'a function';
    }
    if (value === null) return 'null';
    if (value instanceof Date) {
      const ms = value.getTime();
      return Number.isNaN(ms) ? 'Invalid Date' : `a Date (${new Date(ms).toISOString()})`;
    }
    if (Array.isArray(value)) return `an array of ${value.length} item${value.length === 1 ? '' : 's'}`;
    const proto = Object.getPrototypeOf(value) as { constructor?: unknown } | null;
    if (proto !== null && proto !== Object.prototype) {
      const ctor = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value as
        | { name?: unknown }
        | undefined;
      const name = typeof ctor?.name === 'string' && ctor.name !== '' ? ctor.name : 'object';
      return `a ${cut(name, 40)}`;
    }
    const keys = Object.keys(value as object);
    if (keys.length === 0) return 'an object';
    const shown = keys.slice(0, 5).map((key) => cut(key, 30));
    return `an object with keys ${shown.join(', ')}${keys.length > 5 ? ` and ${keys.length - 5} more` : ''}`;
  } catch {
    return 'an unreadable value';
  }
}

/**
 * A JSON-friendly copy of a value for `metadata.value`: booleans, `null` and finite numbers as
 * they are, strings cut, anything else (`NaN`, `Infinity`, objects, functions) as `showValue`.
 */
export function metadataValue(value: unknown): unknown {
  if (typeof value === 'string') return cut(value, MAX_SHOWN_LENGTH);
  if (typeof value === 'boolean' || value === null) return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  return showValue(value);
}

function cut(text: string, maxLength: number): string {
  return text.length <= maxLength
    ? text
    : `${text.slice(0, maxLength)}… (${text.length - maxLength} more characters)`;
}

/**
 * The error every check throws: "`<owner>'option' must be <expected>, got <value>`", with
 * `metadata: { option, value, jobName? }` and a suggestion (by default: pass `expected`).
 */
export function invalidOption(
  where: Where,
  value: unknown,
  expected: string,
  suggestion?: string,
  code: SchedulerErrorCode = 'INVALID_OPTION',
): SchedulerError {
  const owner = where.jobName === undefined ? '' : `Job ${showValue(where.jobName, 60)} option `;
  return new SchedulerError(`${owner}'${where.option}' must be ${expected}, got ${showValue(value)}`, {
    code,
    operation: where.operation,
    metadata: {
      option: where.option,
      value: metadataValue(value),
      ...(where.jobName === undefined ? {} : { jobName: cut(where.jobName, MAX_SHOWN_LENGTH) }),
    },
    suggestion: suggestion ?? `Pass ${expected} as '${where.option}', or leave it out for the default.`,
  });
}

/**
 * An options object: `undefined` is `{}`; `null`, arrays and anything not a plain object are an
 * `INVALID_OPTION`; unknown keys (typos, `__proto__`, `constructor`) are an `UNKNOWN_OPTION` that
 * names the closest known key. Returns a plain copy, each property read once: use it, not the
 * original, so what was checked is what is used.
 */
export function checkOptions(
  value: unknown,
  known: readonly string[],
  where: Where,
): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidOption(where, value, 'an object', `Pass an object with some of: ${known.join(', ')}.`);
  }
  const copy = snapshotObject(value, where);
  checkKnownKeys(copy, known, where);
  return copy;
}

/**
 * A plain copy of the own enumerable properties, each read once: a getter (or a Proxy) cannot
 * answer one thing to the check and another to the code that uses the value, and one that throws
 * is an `INVALID_OPTION` here instead of a TypeError later, in the middle of a run.
 */
export function snapshotObject(value: object, where: Where): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  try {
    for (const key of Object.keys(value)) {
      const property = (value as Record<string, unknown>)[key];
      // A plain assignment would set the copy's prototype for `__proto__`; every other key is
      // assigned (defining each property was a measurable cost at a thousand runs a second).
      if (key === '__proto__') {
        Object.defineProperty(copy, key, {
          value: property,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else {
        copy[key] = property;
      }
    }
  } catch {
    throw invalidOption(
      where,
      value,
      'an object whose properties can be read',
      'Pass plain data, without getters that throw.',
    );
  }
  return copy;
}

/** Throws `UNKNOWN_OPTION` for the first own key not in `known`, naming the closest known one. */
export function checkKnownKeys(options: object, known: readonly string[], where: Where): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    // Long keys are cut before the edit distance, which is quadratic in their length.
    const closest = closestMatch(cut(key, 64), known);
    const name = where.option === 'options' ? key : `${where.option}.${key}`;
    throw new SchedulerError(
      `Unknown option ${showValue(name)} in ${where.jobName === undefined ? where.operation : `job ${showValue(where.jobName, 60)}`}`,
      {
        code: 'UNKNOWN_OPTION',
        operation: where.operation,
        metadata: {
          option: cut(key, MAX_SHOWN_LENGTH),
          known: [...known],
          ...(where.jobName === undefined ? {} : { jobName: cut(where.jobName, MAX_SHOWN_LENGTH) }),
        },
        suggestion: closest
          ? `Did you mean \`${closest}\`? Known options: ${known.join(', ')}.`
          : `Known options: ${known.join(', ')}.`,
      },
    );
  }
}

export interface RangeRule {
  min?: number;
  max?: number;
  /** What the number counts, for messages: `ms`, `runs`. */
  unit?: string;
}

/** An integer in `[min, max]` (defaults 0 and `Number.MAX_SAFE_INTEGER`). */
export function checkInteger(value: unknown, where: Where, rule: RangeRule = {}): number {
  const { min = 0, max = Number.MAX_SAFE_INTEGER } = rule;
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
  throw invalidOption(where, value, `a whole number from ${range(min, max, rule.unit)}`);
}

/** A finite number in `[min, max]`; `max: Infinity` also accepts `Infinity`. */
export function checkNumber(value: unknown, where: Where, rule: RangeRule = {}): number {
  const { min = 0, max = Number.MAX_SAFE_INTEGER } = rule;
  if (typeof value === 'number' && !Number.isNaN(value) && value >= min && value <= max) {
    if (Number.isFinite(value) || value === max) return value;
  }
  throw invalidOption(where, value, `a number from ${range(min, max, rule.unit)}`);
}

function range(min: number, max: number, unit: string | undefined): string {
  const format = (n: number) =>
    n === Number.POSITIVE_INFINITY
      ? 'Infinity'
      : n === Number.MAX_SAFE_INTEGER
        ? '2^53−1'
        : n.toLocaleString('en-US');
  return `${format(min)} to ${format(max)}${unit ? ` ${unit}` : ''}`;
}

export function checkBoolean(value: unknown, where: Where): boolean {
  if (typeof value === 'boolean') return value;
  throw invalidOption(where, value, 'true or false', `Set ${where.option}: true or ${where.option}: false.`);
}

export function checkEnum<T extends string>(value: unknown, allowed: readonly T[], where: Where): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw invalidOption(
    where,
    value,
    `one of ${allowed.map((item) => `'${item}'`).join(', ')}`,
    `Use ${allowed.map((item) => `'${item}'`).join(' or ')}.`,
  );
}

export interface StringRule {
  minLength?: number;
  maxLength?: number;
  /** Checked after the lengths (so it only ever sees bounded text). */
  pattern?: RegExp;
  /** What `pattern` means, for the message: `letters, digits, '.', '_' or '-'`. */
  patternDescription?: string;
}

/** A string of `minLength` (default 0) to `maxLength` (default 1,024) characters, matching `pattern`. */
export function checkString(value: unknown, where: Where, rule: StringRule = {}): string {
  const { minLength = 0, maxLength = 1024 } = rule;
  if (
    typeof value === 'string' &&
    value.length >= minLength &&
    value.length <= maxLength &&
    (!rule.pattern || rule.pattern.test(value))
  ) {
    return value;
  }
  // Worded only on failure: this check runs on every claim, and `toLocaleString` is not cheap.
  const expected = `a string of ${minLength === 0 ? 'at most' : `${minLength} to`} ${maxLength.toLocaleString('en-US')} characters${
    rule.pattern ? ` (${rule.patternDescription ?? `matching ${rule.pattern}`})` : ''
  }`;
  throw invalidOption(where, value, expected);
}

export function checkFunction<T extends (...args: never[]) => unknown>(
  value: unknown,
  where: Where,
  expected = 'a function',
): T {
  if (typeof value === 'function') return value as T;
  throw invalidOption(where, value, expected);
}

/**
 * An object with every method in `methods` (an `ObjectStore`, a `Clock`, a logger), checked where
 * it is passed rather than at its first use. Names the missing methods.
 */
export function checkMethods<T>(value: unknown, methods: readonly string[], where: Where, what: string): T {
  if ((typeof value === 'object' && value !== null) || typeof value === 'function') {
    let missing: string[];
    try {
      missing = methods.filter((method) => typeof (value as Record<string, unknown>)[method] !== 'function');
    } catch {
      missing = [...methods]; // A getter or Proxy that throws: as good as missing.
    }
    if (missing.length === 0) return value as T;
    throw invalidOption(
      where,
      value,
      `${what} (with ${methods.join(', ')}())`,
      `It lacks ${missing.map((method) => `${method}()`).join(', ')}.`,
    );
  }
  throw invalidOption(where, value, `${what} (with ${methods.join(', ')}())`);
}

/** `instanceof Date` that cannot throw (a Proxy's getPrototypeOf trap may). */
function isDate(value: unknown): value is Date {
  try {
    return value instanceof Date;
  } catch {
    return false;
  }
}

/** The latest instant accepted anywhere (keys hold 13 digits of milliseconds): 2286-11-20. */
export const MAX_INSTANT_MS = 9_999_999_999_999;

/**
 * An instant as users pass it: a valid `Date`, whole epoch milliseconds or an ISO 8601 string
 * (at most 100 characters), between 1970 and 2286; returns epoch milliseconds.
 */
export function checkInstant(value: unknown, where: Where): number {
  let ms = Number.NaN;
  if (isDate(value)) ms = value.getTime();
  else if (typeof value === 'number') ms = value;
  else if (typeof value === 'string' && value.length <= 100) ms = Date.parse(value);
  if (Number.isInteger(ms) && ms >= 0 && ms <= MAX_INSTANT_MS) return ms;
  throw invalidOption(
    where,
    value,
    'a date between 1970 and 2286',
    'Pass a Date, whole milliseconds since the epoch or an ISO 8601 string such as 2026-01-01T00:00:00Z.',
  );
}
