import { SchedulerError } from '@s3-scheduler/core';
import { ManualClock } from '@s3-scheduler/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Executor } from './executor.js';
import type { ActionContext } from './types.js';

/** An action that stops only when its signal aborts, `lag` ms later (never, for Infinity). */
function cooperative(clock: ManualClock, lagMs = 0) {
  return ({ signal }: ActionContext) =>
    new Promise<never>((_, reject) => {
      signal.addEventListener('abort', () => {
        if (lagMs === Number.POSITIVE_INFINITY) return;
        clock.sleep(lagMs).then(() => reject(signal.reason));
      });
    });
}

describe('timeouts that abort', () => {
  it('aborts the attempt signal with JOB_TIMEOUT and reports timeout', async () => {
    const clock = new ManualClock();
    const executor = new Executor({ clock });
    let reason: unknown;
    const outcome = executor.run(
      ({ signal }) =>
        new Promise((_, reject) => {
          signal.addEventListener('abort', () => {
            reason = signal.reason;
            reject(signal.reason);
          });
        }),
      { timeout: 1000 },
    );
    await clock.advance(999);
    expect(reason).toBeUndefined();
    await clock.advance(1);
    expect(reason).toBeInstanceOf(SchedulerError);
    expect(reason).toMatchObject({ code: 'JOB_TIMEOUT', metadata: { attempt: 1, timeoutMs: 1000 } });
    const result = await outcome;
    expect(result.status).toBe('timeout');
    expect(result.error).toMatchObject({ code: 'JOB_TIMEOUT' });
    expect(result.attempts).toEqual([
      expect.objectContaining({
        status: 'timeout',
        durationMs: 1000,
        error: expect.objectContaining({ code: 'JOB_TIMEOUT' }),
      }),
    ]);
    expect(result.attempts[0]?.abandoned).toBeUndefined();
    expect(clock.pendingTimers).toBe(0);
  });

  it('retries a timeout by default, only after the aborted attempt has settled', async () => {
    const clock = new ManualClock();
    const executor = new Executor({ clock });
    const starts: number[] = [];
    const outcome = executor.run(
      (context) => {
        starts.push(clock.monotonic());
        return cooperative(clock, 300)(context);
      },
      { timeout: 1000, retries: 1 },
    );
    // Abort at 1000, settles at 1300, back-off 1000: the retry starts at 2300, not 2000.
    await clock.advance(2299);
    expect(starts).toEqual([0]);
    await clock.advance(1);
    expect(starts).toEqual([0, 2300]);
    await clock.advance(1300);
    const result = await outcome;
    expect(result.status).toBe('timeout');
    expect(result.attempts.map(({ status, durationMs }) => [status, durationMs])).toEqual([
      ['timeout', 1300],
      ['timeout', 1300],
    ]);
  });

  it('keeps the timeout status even if the action resolves after its abort', async () => {
    const clock = new ManualClock();
    const executor = new Executor({ clock });
    const outcome = executor.run(
      ({ signal }) => new Promise((resolve) => signal.addEventListener('abort', () => resolve('late'))),
      { timeout: 50 },
    );
    await clock.advance(50);
    const result = await outcome;
    expect(result.status).toBe('timeout');
    expect(result.result).toBeUndefined();
  });

  it('does not retry timeouts when retryable says so', async () => {
    const clock = new ManualClock();
    const executor = new Executor({ clock });
    let calls = 0;
    const outcome = executor.run(
      (context) => {
        calls++;
        return cooperative(clock)(context);
      },
      { timeout: 10, retries: 3, retryable: (error) => (error as SchedulerError).code !== 'JOB_TIMEOUT' },
    );
    await clock.advance(10);
    expect((await outcome).status).toBe('timeout');
    expect(calls).toBe(1);
  });
});

