import { SchedulerError } from '@s3-scheduler/core';
import { ManualClock } from '@s3-scheduler/core/testing';
import { describe, expect, it } from 'vitest';
import { Executor } from './executor.js';
import type { RunOutcome } from './types.js';

const START = Date.UTC(2026, 0, 1);

function setup() {
  const clock = new ManualClock();
  return { clock, executor: new Executor({ clock }) };
}

describe('Executor.run: results and failures', () => {
  it('completes on the first attempt with timings from the clock', async () => {
    const { clock, executor } = setup();
    const outcome = executor.run(async () => {
      await clock.sleep(250);
      return 'done';
    });
    await clock.advance(250);
    expect(await outcome).toEqual({
      status: 'completed',
      result: 'done',
      attempts: [
        { attempt: 1, startedAt: START, finishedAt: START + 250, durationMs: 250, status: 'completed' },
      ],
      startedAt: START,
      finishedAt: START + 250,
      durationMs: 250,
      queuedMs: 0,
    });
  });

  it('reports whole milliseconds when the monotonic clock reads fractions', async () => {
    // performance.now() has fractions: durations were 1.1939729999999145 before rounding here.
    const { clock, executor } = setup();
    let finish!: () => void;
    const outcome = executor.run(() => new Promise<void>((resolve) => (finish = resolve)));
    await clock.advance(1.193973);
    finish();
    const { durationMs, queuedMs, attempts } = await outcome;
    expect(durationMs).toBe(1);
    expect(attempts[0]!.durationMs).toBe(1);
    expect(queuedMs).toBe(0);
    const late = executor.run(() => new Promise<void>((resolve) => (finish = resolve)));
    await clock.advance(1193.5001);
    finish();
    expect((await late).durationMs).toBe(1194);
    expect(Number.isInteger((await late).attempts[0]!.durationMs)).toBe(true);
  });

  it('makes a single attempt with retries: 0 (the default)', async () => {
    const { executor } = setup();
    let calls = 0;
    const outcome = await executor.run(() => {
      calls++;
      throw new Error('nope');
    });
    expect(calls).toBe(1);
    expect(outcome.status).toBe('failed');
    expect(outcome.attempts).toHaveLength(1);
    expect(outcome.error).toMatchObject({ name: 'Error', message: 'nope' });
  });

  it('makes retries + 1 attempts and reports the last error', async () => {
    const { clock, executor } = setup();
    let calls = 0;
    const outcome = executor.run(
      async () => {
        calls++;
        throw Object.assign(new Error(`failure ${calls}`), { code: 'E_FLAKY' });
      },
      { retries: 2 },
    );
    await clock.advance(10_000);
    const result = await outcome;
    expect(calls).toBe(3);
    expect(result.status).toBe('failed');
    expect(result.attempts.map((attempt) => attempt.status)).toEqual(['failed', 'failed', 'failed']);
    expect(result.error).toMatchObject({ message: 'failure 3', code: 'E_FLAKY', stack: expect.any(String) });
    expect(result.cause).toBeInstanceOf(Error);
  });

  it('stops retrying once an attempt succeeds', async () => {
    const { clock, executor } = setup();
    let calls = 0;
    const outcome = executor.run(
      () => {
        calls++;
        if (calls < 3) throw new Error('not yet');
        return calls;
      },
      { retries: 5 },
    );
    await clock.advance(3000);
    const result = await outcome;
    expect(result).toMatchObject({ status: 'completed', result: 3 });
    expect(result.attempts.map((attempt) => attempt.status)).toEqual(['failed', 'failed', 'completed']);
    expect(result.error).toBeUndefined();
    expect(clock.pendingTimers).toBe(0);
  });

  it('handles a synchronous throw, a plain value, a thenable and non-Error rejections', async () => {
    const { executor } = setup();
    expect(
      await executor.run(() => {
        throw new RangeError('sync');
      }),
    ).toMatchObject({ status: 'failed', error: { name: 'RangeError', message: 'sync' } });
    expect(await executor.run(() => 7)).toMatchObject({ status: 'completed', result: 7 });
    const thenable = {
      // biome-ignore lint/suspicious/noThenProperty: a thenable that is not a Promise is what this checks
      then: (resolve: (value: string) => void) => resolve('thenable'),
    } as PromiseLike<string>;
    expect(await executor.run(() => thenable)).toMatchObject({ status: 'completed', result: 'thenable' });
    for (const value of ['text', undefined, null, 0, { reason: 'object' }]) {
      const outcome = await executor.run(() => Promise.reject(value));
      expect(outcome.status).toBe('failed');
      expect(outcome.error).toMatchObject({ name: 'SchedulerError', code: 'JOB_FAILED' });
      expect(outcome.cause).toBe(value);
    }
  });

  it('waits for an action that takes long without a timeout (timeout: 0)', async () => {
    const { clock, executor } = setup();
    let done = false;
    const outcome = executor
      .run(() => clock.sleep(3_600_000), { timeout: 0 })
      .then((result) => {
        done = true;
        return result;
      });
    await clock.advance(3_599_999);
    expect(done).toBe(false);
    await clock.advance(1);
    expect((await outcome).status).toBe('completed');
  });

  it('passes the context with a 1-based attempt number and an AbortSignal', async () => {
    const { clock, executor } = setup();
    const seen: unknown[] = [];
    const outcome = executor.run(
      (context) => {
        seen.push({
          job: context.job,
          attempt: context.attempt,
          signal: context.signal instanceof AbortSignal,
        });
        if (context.attempt < 2) throw new Error('again');
        return context.job;
      },
      { retries: 1, context: { job: 'report' } },
    );
    await clock.advance(1000);
    expect(await outcome).toMatchObject({ status: 'completed', result: 'report' });
    expect(seen).toEqual([
      { job: 'report', attempt: 1, signal: true },
      { job: 'report', attempt: 2, signal: true },
    ]);
  });

  it('returns an outcome that survives JSON, with the original error kept out of it', async () => {
    const { executor } = setup();
    const original = new Error('kept');
    const outcome = await executor.run(() => Promise.reject(original));
    const json = JSON.parse(JSON.stringify(outcome)) as RunOutcome<unknown>;
    expect(json).toEqual({ ...outcome });
    expect(Object.keys(outcome)).not.toContain('cause');
    expect(outcome.cause).toBe(original);
  });
});

