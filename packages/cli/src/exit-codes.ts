import { isSchedulerError } from '@s3-scheduler/core';

/** What the `s3-scheduler` process exits with. Stable: scripts depend on them. */
export const EXIT_CODES = {
  /** The command did what it was asked. */
  OK: 0,
  /** Something unexpected (a bug, a corrupted object): the message says what. */
  ERROR: 1,
  /** Bad command line: unknown command or option, missing or malformed argument. */
  USAGE: 2,
  /** The job (or request) does not exist in the bucket. */
  NOT_FOUND: 3,
  /** No instance is alive to serve a `trigger`/`backfill` (no live leader lease, no live worker heartbeat). */
  NO_INSTANCE: 4,
  /** The request was served and failed: the run failed, or the leader refused it. */
  FAILED: 5,
  /** The store cannot be used: missing or malformed connection string, bucket, credentials, outage. */
  STORE: 6,
  /** `--timeout` passed before the leader wrote the outcome (the request stays in the bucket). */
  TIMEOUT: 7,
} as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

const STORE_CODES = new Set([
  'STORE_UNAVAILABLE',
  'STORE_UNSAFE',
  'ACCESS_DENIED',
  'BUCKET_NOT_FOUND',
  'INVALID_CONNECTION_STRING',
]);

/** The exit code for an error thrown by a command. */
export function exitCodeOf(error: unknown): ExitCode {
  if (!isSchedulerError(error)) return EXIT_CODES.ERROR;
  if (error.code === 'JOB_NOT_FOUND') return EXIT_CODES.NOT_FOUND;
  if (STORE_CODES.has(error.code)) return EXIT_CODES.STORE;
  if (error.code === 'INVALID_OPTION' || error.code === 'UNKNOWN_OPTION') return EXIT_CODES.USAGE;
  return EXIT_CODES.ERROR;
}
