import { getEventListeners } from 'node:events';
import type { SchedulerError } from '@s3-scheduler/core';
import { ManualClock } from '@s3-scheduler/core/testing';
import { describe, expect, it } from 'vitest';
import { Executor } from './executor.js';

describe('cancellation through the run signal', () => {
  it('stops a back-off wait at once and resolves cancelled', async () => {
    const clock = new ManualClock();
    const executor = new Executor({ clock });
    const controller = new AbortController();
    let calls = 0;
    let resolvedAt: number | undefined;
    const outcome = executor
      .run(
        () => {
          calls++;
          throw new Error('down');
        },
        { retries: 3, signal: controller.signal },
      )
      .then((result) => {
        resolvedAt = clock.monotonic();
        return result;
      });
    await clock.advance(500); // halfway through the 1 s wait before attempt 2
    expect(clock.pendingTimers).toBe(1);
    controller.abort(new Error('shutting down'));
    await clock.settle();
    expect(resolvedAt).toBe(500);
    const result = await outcome;
    expect(calls).toBe(1);
    expect(result.status).toBe('cancelled');
    expect(result.attempts.map((attempt) => attempt.status)).toEqual(['failed']);
    expect(result.error).toMatchObject({ code: 'JOB_CANCELLED' });
    expect((result.cause as SchedulerError).cause).toEqual(new Error('shutting down'));
    expect(clock.pendingTimers).toBe(0);
  });

  it('aborts the running attempt with JOB_CANCELLED and waits for it to settle', async () => {
    const clock = new ManualClock();
    const executor = new Executor({ clock });
    const controller = new AbortController();
    let reason: unknown;
    let settled = false;
    const outcome = executor
      .run(
        ({ signal }) =>
          new Promise((_, reject) => {
            signal.addEventListener('abort', () => {
              reason = signal.reason;
              clock.sleep(400).then(() => reject(signal.reason));
            });
          }),
        { retries: 5, timeout: 10_000, signal: controller.signal },
      )
      .then((result) => {
        settled = true;
        return result;
      });
    await clock.advance(100);
    controller.abort('stop');
    await clock.advance(399);
    expect(reason).toMatchObject({ code: 'JOB_CANCELLED', cause: 'stop' });
    expect(settled).toBe(false);
    expect(executor.running).toBe(1);
    await clock.advance(1);
    const result = await outcome;
    expect(result.status).toBe('cancelled');
    expect(result.attempts).toEqual([expect.objectContaining({ status: 'cancelled', durationMs: 500 })]);
    expect(executor.running).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('abandons a cancelled attempt that ignores its signal after the grace', async () => {
    const clock = new ManualClock();
    const executor = new Executor({ clock });
    const controller = new AbortController();
    const outcome = executor.run(() => new Promise(() => {}), {
      signal: controller.signal,
      abandonGraceMs: 2000,
    });
    await clock.advance(100);
    controller.abort();
    await clock.advance(2000);
    expect((await outcome).attempts).toEqual([
      expect.objectContaining({ status: 'cancelled', abandoned: true, durationMs: 2100 }),
    ]);
  });

  it('does not retry when the signal aborts during the grace of a timed-out attempt', async () => {
    const clock = new ManualClock();
    const retries: number[] = [];
    const executor = new Executor({ clock, onRetry: ({ attempt }) => retries.push(attempt) });
    const controller = new AbortController();
    const outcome = executor.run(() => new Promise(() => {}), {
      timeout: 100,
      retries: 3,
      abandonGraceMs: 1000,
      signal: controller.signal,
    });
    await clock.advance(500);
    controller.abort();
    await clock.advance(600);
    const result = await outcome;
    expect(result.status).toBe('cancelled');
    expect(result.error).toMatchObject({ code: 'JOB_CANCELLED' });
    expect(result.attempts).toEqual([expect.objectContaining({ status: 'timeout', abandoned: true })]);
    expect(retries).toEqual([]);
  });

  it('makes no attempt when the signal is already aborted', async () => {
    const executor = new Executor({ clock: new ManualClock() });
    let calls = 0;
    const outcome = await executor.run(
      () => {
        calls++;
      },
      { signal: AbortSignal.abort() },
    );
    expect(calls).toBe(0);
    expect(outcome).toMatchObject({ status: 'cancelled', attempts: [], error: { code: 'JOB_CANCELLED' } });
  });

  it('reports completed when the action finished before the abort', async () => {
    const clock = new ManualClock();
    const executor = new Executor({ clock });
    const controller = new AbortController();
    const outcome = executor.run(() => 'quick', { signal: controller.signal });
    await clock.settle();
    controller.abort();
    expect(await outcome).toMatchObject({ status: 'completed', result: 'quick' });
  });

  it('removes its listeners from a long-lived signal', async () => {
    const clock = new ManualClock();
    const executor = new Executor({ clock });
    const controller = new AbortController();
    const { signal } = controller;
    for (let index = 0; index < 20; index++) {
      const outcome = executor.run(
        ({ attempt }) => {
          if (attempt === 1) throw new Error('retry me');
          return attempt;
        },
        { retries: 1, timeout: 100, signal },
      );
      await clock.advance(1000);
      expect((await outcome).status).toBe('completed');
    }
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });
});

describe('cancellation through onCancelable (no signal)', () => {
  it('cancels a queued run, a running attempt and a back-off wait as a signal would', async () => {
    const clock = new ManualClock();
    const executor = new Executor({ clock, maxConcurrent: 1 });
    const cancels: Array<(reason?: unknown) => void> = [];
    const onCancelable = (cancel: (reason?: unknown) => void) => {
      cancels.push(cancel);
    };
    let seen: unknown;
    const running = executor.run(
      ({ signal }) =>
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => {
            seen = signal.reason;
            reject(signal.reason);
          }),
        ),
      { onCancelable },
    );
    const queued = executor.run(() => 'never', { onCancelable });
    expect(cancels).toHaveLength(2);
    cancels[1]!('drop it');
    const dropped = await queued;
    expect(dropped).toMatchObject({ status: 'cancelled', attempts: [], error: { code: 'JOB_CANCELLED' } });
    cancels[0]!(new Error('stop'));
    const stopped = await running;
    expect(stopped.status).toBe('cancelled');
    expect(seen).toMatchObject({ code: 'JOB_CANCELLED' });
    expect((stopped.cause as SchedulerError).cause).toEqual(new Error('stop'));

    let calls = 0;
    const retrying = executor.run(
      () => {
        calls++;
        throw new Error('down');
      },
      { retries: 3, onCancelable },
    );
    await clock.advance(500); // in the 1 s wait before attempt 2
    cancels[2]!('enough');
    const waited = await retrying;
    expect(calls).toBe(1);
    expect(waited.status).toBe('cancelled');
    expect(clock.monotonic()).toBe(500);
    cancels[2]!('again'); // after the end: nothing happens
    expect(clock.pendingTimers).toBe(0);
    expect(executor.running).toBe(0);
  });

  it('refuses onCancelable together with a signal, and a non-function', () => {
    const executor = new Executor({ clock: new ManualClock() });
    expect(() =>
      executor.run(() => 1, { signal: new AbortController().signal, onCancelable: () => {} }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    expect(() => executor.run(() => 1, { onCancelable: 'yes' as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION' }),
    );
  });
});
