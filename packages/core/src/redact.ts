/**
 * Secret redaction. Errors and logs pass every string and metadata object through here, so a
 * secret given in a connection string or an option never leaves the process in text.
 *
 * Every function here is linear in the length of its input (hand-written scans, no regular
 * expression that can backtrack), and text is cut to a bounded length before it is scanned, so
 * a hostile 40 KB job name or error message costs microseconds, not seconds.
 */
export const REDACTED = '***';

/** The longest text `redactText` returns by default (longer text is cut, with a note of how much). */
export const MAX_TEXT_LENGTH = 8192;

const SECRET_KEY_PATTERN =
  /(secret|password|passwd|credential|authorization|session_?token|api_?key|private_?key|access_?key)/i;
/** Keys of `name=value` pairs in free text whose value is masked: the above, plus request signatures. */
const SECRET_PARAM_PATTERN =
  /(secret|password|passwd|credential|authorization|token|api_?key|private_?key|access_?key|signature)/i;
/** A parameter name longer than this is not examined (no real one is). */
const MAX_PARAM_NAME = 64;

export function isSecretKey(key: string): boolean {
  return key.length <= 256 && SECRET_KEY_PATTERN.test(key);
}

/**
 * Remove secrets from free text: passwords in URLs (`scheme://user:password@host`, also
 * percent-encoded once or twice, as inside an `endpoint=` parameter), and the values of
 * secret-looking `name=value` pairs (`?sessionToken=…`, `X-Amz-Signature=…`, `password%3D…`).
 * Text longer than `maxLength` is cut first and ends with `… (N more characters)`; a URL
 * password the cut leaves unterminated is masked too.
 */
export function redactText(text: string, maxLength = MAX_TEXT_LENGTH): string {
  const full = typeof text === 'string' ? text : String(text);
  const truncated = full.length > maxLength;
  const input = truncated ? full.slice(0, maxLength) : full;
  const redacted = redactParams(redactUrlPasswords(input, truncated));
  return truncated ? `${redacted}… (${full.length - maxLength} more characters)` : redacted;
}

// ── URL passwords ───────────────────────────────────────────────────────────────────────────────

// "://" as written, percent-encoded once (inside a query parameter) or twice.
const SCHEME_SEPARATOR = /:\/\/|%3A%2F%2F|%253A%252F%252F/gi;
const AT_SIGN = /@|%40|%2540/gi;
const WHITESPACE = /\s/g;

/** The length of the delimiter (`:`, `/`, `?`, `#`, `@`, raw or percent-encoded) at `index`, or 0. */
function delimiterAt(text: string, index: number, chars: string): number {
  const char = text[index]!;
  if (chars.includes(char)) return 1;
  if (char !== '%') return 0;
  const hex = text.slice(index + 1, index + 3).toUpperCase();
  const double = hex === '25' ? text.slice(index + 3, index + 5).toUpperCase() : '';
  const decoded = decodeHex(double === '' ? hex : double);
  if (decoded === undefined || !chars.includes(decoded)) return 0;
  return double === '' ? 3 : 5;
}

function decodeHex(hex: string): string | undefined {
  return /^[0-9A-F]{2}$/.test(hex) ? String.fromCharCode(Number.parseInt(hex, 16)) : undefined;
}

/**
 * The first match of a global pattern at or after `from`, for `from` that only grows: the last
 * answer is kept while it is still ahead, so all the searches over one text scan it once.
 */
