import { ManualClock } from '@s3-scheduler/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Executor } from './executor.js';

describe('callbacks', () => {
  it('reports attempt start, timeout, retry and completion in order, with the run context', async () => {
    const clock = new ManualClock();
    const events: unknown[] = [];
    const executor = new Executor<{ job: string }>({
      clock,
      onAttemptStart: ({ attempt, startedAt, context }) =>
        events.push(['start', attempt, startedAt, context?.job]),
      onTimeout: ({ attempt, timeoutMs, context }) =>
        events.push(['timeout', attempt, timeoutMs, context?.job]),
      onRetry: ({ attempt, delayMs, error, context }) =>
        events.push(['retry', attempt, delayMs, error?.code, context?.job]),
      onComplete: ({ outcome, context }) => events.push(['complete', outcome.status, context?.job]),
    });
    const t0 = clock.now();
    const outcome = executor.run(
      ({ attempt, signal }) =>
        attempt === 1
          ? new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)))
          : 'ok',
      { timeout: 100, retries: 1, context: { job: 'nightly' } },
    );
    await clock.advance(1100);
    expect((await outcome).status).toBe('completed');
    expect(events).toEqual([
      ['start', 1, t0, 'nightly'],
      ['timeout', 1, 100, 'nightly'],
      ['retry', 2, 1000, 'JOB_TIMEOUT', 'nightly'],
      ['start', 2, t0 + 1100, 'nightly'],
      ['complete', 'completed', 'nightly'],
    ]);
  });

  it('calls onComplete once for a run cancelled in the queue', async () => {
    const clock = new ManualClock();
    const completed: string[] = [];
    const executor = new Executor({
      clock,
      maxConcurrent: 1,
      onComplete: ({ outcome }) => completed.push(outcome.status),
    });
    const controller = new AbortController();
    void executor.run(() => clock.sleep(10));
    void executor.run(() => 'never', { signal: controller.signal });
    controller.abort();
    await clock.advance(10);
    expect(completed).toEqual(['cancelled', 'completed']);
  });

  describe('a broken callback never breaks a run', () => {
    const unhandled: unknown[] = [];
    const listener = (reason: unknown) => unhandled.push(reason);
    beforeEach(() => {
      unhandled.length = 0;
      process.on('unhandledRejection', listener);
    });
    afterEach(() => {
      process.off('unhandledRejection', listener);
    });

    it('catches throws and rejections and hands them to onCallbackError', async () => {
      const clock = new ManualClock();
      const reported: [string, string][] = [];
      const executor = new Executor({
        clock,
        onAttemptStart: () => {
          throw new Error('start listener');
        },
        onRetry: async () => {
          throw new Error('retry listener');
        },
        onComplete: () => {
          throw new Error('complete listener');
        },
        onCallbackError: (error, name) => reported.push([name, (error as Error).message]),
      });
      const outcome = executor.run(
        ({ attempt }) => {
          if (attempt === 1) throw new Error('first');
          return 'ok';
        },
        { retries: 1 },
      );
      await clock.advance(1000);
      expect(await outcome).toMatchObject({ status: 'completed', result: 'ok' });
      expect(reported).toEqual([
        ['onAttemptStart', 'start listener'],
        ['onRetry', 'retry listener'],
        ['onAttemptStart', 'start listener'],
        ['onComplete', 'complete listener'],
      ]);
      expect(unhandled).toEqual([]);
    });

    it('survives a throwing onCallbackError and callbacks without a reporter', async () => {
      const clock = new ManualClock();
      const executor = new Executor({
        clock,
        onTimeout: () => Promise.reject(new Error('timeout listener')),
        onComplete: () => {
          throw new Error('complete listener');
        },
        onCallbackError: () => {
          throw new Error('reporter');
        },
      });
      const quiet = new Executor({
        clock,
        onComplete: () => Promise.reject(new Error('nobody listens')),
      });
      const outcome = executor.run(() => new Promise(() => {}), { timeout: 10, abandonGraceMs: 10 });
      const other = quiet.run(() => 'fine');
      await clock.advance(20);
      expect((await outcome).status).toBe('timeout');
      expect((await other).status).toBe('completed');
      await clock.settle();
      expect(unhandled).toEqual([]);
    });
  });
});
