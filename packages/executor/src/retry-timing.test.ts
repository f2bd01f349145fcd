import { ManualClock } from '@s3-scheduler/core/testing';
import { describe, expect, it } from 'vitest';
import { computeBackoff } from './backoff.js';
import { Executor } from './executor.js';
import type { RetryEvent } from './types.js';

describe('back-off schedule on the clock', () => {
  it('starts attempts at 0, 1 s, 3 s, 7 s by default and never early', async () => {
    const clock = new ManualClock();
    const retries: RetryEvent<Record<string, unknown>>[] = [];
    const executor = new Executor({ clock, onRetry: (event) => retries.push(event) });
    const starts: number[] = [];
    const outcome = executor.run(
      () => {
        starts.push(clock.monotonic());
        throw new Error('down');
      },
      { retries: 3 },
    );
    await clock.advance(999);
    expect(starts).toEqual([0]);
    await clock.advance(1);
    expect(starts).toEqual([0, 1000]);
    await clock.advance(1999);
    expect(starts).toEqual([0, 1000]);
    await clock.advance(1);
    expect(starts).toEqual([0, 1000, 3000]);
    await clock.advance(3999);
    expect(starts).toEqual([0, 1000, 3000]);
    await clock.advance(1);
    expect(starts).toEqual([0, 1000, 3000, 7000]);
    const result = await outcome;
    expect(result.status).toBe('failed');
    expect(result.durationMs).toBe(7000);
    expect(retries.map(({ attempt, delayMs }) => [attempt, delayMs])).toEqual([
      [2, 1000],
      [3, 2000],
      [4, 4000],
    ]);
    expect(retries[0]?.error).toMatchObject({ message: 'down' });
  });

  it('follows a custom back-off with its cap', async () => {
    const clock = new ManualClock();
    const executor = new Executor({ clock });
    const starts: number[] = [];
    const outcome = executor.run(
      () => {
        starts.push(clock.monotonic());
        return Promise.reject(new Error('down'));
      },
      { retries: 4, backoff: { initialMs: 100, factor: 3, maxMs: 500 } },
    );
    await clock.advance(10_000);
    await outcome;
    expect(starts).toEqual([0, 100, 400, 900, 1400]);
  });

  it('reproduces jittered delays from a seed, equal to computeBackoff', async () => {
    const clock = new ManualClock();
    const delays: number[][] = [[], [], []];
    const executor = new Executor({ clock });
    const backoff = { jitter: 'full' as const };
    const runs = [7, 7, 8].map((seed, index) =>
      executor
        .run(
          () => {
            throw new Error('down');
          },
          { retries: 4, backoff, seed },
        )
        .then((outcome) => {
          const starts = outcome.attempts.map((attempt) => attempt.startedAt);
          delays[index] = starts.slice(1).map((start, k) => start - (outcome.attempts[k]?.finishedAt ?? 0));
        }),
    );
    await clock.advance(60_000);
    await Promise.all(runs);
    const expected = [2, 3, 4, 5].map((attempt) => computeBackoff(attempt, backoff, 7));
    expect(delays[0]).toEqual(expected);
    expect(delays[1]).toEqual(expected);
    expect(delays[2]).not.toEqual(expected);
  });

  it('draws reproducible per-run seeds from the executor seed', async () => {
    const seen = async (seed: number) => {
      const clock = new ManualClock();
      const delays: number[] = [];
      const executor = new Executor({ clock, seed, onRetry: ({ delayMs }) => delays.push(delayMs) });
      const runs = [1, 2, 3].map(() =>
        executor.run(
          () => {
            throw new Error('down');
          },
          { retries: 2, backoff: { jitter: 'equal' } },
        ),
      );
      await clock.advance(60_000);
      await Promise.all(runs);
      return delays;
    };
    const first = await seen(99);
    expect(first).toHaveLength(6);
    expect(await seen(99)).toEqual(first);
    expect(await seen(100)).not.toEqual(first);
  });
});
