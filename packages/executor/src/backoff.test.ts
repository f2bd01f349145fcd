import { SchedulerError } from '@s3-scheduler/core';
import { describe, expect, it } from 'vitest';
import { computeBackoff } from './backoff.js';

const schedule = (attempts: number, options?: Parameters<typeof computeBackoff>[1], seed?: number) =>
  Array.from({ length: attempts }, (_, index) => computeBackoff(index + 2, options, seed));

describe('computeBackoff', () => {
  it('follows the design table by default: 1 s, 2 s, 4 s, 8 s …', () => {
    expect(schedule(6)).toEqual([1000, 2000, 4000, 8000, 16000, 32000]);
  });

  it('has no wait before the first attempt', () => {
    expect(computeBackoff(1)).toBe(0);
  });

  it('caps at 5 minutes by default, also when factor^n overflows', () => {
    expect(computeBackoff(10)).toBe(256_000);
    expect(computeBackoff(11)).toBe(300_000);
    expect(computeBackoff(5000)).toBe(300_000);
  });

  it('uses initialMs, factor and maxMs', () => {
    expect(schedule(5, { initialMs: 100, factor: 3, maxMs: 2000 })).toEqual([100, 300, 900, 2000, 2000]);
    expect(schedule(3, { initialMs: 250, factor: 1 })).toEqual([250, 250, 250]);
    expect(schedule(3, { initialMs: 0 })).toEqual([0, 0, 0]);
    expect(schedule(2, { initialMs: 1000, factor: 1.5 })).toEqual([1000, 1500]);
  });

  it('full jitter stays within [0, d] and is reproducible from the seed', () => {
    const options = { jitter: 'full' as const, maxMs: Number.POSITIVE_INFINITY };
    const first = schedule(8, options, 42);
    expect(schedule(8, options, 42)).toEqual(first);
    first.forEach((delay, index) => {
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(1000 * 2 ** index);
    });
    expect(schedule(8, options, 43)).not.toEqual(first);
  });

  it('equal jitter stays within [d/2, d]', () => {
    for (let seed = 0; seed < 50; seed++) {
      const delay = computeBackoff(3, { jitter: 'equal' }, seed);
      expect(delay).toBeGreaterThanOrEqual(1000);
      expect(delay).toBeLessThanOrEqual(2000);
    }
  });

  it('spreads full jitter over the whole range across seeds', () => {
    const delays = Array.from({ length: 400 }, (_, seed) => computeBackoff(2, { jitter: 'full' }, seed));
    const mean = delays.reduce((sum, delay) => sum + delay, 0) / delays.length;
    expect(mean).toBeGreaterThan(400);
    expect(mean).toBeLessThan(600);
    expect(Math.min(...delays)).toBeLessThan(100);
    expect(Math.max(...delays)).toBeGreaterThan(900);
  });

  it('rejects invalid options with INVALID_OPTION and the offending value', () => {
    const cases: [Parameters<typeof computeBackoff>[1], string, unknown][] = [
      [{ initialMs: -1 }, 'backoff.initialMs', -1],
      [{ factor: 0.5 }, 'backoff.factor', 0.5],
      [{ maxMs: -5 }, 'backoff.maxMs', -5],
      [{ jitter: 'fulll' as 'full' }, 'backoff.jitter', 'fulll'],
    ];
    for (const [options, option, value] of cases) {
      const error = catchError(() => computeBackoff(2, options));
      expect(error).toBeInstanceOf(SchedulerError);
      expect(error).toMatchObject({ code: 'INVALID_OPTION', metadata: { option, value } });
      expect((error as SchedulerError).suggestion).toBeTruthy();
    }
    expect(catchError(() => computeBackoff(0))).toMatchObject({ code: 'INVALID_OPTION' });
    expect(catchError(() => computeBackoff(2, {}, 1.5))).toMatchObject({ code: 'INVALID_OPTION' });
    expect(catchError(() => computeBackoff(2, { initalMs: 5 } as never))).toMatchObject({
      code: 'UNKNOWN_OPTION',
      suggestion: expect.stringContaining('initialMs'),
    });
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}
