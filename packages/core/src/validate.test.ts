import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SchedulerError } from './scheduler-error.js';
import {
  checkInstant,
  checkInteger,
  checkMethods,
  checkOptions,
  checkString,
  showValue,
} from './validate.js';

function thrown(fn: () => unknown): SchedulerError {
  try {
    fn();
  } catch (error) {
    if (error instanceof SchedulerError) return error;
    throw error;
  }
  throw new Error('expected a SchedulerError');
}

const where = { operation: 'test', option: 'retries' };

describe('shared validation', () => {
  it('shows values truthfully: NaN, Infinity, long strings cut', () => {
    expect(showValue(Number.NaN)).toBe('NaN');
    expect(showValue(Number.POSITIVE_INFINITY)).toBe('Infinity');
    expect(showValue(-0)).toBe('-0');
    expect(showValue(10n)).toBe('10n');
    expect(showValue(new Date(Number.NaN))).toBe('Invalid Date');
    expect(showValue('x'.repeat(5000))).toContain('(4900 more characters)');
    expect(showValue([1, 2])).toBe('an array of 2 items');
    expect(showValue(new Map())).toBe('a Map');
    expect(showValue(Object.create(null))).toBe('an object');
    const error = thrown(() => checkInteger(Number.NaN, where));
    expect(error.message).toContain('got NaN');
    expect(error.metadata).toEqual({ option: 'retries', value: 'NaN' });
    expect(thrown(() => checkInteger(1e20, where, { max: 100 })).message).toContain(
      'got 100000000000000000000',
    );
  });

  it('refuses unknown and prototype keys, naming the closest known key', () => {
    const error = thrown(() =>
      checkOptions({ retires: 1 }, ['retries', 'timeout'], { operation: 'x', option: 'options' }),
    );
    expect(error.code).toBe('UNKNOWN_OPTION');
    expect(error.suggestion).toContain('`retries`');
    const proto = JSON.parse('{"__proto__": 1}');
    expect(thrown(() => checkOptions(proto, ['a'], { operation: 'x', option: 'options' })).code).toBe(
      'UNKNOWN_OPTION',
    );
    expect(thrown(() => checkOptions(null, ['a'], { operation: 'x', option: 'options' })).code).toBe(
      'INVALID_OPTION',
    );
    expect(thrown(() => checkOptions([], ['a'], { operation: 'x', option: 'options' })).code).toBe(
      'INVALID_OPTION',
    );
    // A 40 KB key is cut before the (quadratic) edit distance.
    expect(
      thrown(() => checkOptions({ ['k'.repeat(40_000)]: 1 }, ['a'], { operation: 'x', option: 'options' }))
        .message.length,
    ).toBeLessThan(400);
  });

  it('checks strings by length before any pattern, instants by range, objects by methods', () => {
    expect(
      thrown(() => checkString('a'.repeat(2000), where, { maxLength: 128 })).message.length,
    ).toBeLessThan(400);
    expect(thrown(() => checkString('', where, { minLength: 1 })).code).toBe('INVALID_OPTION');
    expect(checkInstant('2026-01-01T00:00:00Z', where)).toBe(Date.UTC(2026, 0, 1));
    expect(thrown(() => checkInstant(1e20, where)).message).toContain('got 100000000000000000000');
    expect(thrown(() => checkInstant(new Date(Number.NaN), where)).message).toContain('Invalid Date');
    const error = thrown(() => checkMethods({ get: () => 1 }, ['get', 'put'], where, 'an ObjectStore'));
    expect(error.suggestion).toContain('put()');
  });

  it('never shows a secret through util.inspect, also not through the cause', () => {
    const secret = 'wJalrXUtnFEMI-K7MDENG';
    const error = new SchedulerError('failed', {
      code: 'STORE_UNAVAILABLE',
      cause: new Error(`GET https://u:${secret}@host/x?X-Amz-Signature=${secret}`),
    });
    const text = inspect(error, { depth: 5 });
    expect(text).not.toContain(secret);
    expect(text).toContain('STORE_UNAVAILABLE');
  });
});