describe('grace period and abandoned attempts', () => {
  it('abandons an attempt that ignores its signal, after the grace, before the next attempt', async () => {
    const clock = new ManualClock();
    const executor = new Executor({ clock });
    const starts: number[] = [];
    const outcome = executor.run(
      () => {
        starts.push(clock.monotonic());
        return new Promise(() => {}); // never settles, ignores the signal
      },
      { timeout: 1000, retries: 1, abandonGraceMs: 5000 },
    );
    // Timeout at 1000, grace until 6000, back-off 1000: the retry starts at 7000.
    await clock.advance(6999);
    expect(starts).toEqual([0]);
    expect(executor.running).toBe(1);
    await clock.advance(1);
    expect(starts).toEqual([0, 7000]);
    await clock.advance(6000);
    const result = await outcome;
    expect(result.status).toBe('timeout');
    expect(result.attempts).toEqual([
      expect.objectContaining({ status: 'timeout', abandoned: true, durationMs: 6000 }),
      expect.objectContaining({ status: 'timeout', abandoned: true, durationMs: 6000 }),
    ]);
    expect(executor.running).toBe(0);
  });

  it('uses a 5 s grace by default', async () => {
    const clock = new ManualClock();
    const executor = new Executor({ clock });
    let settled = false;
    const outcome = executor
      .run(() => new Promise(() => {}), { timeout: 100 })
      .then((result) => {
        settled = true;
        return result;
      });
    await clock.advance(5099);
    expect(settled).toBe(false);
    await clock.advance(1);
    expect((await outcome).attempts[0]).toMatchObject({ abandoned: true, durationMs: 5100 });
  });

  it('never runs two attempts of one run at the same time', async () => {
    const clock = new ManualClock();
    const executor = new Executor({ clock });
    let active = 0;
    let maxActive = 0;
    const outcome = executor.run(
      ({ attempt, signal }) => {
        active++;
        maxActive = Math.max(maxActive, active);
        // Each attempt lingers a different time after its abort, some past the grace.
        const lag = [200, 900, 5000][attempt - 1] ?? 0;
        return new Promise((_, reject) => {
          signal.addEventListener('abort', () => {
            clock.sleep(lag).then(() => {
              active--;
              reject(new Error('stopped'));
            });
          });
        });
      },
      { timeout: 500, retries: 2, abandonGraceMs: 1000, backoff: { initialMs: 0 } },
    );
    await clock.advance(20_000);
    const result = await outcome;
    expect(result.attempts).toHaveLength(3);
    expect(maxActive).toBe(1);
    for (let index = 1; index < result.attempts.length; index++) {
      expect(result.attempts[index]!.startedAt).toBeGreaterThanOrEqual(
        result.attempts[index - 1]!.finishedAt,
      );
    }
    expect(result.attempts.map((attempt) => attempt.abandoned ?? false)).toEqual([false, false, true]);
  });

  describe('late rejections', () => {
    const unhandled: unknown[] = [];
    const listener = (reason: unknown) => unhandled.push(reason);
    beforeEach(() => {
      unhandled.length = 0;
      process.on('unhandledRejection', listener);
    });
    afterEach(() => {
      process.off('unhandledRejection', listener);
    });

    it('catches the late rejection of an abandoned attempt', async () => {
      const clock = new ManualClock();
      const executor = new Executor({ clock });
      const outcome = executor.run(
        async () => {
          await clock.sleep(20_000);
          throw new Error('late failure');
        },
        { timeout: 1000, abandonGraceMs: 1000 },
      );
      await clock.advance(2000);
      expect((await outcome).attempts[0]).toMatchObject({ status: 'timeout', abandoned: true });
      await clock.advance(20_000);
      await clock.settle();
      expect(unhandled).toEqual([]);
    });

    it('leaves no unhandled rejection from failing runs nobody awaits', async () => {
      const clock = new ManualClock();
      const executor = new Executor({ clock });
      void executor.run(() => Promise.reject(new Error('ignored')), { retries: 1 });
      void executor.run(() => {
        throw 'not an error';
      });
      await clock.advance(5000);
      await clock.settle();
      expect(unhandled).toEqual([]);
      expect(executor.running).toBe(0);
    });
  });
});