describe('Executor.run: retryable', () => {
  it('does not retry an error that says retriable: false', async () => {
    const { executor } = setup();
    let calls = 0;
    const outcome = await executor.run(
      () => {
        calls++;
        throw new SchedulerError('bad config', { code: 'INVALID_OPTION' });
      },
      { retries: 3 },
    );
    expect(calls).toBe(1);
    expect(outcome).toMatchObject({ status: 'failed', error: { code: 'INVALID_OPTION' } });
  });

  it('uses a custom predicate and treats a throwing one as "do not retry"', async () => {
    const { clock, executor } = setup();
    const errors: unknown[] = [];
    let calls = 0;
    const outcome = executor.run(
      () => {
        calls++;
        throw new Error(calls === 1 ? 'transient' : 'fatal');
      },
      { retries: 5, retryable: (error) => (error as Error).message === 'transient' },
    );
    await clock.advance(1000);
    expect(await outcome).toMatchObject({ status: 'failed', error: { message: 'fatal' } });
    expect(calls).toBe(2);

    const reporting = new Executor({ clock, onCallbackError: (error, name) => errors.push([name, error]) });
    const broken = await reporting.run(
      () => {
        throw new Error('x');
      },
      {
        retries: 3,
        retryable: () => {
          throw new Error('predicate bug');
        },
      },
    );
    expect(broken.attempts).toHaveLength(1);
    expect(errors).toEqual([['retryable', new Error('predicate bug')]]);
  });
});
