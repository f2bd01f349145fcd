import { ManualClock } from '@s3-scheduler/core/testing';
import { describe, expect, it } from 'vitest';
import { Executor } from './executor.js';
import type { ActionContext } from './types.js';

/** An action that settles only when its signal aborts. */
const untilAborted = ({ signal }: ActionContext) =>
  new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));

describe('the shared timer of attempt timeouts', () => {
  it('times out each attempt at its own deadline, with one timer for many runs', async () => {
    const clock = new ManualClock();
    const executor = new Executor({ clock, maxConcurrent: 10 });
    const ended: Array<[string, number]> = [];
    const track = (name: string, timeout: number) =>
      executor.run(untilAborted, { timeout }).then((outcome) => {
        ended.push([name, clock.monotonic()]);
        return outcome;
      });
    const outcomes = [track('a', 1000), track('b', 300)];
    await clock.advance(100);
    outcomes.push(track('c', 1000), track('d', 300));
    await clock.settle();
    // Two timeout lengths, but only the earliest deadline holds a timer.
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(2000);
    const results = await Promise.all(outcomes);
    expect(results.map((result) => result.status)).toEqual(['timeout', 'timeout', 'timeout', 'timeout']);
    expect(ended).toEqual([
      ['b', 300],
      ['d', 400],
      ['a', 1000],
      ['c', 1100],
    ]);
    expect(results.map((result) => result.attempts[0]?.durationMs)).toEqual([1000, 300, 1000, 300]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('holds no timer once the runs are over, and never times out a run that ended', async () => {
    const clock = new ManualClock();
    const executor = new Executor({ clock, maxConcurrent: 2 });
    let release!: () => void;
    const slow = executor.run(() => new Promise<string>((resolve) => (release = () => resolve('slow'))), {
      timeout: 5000,
    });
    const quick = await executor.run(async () => 'quick', { timeout: 1000 });
    expect(quick).toMatchObject({ status: 'completed', result: 'quick' });
    await clock.advance(1000);
    release();
    expect(await slow).toMatchObject({ status: 'completed', result: 'slow' });
    expect(clock.pendingTimers).toBe(0);
  });

  it('gives a synchronous action a live signal, made only when it is read', async () => {
    const clock = new ManualClock();
    const executor = new Executor({ clock });
    let seen: AbortSignal | undefined;
    const outcome = await executor.run(
      (context) => {
        seen = context.signal;
        return { spread: Object.keys({ ...context }) };
      },
      { timeout: 1000, context: { job: 'x' } },
    );
    expect(seen).toBeInstanceOf(AbortSignal);
    expect(seen?.aborted).toBe(false);
    expect(outcome.result).toEqual({ spread: ['job', 'attempt', 'signal'] });
    expect(clock.pendingTimers).toBe(0);
  });

  it("copies the run's context as a spread would: own keys in order, symbols, __proto__, a shared signal accessor", async () => {
    const clock = new ManualClock();
    const executor = new Executor({ clock });
    const tag = Symbol('tag');
    const hidden = Symbol('hidden');
    const base = JSON.parse('{"b":1,"__proto__":{"polluted":true},"a":2}') as Record<PropertyKey, unknown>;
    base[tag] = 'kept';
    Object.defineProperty(base, hidden, { value: 'not copied', enumerable: false });
    Object.defineProperty(base, 'quiet', { value: 'not copied', enumerable: false });
    const outcome = await executor.run(
      (context) => {
        const copy = context as unknown as Record<PropertyKey, unknown>;
        const derived = Object.create(context) as { signal: AbortSignal };
        const signal = context.signal;
        const sameSignal = derived.signal === signal;
        const replaced = new AbortController().signal;
        (context as { signal: AbortSignal }).signal = replaced;
        return {
          keys: Object.keys(copy),
          ownProto: Object.hasOwn(copy, '__proto__') && Object.getPrototypeOf(copy) === Object.prototype,
          tag: copy[tag],
          hidden: hidden in copy,
          sameSignal,
          replaced: context.signal === replaced,
        };
      },
      { context: base },
    );
    expect(outcome.result).toEqual({
      keys: ['b', '__proto__', 'a', 'attempt', 'signal'],
      ownProto: true,
      tag: 'kept',
      hidden: false,
      sameSignal: true,
      replaced: true,
    });
  });

  it('reports a run cancelled while its synchronous action ran as cancelled', async () => {
    const clock = new ManualClock();
    const executor = new Executor({ clock });
    const controller = new AbortController();
    const outcome = await executor.run(
      () => {
        controller.abort(new Error('stop'));
        return 'done';
      },
      { signal: controller.signal },
    );
    expect(outcome.status).toBe('cancelled');
    expect(outcome.error).toMatchObject({ code: 'JOB_CANCELLED' });
  });
});
