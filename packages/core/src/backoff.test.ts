import { describe, expect, it } from 'vitest';
import { exponentialBackoff } from './backoff.js';

describe('exponentialBackoff', () => {
  it('doubles from initialMs per attempt up to maxMs, and overflow stays capped', () => {
    const waits = [1, 2, 3, 4, 5, 6, 7].map((attempt) =>
      exponentialBackoff(attempt, { initialMs: 1000, maxMs: 30_000 }),
    );
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
    expect(exponentialBackoff(5000, { initialMs: 50, maxMs: 2000, factor: 3 })).toBe(2000);
    expect(exponentialBackoff(3, { initialMs: 0, maxMs: 2000 })).toBe(0);
  });
});
