import { isSchedulerError } from '@s3-scheduler/core';
import { describe, expect, it } from 'vitest';
import { mapS3Error, type S3ErrorContext } from './s3-errors.js';

const put: S3ErrorContext = { operation: 'put', key: 'k', bucket: 'b', conditional: true, ifMatch: 'abc' };
const create: S3ErrorContext = { operation: 'put', key: 'k', bucket: 'b', conditional: true };
const get: S3ErrorContext = { operation: 'get', key: 'k', bucket: 'b', conditional: false };

function sdkError(name: string, status?: number, extra: Record<string, unknown> = {}) {
  return Object.assign(new Error(`${name} message`), {
    name,
    ...(status === undefined ? {} : { $metadata: { httpStatusCode: status } }),
    ...extra,
  });
}

describe('mapS3Error', () => {
  it.each([
    ['412 PreconditionFailed', sdkError('PreconditionFailed', 412), create, 'PRECONDITION_FAILED'],
    ['404 NoSuchKey to If-Match (AWS)', sdkError('NoSuchKey', 404), put, 'PRECONDITION_FAILED'],
    ['404 NoSuchKey to a plain read', sdkError('NoSuchKey', 404), get, 'UNKNOWN'],
    ['NoSuchBucket', sdkError('NoSuchBucket', 404), put, 'BUCKET_NOT_FOUND'],
    ['403 AccessDenied', sdkError('AccessDenied', 403), get, 'ACCESS_DENIED'],
    ['403 SignatureDoesNotMatch', sdkError('SignatureDoesNotMatch', 403), get, 'ACCESS_DENIED'],
    ['InvalidAccessKeyId', sdkError('InvalidAccessKeyId', 403), get, 'ACCESS_DENIED'],
    ['no credentials in the chain', sdkError('CredentialsProviderError'), get, 'ACCESS_DENIED'],
    [
      '409 ConditionalRequestConflict',
      sdkError('ConditionalRequestConflict', 409),
      create,
      'STORE_UNAVAILABLE',
    ],
    ['500 UnknownError (RGW CAS loser)', sdkError('UnknownError', 500), put, 'STORE_UNAVAILABLE'],
    ['503 SlowDown', sdkError('SlowDown', 503), get, 'STORE_UNAVAILABLE'],
    ['429 throttling', sdkError('TooManyRequests', 429), get, 'STORE_UNAVAILABLE'],
    ['timeout', sdkError('TimeoutError'), create, 'STORE_UNAVAILABLE'],
    ['connection refused', sdkError('Error', undefined, { code: 'ECONNREFUSED' }), get, 'STORE_UNAVAILABLE'],
    ['socket reset', sdkError('Error', undefined, { code: 'ECONNRESET' }), create, 'STORE_UNAVAILABLE'],
    ['501 to a conditional write', sdkError('NotImplemented', 501), create, 'STORE_UNSAFE'],
    ['400 KeyTooLongError', sdkError('KeyTooLongError', 400), get, 'INVALID_KEY'],
    ['400 other', sdkError('InvalidArgument', 400), get, 'UNKNOWN'],
  ])('%s → %s', (_title, error, context, code) => {
    const mapped = mapS3Error(error, context);
    expect(isSchedulerError(mapped)).toBe(true);
    expect(mapped.code).toBe(code);
    expect(mapped.cause).toBe(error);
  });

  it('says that nothing answers at the endpoint for a refused connection or an unknown host, not that it is transient', () => {
    for (const code of ['ECONNREFUSED', 'ENOTFOUND']) {
      const mapped = mapS3Error(sdkError('Error', undefined, { code }), get);
      expect(mapped.suggestion).toContain(`Nothing answers at the store's endpoint (${code})`);
      expect(mapped.suggestion).not.toContain('Transient');
    }
    expect(mapS3Error(sdkError('Error', undefined, { code: 'ECONNRESET' }), get).suggestion).toContain(
      'Transient',
    );
  });

  it('marks outcome-unknown failures retriable and definitive ones not', () => {
    expect(mapS3Error(sdkError('InternalError', 500), create).retriable).toBe(true);
    expect(mapS3Error(sdkError('PreconditionFailed', 412), create).retriable).toBe(false);
    expect(mapS3Error(sdkError('AccessDenied', 403), get).retriable).toBe(false);
  });

  it('names the bucket and endpoint in BUCKET_NOT_FOUND, with a suggestion', () => {
    const mapped = mapS3Error(sdkError('NoSuchBucket', 404), { ...get, endpoint: 'http://127.0.0.1:7480' });
    expect(mapped.metadata).toMatchObject({ bucket: 'b', endpoint: 'http://127.0.0.1:7480' });
    expect(mapped.suggestion).toContain("'b'");
  });
});