class ForwardSearch {
  #index = -1;
  #length = 0;
  constructor(private readonly pattern: RegExp) {}
  next(text: string, from: number): { index: number; length: number } {
    if (this.#index < from) {
      this.pattern.lastIndex = from;
      const match = this.pattern.exec(text);
      this.#index = match ? match.index : Number.POSITIVE_INFINITY;
      this.#length = match ? match[0].length : 0;
    }
    return { index: this.#index, length: this.#length };
  }
}

function redactUrlPasswords(text: string, truncated: boolean): string {
  SCHEME_SEPARATOR.lastIndex = 0;
  const at = new ForwardSearch(AT_SIGN);
  const space = new ForwardSearch(WHITESPACE);
  let out = '';
  let copied = 0;
  for (let match = SCHEME_SEPARATOR.exec(text); match; match = SCHEME_SEPARATOR.exec(text)) {
    const start = match.index;
    // A scheme must precede the separator (`s3://`, `https%3A%2F%2F`).
    if (start === 0 || !/[a-z0-9+.-]/i.test(text[start - 1]!)) continue;
    // The user: up to the first delimiter. It stops at the next "://" at the latest, so these
    // scans never overlap.
    let index = start + match[0].length;
    while (index < text.length && delimiterAt(text, index, ':/?#@') === 0 && !/\s/.test(text[index]!)) {
      index++;
    }
    const colon = index < text.length ? delimiterAt(text, index, ':') : 0;
    if (colon === 0) continue;
    const passwordStart = index + colon;
    const sign = at.next(text, passwordStart);
    const blank = space.next(text, passwordStart);
    const passwordEnd = Math.min(sign.index, blank.index, text.length);
    const terminated = sign.index < blank.index && sign.index < text.length;
    // `host:port/path` is no password; an unterminated one the cut may have left is masked.
    if (passwordEnd === passwordStart || !(terminated || (truncated && blank.index >= text.length))) continue;
    out += `${text.slice(copied, passwordStart)}${REDACTED}`;
    copied = passwordEnd;
    SCHEME_SEPARATOR.lastIndex = Math.max(SCHEME_SEPARATOR.lastIndex, passwordEnd);
  }
  return copied === 0 ? text : out + text.slice(copied);
}

// ── name=value pairs ────────────────────────────────────────────────────────────────────────────

const ASSIGNMENT = /=|%3D|%253D/gi;
const NAME_CHAR = /[A-Za-z0-9_.-]/;
const VALUE_END = /[&\s"'<>,;)\]}]|%26|%2526/gi;

function redactParams(text: string): string {
  ASSIGNMENT.lastIndex = 0;
  const end = new ForwardSearch(VALUE_END);
  let out = '';
  let copied = 0;
  for (let match = ASSIGNMENT.exec(text); match; match = ASSIGNMENT.exec(text)) {
    // Walk back over the name: bounded, and stopped by the previous `=` or `&` anyway.
    let nameStart = match.index;
    while (
      nameStart > 0 &&
      match.index - nameStart < MAX_PARAM_NAME &&
      NAME_CHAR.test(text[nameStart - 1]!)
    ) {
      nameStart--;
    }
    const name = text.slice(nameStart, match.index);
    if (name === '' || !SECRET_PARAM_PATTERN.test(name)) continue;
    const valueStart = match.index + match[0].length;
    if (valueStart < copied) continue;
    const valueEnd = Math.min(end.next(text, valueStart).index, text.length);
    if (valueEnd === valueStart || text.slice(valueStart, valueEnd) === REDACTED) continue;
    out += `${text.slice(copied, valueStart)}${REDACTED}`;
    copied = valueEnd;
    ASSIGNMENT.lastIndex = Math.max(ASSIGNMENT.lastIndex, valueEnd);
  }
  return copied === 0 ? text : out + text.slice(copied);
}

// ── values ──────────────────────────────────────────────────────────────────────────────────────

/** At most this many keys of an object, or items of an array, are copied into metadata. */
const MAX_ENTRIES = 100;

/**
 * Deep copy of a JSON-like value with secret-looking keys replaced and strings redacted (and cut
 * to `MAX_TEXT_LENGTH`). Cycles, depth and breadth are bounded so a hostile object cannot hang an
 * error constructor.
 */
export function redactValue(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 8 || seen.has(value)) return '[…]';
  seen.add(value);
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ENTRIES).map((item) => redactValue(item, depth + 1, seen));
    if (value.length > MAX_ENTRIES) items.push(`… (${value.length - MAX_ENTRIES} more items)`);
    return items;
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  const out: Record<string, unknown> = {};
  try {
    copyEntries(value, out, depth, seen);
  } catch {
    out['…'] = '[unreadable]';
  }
  return out;
}

function copyEntries(
  value: object,
  out: Record<string, unknown>,
  depth: number,
  seen: WeakSet<object>,
): void {
  let count = 0;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (++count > MAX_ENTRIES) {
      out['…'] = 'more keys left out';
      break;
    }
    let item: unknown;
    try {
      item = (value as Record<string, unknown>)[key];
    } catch {
      item = '[unreadable]';
    }
    // `defineProperty`, so a key named `__proto__` stays data and cannot change the prototype.
    Object.defineProperty(out, redactText(key, 256), {
      value: isSecretKey(key) && item != null && item !== '' ? REDACTED : redactValue(item, depth + 1, seen),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
}
