import { redactText } from '@s3-scheduler/core';
import type { ResultTruncation, RunError } from './run-record.js';

const MAX_MESSAGE_CHARS = 2_000;
const MAX_NAME_CHARS = 200;
const PREVIEW_CHARS = 512;

/**
 * A result as it will be stored: its JSON form when it fits in `maxBytes`, otherwise a short
 * preview string and a truncation marker, so one huge return value cannot bloat every query.
 * Falsy results (`0`, `false`, `''`) are kept as they are; `undefined` becomes `null`.
 */
export function captureResult(
  value: unknown,
  maxBytes: number,
): { result: unknown; truncated?: ResultTruncation } {
  if (value === undefined) return { result: null };
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { result: redactText(message).slice(0, PREVIEW_CHARS), truncated: { reason: 'unserializable' } };
  }
  if (json === undefined) return { result: null };
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes <= maxBytes) return { result: JSON.parse(json) };
  return {
    result: json.slice(0, Math.min(PREVIEW_CHARS, maxBytes)),
    truncated: { reason: 'too-large', bytes },
  };
}

/** Name, message and code of anything thrown, capped and with secrets redacted. */
export function captureError(error: unknown): RunError {
  if (typeof error === 'object' && error !== null) {
    const { name, message, code } = error as { name?: unknown; message?: unknown; code?: unknown };
    const captured: RunError = {
      name: typeof name === 'string' && name !== '' ? name.slice(0, MAX_NAME_CHARS) : 'Error',
      message: redactText(typeof message === 'string' ? message : safeString(error)).slice(
        0,
        MAX_MESSAGE_CHARS,
      ),
    };
    if (typeof code === 'string' || typeof code === 'number')
      captured.code = String(code).slice(0, MAX_NAME_CHARS);
    return captured;
  }
  return { name: 'Error', message: redactText(safeString(error)).slice(0, MAX_MESSAGE_CHARS) };
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
