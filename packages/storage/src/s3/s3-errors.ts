import { SchedulerError } from '@s3-scheduler/core';
import { invalidKey, preconditionFailed, storeUnavailable } from '../store-errors.js';

export interface S3ErrorContext {
  operation: string;
  key: string;
  bucket: string;
  endpoint?: string;
  /** The request carried `If-Match` or `If-None-Match`. */
  conditional: boolean;
  /** The `If-Match` value sent, if any. */
  ifMatch?: string;
}

const ACCESS_DENIED_NAMES = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'CredentialsProviderError',
  'AllAccessDisabled',
]);

const TRANSIENT_NAMES = new Set([
  'ConditionalRequestConflict',
  'OperationAborted',
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'ServiceUnavailable',
  'InternalError',
  'TimeoutError',
  'RequestTimeoutException',
  'UnknownError',
]);

/** Network codes that mean nothing answers at the endpoint (not a passing hiccup of a live server). */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
]);

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_SOCKET',
]);

interface SdkErrorShape {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * Turns an SDK failure into the `SchedulerError` the storage contract promises. The rules, in
 * order: 412 (or 404 to `If-Match`) → PRECONDITION_FAILED; NoSuchBucket → BUCKET_NOT_FOUND;
 * 403 and credential failures → ACCESS_DENIED; 501 to a conditional write → STORE_UNSAFE;
 * 409, 5xx, 429, throttling, timeouts and network failures → STORE_UNAVAILABLE (for a write:
 * outcome unknown). Matches on both the status and the error name, since RGW and AWS differ.
 */
export function mapS3Error(error: unknown, context: S3ErrorContext): SchedulerError {
  if (error instanceof SchedulerError) return error;
  const shape = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  const name = shape.Code ?? shape.name ?? 'Error';
  const status = shape.$metadata?.httpStatusCode;
  const { operation, key, bucket, endpoint } = context;
  const where = { bucket, ...(endpoint === undefined ? {} : { endpoint }) };

  if (status === 412 || name === 'PreconditionFailed') {
    return preconditionFailed(key, describeCondition(context), error);
  }
  if (name === 'NoSuchBucket') {
    return new SchedulerError(`Bucket '${bucket}' does not exist`, {
      code: 'BUCKET_NOT_FOUND',
      operation,
      metadata: { ...where, key },
      suggestion: `Create the bucket '${bucket}' or fix the bucket name in the connection string${
        endpoint === undefined ? '' : ` (endpoint ${endpoint})`
      }.`,
      cause: error,
    });
  }
  // AWS answers If-Match on a missing key with 404 NoSuchKey; RGW with 412.
  if (context.ifMatch !== undefined && (status === 404 || name === 'NoSuchKey')) {
    return preconditionFailed(key, describeCondition(context), error);
  }
  if (status === 403 || ACCESS_DENIED_NAMES.has(name) || ACCESS_DENIED_NAMES.has(shape.name ?? '')) {
    return new SchedulerError(`Access to bucket '${bucket}' denied (${name}) on ${operation}`, {
      code: 'ACCESS_DENIED',
      operation,
      statusCode: 403,
      metadata: { ...where, key, reason: name },
      suggestion:
        'Check the access key and secret (URL-encode special characters in the connection string) and ' +
        'that they may GetObject, PutObject, DeleteObject and ListBucket on this bucket.',
      cause: error,
    });
  }
  if (status === 501 && context.conditional) {
    return new SchedulerError(`The store does not implement conditional writes (${name})`, {
      code: 'STORE_UNSAFE',
      operation,
      metadata: { ...where, key, reason: name },
      suggestion:
        'Use a store that supports If-None-Match and If-Match on PutObject (AWS S3, Ceph RGW, MinIO, R2).',
      cause: error,
    });
  }
  if (status === 400 && (name === 'KeyTooLongError' || name === 'InvalidObjectName')) {
    return invalidKey(key, name, error);
  }
  const transient =
    status === undefined ||
    status === 409 ||
    status === 408 ||
    status === 429 ||
    status >= 500 ||
    TRANSIENT_NAMES.has(name) ||
    NETWORK_CODES.has(shape.code ?? '');
  if (transient) {
    const reason =
      status === undefined
        ? `${name}${shape.code && shape.code !== name ? ` ${shape.code}` : ''}`
        : `${status} ${name}`;
    const unreachable = UNREACHABLE_CODES.has(shape.code ?? '');
    return storeUnavailable(operation, key, {
      ...(status === undefined ? {} : { statusCode: status }),
      reason,
      cause: error,
      ...(unreachable
        ? {
            suggestion: `Nothing answers at the store's endpoint (${shape.code}): check the endpoint's host and port, DNS, and that the server is running. Requests are retried meanwhile.`,
          }
        : {}),
    });
  }
  return new SchedulerError(`Store request ${operation} '${key}' failed: ${status} ${name}`, {
    code: 'UNKNOWN',
    operation,
    statusCode: status,
    retriable: false,
    metadata: { ...where, key, status, reason: name },
    suggestion: 'The store rejected the request; check that it is S3-compatible and the key is valid.',
    cause: error,
  });
}

function describeCondition(context: S3ErrorContext): string {
  return context.ifMatch === undefined ? 'If-None-Match: *' : `If-Match: ${context.ifMatch}`;
}
