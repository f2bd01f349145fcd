import { describe, expect, it } from 'vitest';
import { captureError } from './capture-error.js';
import { SchedulerError } from './scheduler-error.js';

describe('captureError', () => {
  it('keeps name, message, code and stack of an Error', () => {
    const error = Object.assign(new TypeError('bad input'), { code: 'E_BAD' });
    expect(captureError(error)).toEqual({
      name: 'TypeError',
      message: 'bad input',
      code: 'E_BAD',
      stack: expect.stringContaining('bad input'),
    });
  });

  it('keeps the code of a SchedulerError and stays JSON-safe', () => {
    const captured = captureError(new SchedulerError('gone', { code: 'STORE_UNAVAILABLE' }));
    expect(captured).toMatchObject({ name: 'SchedulerError', code: 'STORE_UNAVAILABLE' });
    expect(JSON.parse(JSON.stringify(captured))).toEqual(captured);
  });

  it('cuts a 40 KB message, name and stack before redacting them', () => {
    const error = Object.assign(new Error(`https://u:pw@h ${'y'.repeat(40_000)}`), {
      name: 'N'.repeat(5000),
    });
    const captured = captureError(error);
    expect(captured.message.length).toBeLessThan(8300);
    expect(captured.message).toContain('more characters');
    expect(captured.message).not.toContain(':pw@');
    expect(captured.name.length).toBeLessThan(200);
    expect((captured.stack ?? '').length).toBeLessThan(8300);
  });

  it('describes values that are not errors as JOB_FAILED', () => {
    expect(captureError('boom')).toEqual({
      name: 'SchedulerError',
      code: 'JOB_FAILED',
      message: 'The action threw a value that is not an Error: "boom"',
    });
    expect(captureError(undefined).message).toContain('undefined');
    expect(captureError(42).message).toContain('42');
    expect(captureError({ status: 500 }).message).toContain('{"status":500}');
  });

  it('treats an object with a message as an error, and a numeric code as a string', () => {
    expect(captureError({ message: 'plain', code: 503 })).toEqual({
      name: 'Error',
      message: 'plain',
      code: '503',
    });
  });

  it('redacts secrets from messages, stacks and thrown objects', () => {
    const captured = captureError(new Error('cannot reach s3://key:hunter2@host/bucket'));
    expect(captured.message).not.toContain('hunter2');
    expect(captured.stack).not.toContain('hunter2');
    expect(captureError({ password: 'hunter2' }).message).not.toContain('hunter2');
  });

  it('survives a cyclic non-error value', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(captureError(cyclic).code).toBe('JOB_FAILED');
  });
});
