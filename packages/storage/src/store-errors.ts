import { isSchedulerError, SchedulerError } from '@s3-scheduler/core';

/** The typed "condition failed" result of a conditional write or delete. */
export function preconditionFailed(key: string, condition: string, cause?: unknown): SchedulerError {
  return new SchedulerError(`Conditional write lost on '${key}' (${condition})`, {
    code: 'PRECONDITION_FAILED',
    operation: 'put',
    metadata: { key, condition },
    suggestion: 'Re-read the object and decide again; another writer got there first.',
    cause,
  });
}

export function isPreconditionFailed(error: unknown): error is SchedulerError {
  return isSchedulerError(error) && error.code === 'PRECONDITION_FAILED';
}

/**
 * A store request that failed in a way that says nothing about whether it took effect: a 409
 * `ConditionalRequestConflict`, a 5xx, a throttle or a timeout. For a write, the outcome is
 * unknown until the key is read again.
 */
export function storeUnavailable(
  operation: string,
  key: string,
  details: { statusCode?: number; reason?: string; cause?: unknown; suggestion?: string } = {},
): SchedulerError {
  const reason = details.reason ?? (details.statusCode ? `status ${details.statusCode}` : 'no response');
  return new SchedulerError(`Store request ${operation} '${key}' failed: ${reason}`, {
    code: 'STORE_UNAVAILABLE',
    operation,
    statusCode: 503,
    retriable: true,
    metadata: { key, status: details.statusCode, reason },
    suggestion:
      details.suggestion ??
      'Transient: the request is retried. If it persists, check the store endpoint and its health.',
    cause: details.cause,
  });
}

/** True for failures after which a write may or may not have been applied. */
export function isOutcomeUnknown(error: unknown): boolean {
  return isSchedulerError(error) && error.code === 'STORE_UNAVAILABLE';
}

export function invalidKey(key: unknown, reason: string, cause?: unknown): SchedulerError {
  return new SchedulerError(`Invalid object key: ${reason}`, {
    code: 'INVALID_KEY',
    operation: 'key',
    metadata: { key: typeof key === 'string' ? key.slice(0, 200) : key, reason },
    suggestion: 'Build keys with encodeKeySegment() so user text cannot produce an unusable key.',
    cause,
  });
}
