import { SchedulerError } from '@s3-scheduler/core';
import { describe, expect, it } from 'vitest';
import { captureError, captureResult } from './capture.js';

describe('captureResult', () => {
  it('keeps results that fit, falsy ones included', () => {
    expect(captureResult({ ok: true }, 100)).toEqual({ result: { ok: true } });
    expect(captureResult(0, 100)).toEqual({ result: 0 });
    expect(captureResult(false, 100)).toEqual({ result: false });
    expect(captureResult('', 100)).toEqual({ result: '' });
    expect(captureResult(undefined, 100)).toEqual({ result: null });
  });

  it('replaces a result larger than the cap by a preview and a marker', () => {
    const captured = captureResult({ data: 'x'.repeat(10_000) }, 8192);
    expect(captured.truncated).toEqual({ reason: 'too-large', bytes: 10_011 });
    expect(typeof captured.result).toBe('string');
    expect((captured.result as string).length).toBeLessThanOrEqual(512);
  });

  it('marks results that cannot be serialized', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(captureResult(cyclic, 8192).truncated).toEqual({ reason: 'unserializable' });
    expect(captureResult(10n, 8192).truncated).toEqual({ reason: 'unserializable' });
  });
});

describe('captureError', () => {
  it('keeps name, message and code', () => {
    const error = Object.assign(new TypeError('bad input'), { code: 'E_BAD' });
    expect(captureError(error)).toEqual({ name: 'TypeError', message: 'bad input', code: 'E_BAD' });
    expect(captureError(new SchedulerError('late', { code: 'JOB_TIMEOUT' }))).toEqual({
      name: 'SchedulerError',
      message: 'late',
      code: 'JOB_TIMEOUT',
    });
  });

  it('handles thrown non-errors, long messages and secrets', () => {
    expect(captureError('plain')).toEqual({ name: 'Error', message: 'plain' });
    expect(captureError(null)).toEqual({ name: 'Error', message: 'null' });
    expect(captureError(new Error('y'.repeat(10_000))).message).toHaveLength(2000);
    expect(captureError(new Error('s3://AKIA:topsecret@bucket/x')).message).not.toContain('topsecret');
  });
});
