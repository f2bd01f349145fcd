import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from './error-codes.js';
import { isSchedulerError, SchedulerError } from './scheduler-error.js';

describe('SchedulerError', () => {
  it('carries every documented field', () => {
    const cause = new Error('boom');
    const error = new SchedulerError("Job 'x' has invalid cron expression: * *", {
      code: 'INVALID_CRON',
      suggestion: 'Use five fields',
      operation: 'addJob',
      metadata: { jobName: 'x', expression: '* *' },
      cause,
    });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('SchedulerError');
    expect(error.code).toBe('INVALID_CRON');
    expect(error.retriable).toBe(false);
    expect(error.statusCode).toBe(400);
    expect(error.suggestion).toBe('Use five fields');
    expect(error.operation).toBe('addJob');
    expect(error.metadata).toEqual({ jobName: 'x', expression: '* *' });
    expect(error.context).toBe(error.metadata);
    expect(error.description).toBe(ERROR_CODES.INVALID_CRON.description);
    expect(error.cause).toBe(cause);
  });

  it('accepts the options of the spec examples (no code)', () => {
    const error = new SchedulerError('External API returned non-2xx response', {
      statusCode: 503,
      suggestion: 'Retry later',
      metadata: { endpoint: 'https://api.example.com' },
    });
    expect(error.code).toBe('UNKNOWN');
    expect(error.retriable).toBe(true);
    expect(new SchedulerError('x', { statusCode: 404 }).retriable).toBe(false);
    expect(new SchedulerError('x', { statusCode: 404, retriable: true }).retriable).toBe(true);
  });

  it('is recognised across two copies of the package', async () => {
    // The built file is a second module instance, as when two versions of the package are installed.
    const copy = (await import(
      '../dist/scheduler-error.js' as string
    )) as typeof import('./scheduler-error.js');
    expect(copy.SchedulerError).not.toBe(SchedulerError);
    const foreign = new copy.SchedulerError('from the other copy', { code: 'JOB_NOT_FOUND' });
    expect(isSchedulerError(foreign)).toBe(true);
    expect(SchedulerError.is(foreign)).toBe(true);
    expect(foreign instanceof SchedulerError).toBe(true);
    expect(new SchedulerError('mine') instanceof copy.SchedulerError).toBe(true);
    expect(isSchedulerError(new Error('plain'))).toBe(false);
    expect(isSchedulerError({ name: 'SchedulerError', code: 'X' })).toBe(false);
    expect(new Error('plain') instanceof SchedulerError).toBe(false);
  });

  it('never exposes secrets through message, metadata, toJSON or stack', () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG';
    const error = new SchedulerError(`cannot connect to s3://AKIA123:${secret}@bucket/prefix`, {
      code: 'INVALID_CONNECTION_STRING',
      metadata: {
        connectionString: `s3://AKIA123:${secret}@bucket/prefix`,
        secretAccessKey: secret,
        nested: { password: secret, list: [`https://u:${secret}@host/x`] },
      },
      suggestion: `Check s3://AKIA123:${secret}@bucket`,
      cause: new Error(`signed with X-Amz-Signature=${secret}`),
    });
    const texts = [
      error.message,
      error.stack ?? '',
      String(error),
      JSON.stringify(error),
      JSON.stringify(error.toJSON()),
      error.suggestion ?? '',
    ];
    for (const text of texts) expect(text).not.toContain(secret);
    expect(error.message).toContain('s3://AKIA123:***@bucket/prefix');
    expect(error.metadata.secretAccessKey).toBe('***');
  });

  it('serialises to plain JSON with the cause summarised', () => {
    const error = new SchedulerError('x', {
      code: 'STORE_UNAVAILABLE',
      cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
    });
    expect(error.toJSON()).toMatchObject({
      name: 'SchedulerError',
      code: 'STORE_UNAVAILABLE',
      message: 'x',
      retriable: true,
      statusCode: 503,
      cause: { name: 'Error', message: 'socket hang up', code: 'ECONNRESET' },
    });
    expect(JSON.parse(JSON.stringify(error))).toEqual(error.toJSON());
  });

  it('survives hostile metadata (cycles, depth)', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const error = new SchedulerError('x', { metadata: cyclic });
    expect(error.metadata.a).toBe(1);
    expect(error.metadata.self).toBe('[…]');
    expect(() => JSON.stringify(error)).not.toThrow();
  });
});
