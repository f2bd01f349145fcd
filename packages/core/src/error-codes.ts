/**
 * Every code a `SchedulerError` can carry, with what it means and whether retrying the same
 * operation can succeed. One table, so the README, the type and the defaults never disagree.
 */
export const ERROR_CODES = {
  INVALID_CRON: {
    retriable: false,
    statusCode: 400,
    description: 'A cron expression could not be parsed, or can never fire.',
  },
  INVALID_TIMEZONE: {
    retriable: false,
    statusCode: 400,
    description: 'A time zone is not a valid IANA zone name.',
  },
  INVALID_OPTION: {
    retriable: false,
    statusCode: 400,
    description: 'An option has a value of the wrong type or out of range.',
  },
  UNKNOWN_OPTION: {
    retriable: false,
    statusCode: 400,
    description: 'An option name is not known (often a typo).',
  },
  INVALID_JOB: {
    retriable: false,
    statusCode: 400,
    description: 'A job definition is incomplete or inconsistent.',
  },
  JOB_NOT_FOUND: { retriable: false, statusCode: 404, description: 'No job with that name is registered.' },
  JOB_EXISTS: {
    retriable: false,
    statusCode: 409,
    description: 'A job with that name is already registered.',
  },
  JOB_ALREADY_RUNNING: {
    retriable: true,
    statusCode: 409,
    description: 'The job is running already and its overlap policy forbids another run now.',
  },
  JOB_TIMEOUT: {
    retriable: true,
    statusCode: 504,
    description: 'An attempt of a job exceeded its timeout and was aborted.',
  },
  JOB_CANCELLED: {
    retriable: false,
    statusCode: 499,
    description: 'A run was cancelled before it finished.',
  },
  JOB_FAILED: { retriable: true, statusCode: 500, description: 'A job action threw or rejected.' },
  LOCK_NOT_HELD: {
    retriable: false,
    statusCode: 409,
    description: 'A lease is no longer held by this holder (it expired, was released or taken over).',
  },
  LOCK_TIMEOUT: {
    retriable: true,
    statusCode: 408,
    description: 'A lease could not be acquired before the wait ran out.',
  },
  NOT_LEADER: {
    retriable: true,
    statusCode: 409,
    description: 'The operation needs the leader and this instance is not it.',
  },
  NOT_STARTED: {
    retriable: false,
    statusCode: 409,
    description: 'The scheduler has not been started, or was stopped.',
  },
  PRECONDITION_FAILED: {
    retriable: false,
    statusCode: 412,
    description: 'A conditional write lost: the object exists, or changed since it was read.',
  },
  STORE_UNSAFE: {
    retriable: false,
    statusCode: 501,
    description: 'The object store ignores conditional writes, so exactly-once cannot be guaranteed.',
  },
  STORE_UNAVAILABLE: {
    retriable: true,
    statusCode: 503,
    description: 'The object store could not be reached or answered with a server error.',
  },
  STORE_CORRUPTED: {
    retriable: false,
    statusCode: 422,
    description: 'An object in the store is not what the scheduler wrote (unreadable JSON or wrong shape).',
  },
  INVALID_CONNECTION_STRING: {
    retriable: false,
    statusCode: 400,
    description: 'A connection string is malformed or uses an unknown scheme.',
  },
  BUCKET_NOT_FOUND: {
    retriable: false,
    statusCode: 404,
    description: 'The bucket named in the connection string does not exist.',
  },
  ACCESS_DENIED: {
    retriable: false,
    statusCode: 403,
    description: 'The store rejected the credentials or their permissions.',
  },
  MISSING_DEPENDENCY: {
    retriable: false,
    statusCode: 501,
    description: 'An optional package that a feature needs is not installed (such as the AWS SDK for s3://).',
  },
  INVALID_KEY: {
    retriable: false,
    statusCode: 400,
    description: 'An object key is empty, too long or otherwise unusable.',
  },
  ABORTED: {
    retriable: false,
    statusCode: 499,
    description: 'An operation was aborted through its AbortSignal.',
  },
  INTERNAL: {
    retriable: false,
    statusCode: 500,
    description: 'An invariant of the scheduler itself was broken: please report it.',
  },
  UNKNOWN: { retriable: true, statusCode: 500, description: 'An error without a more specific code.' },
} as const satisfies Record<string, { retriable: boolean; statusCode: number; description: string }>;

/** The documented union of error codes. */
export type SchedulerErrorCode = keyof typeof ERROR_CODES;

export function isKnownErrorCode(code: unknown): code is SchedulerErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}
