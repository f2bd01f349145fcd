/**
 * Secret redaction. Errors and logs pass every string and metadata object through here, so a
 * secret given in a connection string or an option never leaves the process in text.
 */
export const REDACTED = '***';

const SECRET_KEY_PATTERN =
  /(secret|password|passwd|credential|authorization|session_?token|api_?key|private_?key|access_?key)/i;

// `scheme://user:password@host` — keep the user (an access key id is not a secret), drop the
// password. Users paste AWS secrets unencoded, so the password may contain `/` or `+`.
const URL_PASSWORD_PATTERN = /([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*):([^@\s]+)@/gi;
// AWS-style `X-Amz-Signature=...` and `Signature=...` in presigned URLs or headers.
const SIGNATURE_PATTERN = /((?:X-Amz-)?(?:Signature|Credential|Security-Token)=)[^&\s"]+/gi;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY_PATTERN.test(key);
}

/** Remove secrets from free text: passwords in URLs, request signatures. */
export function redactText(text: string): string {
  return text.replace(URL_PASSWORD_PATTERN, `$1:${REDACTED}@`).replace(SIGNATURE_PATTERN, `$1${REDACTED}`);
}

/**
 * Deep copy of a JSON-like value with secret-looking keys replaced and strings redacted.
 * Cycles and depth are bounded so a hostile object cannot hang an error constructor.
 */
export function redactValue(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 8 || seen.has(value)) return '[…]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1, seen));
  if (value instanceof Date) return value.toISOString();
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] =
      isSecretKey(key) && item != null && item !== '' ? REDACTED : redactValue(item, depth + 1, seen);
  }
  return out;
}
