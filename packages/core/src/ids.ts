import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

// Crockford's base32: sorts the same as the numbers it encodes, no ambiguous letters.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_CHARS = 10; // 48-bit millisecond timestamp
const RANDOM_CHARS = 16; // 80 random bits

let lastTime = -1;
let lastTimeText = '';
let lastRandom: number[] = [];
/** `lastRandom` as text: an increment re-encodes only the digits it changed (usually the last). */
let lastRandomText = '';

/**
 * A run id in the ULID format: 26 characters whose lexical order is their time order, also for
 * ids made in the same millisecond by this process (the random part is incremented).
 */
export function createRunId(now: number = Date.now()): string {
  const time = Math.max(0, Math.floor(now));
  if (time === lastTime) {
    const from = incrementRandom(lastRandom);
    lastRandomText = lastRandomText.slice(0, from) + encodeDigits(lastRandom, from);
  } else {
    lastTime = time;
    lastTimeText = encodeTime(time);
    lastRandom = Array.from(randomBytes(RANDOM_CHARS), (byte) => byte & 31);
    lastRandomText = encodeDigits(lastRandom, 0);
  }
  // A burst makes many ids in one millisecond: the time part is encoded once for all of them.
  return lastTimeText + lastRandomText;
}

function encodeDigits(digits: readonly number[], from: number): string {
  let text = '';
  for (let i = from; i < digits.length; i++) text += ALPHABET[digits[i]!];
  return text;
}

/** The creation time a run id carries, in ms since the epoch. */
export function runIdTime(runId: string): number {
  let time = 0;
  for (const char of runId.slice(0, TIME_CHARS).toUpperCase()) {
    const digit = ALPHABET.indexOf(char);
    if (digit < 0) return Number.NaN;
    time = time * 32 + digit;
  }
  return time;
}

/**
 * A worker id unique to this process: `<label>-<pid>-<random>`. The random part keeps two
 * processes apart even when they share a host name and a pid (containers often run as pid 1).
 */
export function createWorkerId(label: string = hostname()): string {
  const safe =
    label
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 64) || 'worker';
  return `${safe}-${process.pid.toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** This process's random part of every nonce: 96 bits, base64url (no character needs escaping). */
const NONCE_PREFIX = randomBytes(12).toString('base64url');
let nonceCount = 0;

/**
 * A nonce unique to one write, stored inside conditional writes to learn later whether they won
 * (equal bytes identify one write): a random part drawn once per process, then a counter in
 * base 36, e.g. `q3Jx9aZ0LmP4vT2w1a`. No entropy is drawn per call (two per run, at thousands of
 * runs a second); two processes share a prefix with a chance of 2⁻⁹⁶.
 */
export function createNonce(): string {
  return NONCE_PREFIX + (nonceCount++).toString(36);
}

function encodeTime(time: number): string {
  let out = '';
  let rest = time;
  for (let i = 0; i < TIME_CHARS; i++) {
    out = ALPHABET[rest % 32] + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

/** Adds one to the base-32 digits; returns the index of the leftmost digit that changed. */
function incrementRandom(digits: number[]): number {
  for (let i = digits.length - 1; i >= 0; i--) {
    const digit = digits[i] ?? 0;
    if (digit < 31) {
      digits[i] = digit + 1;
      return i;
    }
    digits[i] = 0;
  }
  return 0;
}
