import { SchedulerError } from '@s3-scheduler/core';
import { ManualClock } from '@s3-scheduler/core/testing';
import { describe, expect, it } from 'vitest';
import { Executor } from './executor.js';
import type { ExecutorOptions, RunOptions } from './types.js';

function thrown(fn: () => unknown): SchedulerError {
  try {
    fn();
  } catch (error) {
    if (error instanceof SchedulerError) return error;
    throw error;
  }
  throw new Error('expected a SchedulerError');
}

const noop = () => undefined;

describe('option validation', () => {
  const executor = new Executor({ clock: new ManualClock() });

  it.each<[string, RunOptions, unknown]>([
    ['retries', { retries: -1 }, -1],
    ['retries', { retries: 1.5 }, 1.5],
    ['retries', { retries: Number.NaN }, 'NaN'],
    ['retries', { retries: '3' as unknown as number }, '3'],
    ['timeout', { timeout: -100 }, -100],
    ['timeout', { timeout: Number.NaN }, 'NaN'],
    ['abandonGraceMs', { abandonGraceMs: -1 }, -1],
    ['backoff.jitter', { backoff: { jitter: 'random' as 'full' } }, 'random'],
    ['backoff.factor', { backoff: { factor: 0 } }, 0],
    ['backoff.initialMs', { backoff: { initialMs: Number.POSITIVE_INFINITY } }, 'Infinity'],
    ['retryable', { retryable: true as unknown as () => boolean }, true],
    ['signal', { signal: {} as AbortSignal }, 'an object'],
    ['seed', { seed: 0.5 }, 0.5],
    ['context', { context: 'job' as never }, 'job'],
  ])('rejects %s = %o with INVALID_OPTION, the value and a suggestion', (option, options, value) => {
    let called = false;
    const error = thrown(() =>
      executor.run(() => {
        called = true;
      }, options),
    );
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.metadata).toEqual({ option, value });
    expect(error.message).toContain(option);
    expect(error.suggestion).toMatch(/\S/);
    expect(called).toBe(false);
  });

  it.each<[string, RunOptions, unknown]>([
    ['retries', { retries: 1e20 }, 1e20],
    ['retries', { retries: 101 }, 101],
    ['timeout', { timeout: 1e20 }, 1e20],
    ['timeout', { timeout: Number.NEGATIVE_INFINITY }, '-Infinity'],
    ['timeout', { timeout: 8 * 86_400_000 }, 8 * 86_400_000],
    ['abandonGraceMs', { abandonGraceMs: 1e12 }, 1e12],
    ['backoff.initialMs', { backoff: { initialMs: 2 * 86_400_000 } }, 2 * 86_400_000],
    ['backoff.factor', { backoff: { factor: 1e9 } }, 1e9],
    ['backoff.maxMs', { backoff: { maxMs: Number.NaN } }, 'NaN'],
  ])('refuses the absurd %s = %o that would keep a run going for ever', (option, options, value) => {
    const error = thrown(() => executor.run(noop, options));
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.metadata).toEqual({ option, value });
    expect(error.message).toContain(`got ${typeof value === 'number' ? String(value) : value}`);
  });

  it('refuses a backoff that is not an object, and prototype keys in it', () => {
    expect(thrown(() => executor.run(noop, { backoff: 5 as never })).code).toBe('INVALID_OPTION');
    expect(thrown(() => executor.run(noop, { backoff: [] as never })).code).toBe('INVALID_OPTION');
    expect(thrown(() => executor.run(noop, { backoff: JSON.parse('{"__proto__":{}}') })).code).toBe(
      'UNKNOWN_OPTION',
    );
  });

  it('names the closest known option for a typo', () => {
    const error = thrown(() => executor.run(noop, { retires: 3 } as RunOptions));
    expect(error.code).toBe('UNKNOWN_OPTION');
    expect(error.suggestion).toContain('`retries`');
    expect(thrown(() => executor.run(noop, { backoff: { max: 5 } } as RunOptions)).message).toContain(
      'backoff.max',
    );
  });

  it('rejects a missing action', () => {
    expect(thrown(() => executor.run(undefined as never))).toMatchObject({
      code: 'INVALID_OPTION',
      metadata: { option: 'action', value: 'undefined' },
    });
  });

  it('accepts the edge values that mean what they say', async () => {
    const outcome = executor.run(() => 'ok', {
      retries: 0,
      timeout: 0,
      abandonGraceMs: 0,
      backoff: { initialMs: 0, factor: 1, maxMs: Number.POSITIVE_INFINITY, jitter: 'equal' },
      seed: -3,
      context: {},
    });
    expect((await outcome).status).toBe('completed');
  });

  it.each<[string, ExecutorOptions]>([
    ['maxConcurrent', { maxConcurrent: 0 }],
    ['maxConcurrent', { maxConcurrent: 2.5 }],
    ['clock', { clock: { now: () => 0 } as never }],
    ['onRetry', { onRetry: 'log' as never }],
    ['seed', { seed: Number.NaN }],
  ])('rejects executor option %s', (option, options) => {
    const error = thrown(() => new Executor(options));
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.metadata.option).toBe(option);
  });

  it('rejects unknown executor options and bad drain deadlines', () => {
    expect(thrown(() => new Executor({ maxConcurrency: 2 } as ExecutorOptions)).suggestion).toContain(
      '`maxConcurrent`',
    );
    expect(() => executor.drain({ deadline: -1 })).toThrow(SchedulerError);
  });
});
