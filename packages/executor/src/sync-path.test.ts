import { ManualClock } from '@s3-scheduler/core/testing';
import { describe, expect, it } from 'vitest';
import { Executor } from './executor.js';
import type { RunOutcome } from './types.js';

/** Adversarial tests of the synchronous path: runs settled inside `#start`, the guarded pump. */

/** A run that holds its slot until `release()` is called. */
function blocker() {
  let release!: () => void;
  const action = () => new Promise<string>((resolve) => (release = () => resolve('blocker')));
  return { action, release: () => release() };
}

describe('nested runs from inside a synchronous action', () => {
  it('maxConcurrent 1: a nested synchronous run queues behind its parent and starts once the parent ends', async () => {
    const executor = new Executor({ clock: new ManualClock(), maxConcurrent: 1 });
    const log: string[] = [];
    let inner!: Promise<RunOutcome<string>>;
    const outer = executor.run(() => {
      log.push('outer start');
      inner = executor.run(() => {
        log.push('inner');
        return 'inner';
      });
      expect(executor.running).toBe(1);
      expect(executor.queued).toBe(1);
      log.push('outer end');
      return 'outer';
    });
    // Both settled synchronously: the inner started from the pump after the outer's slot freed.
    expect(log).toEqual(['outer start', 'outer end', 'inner']);
    expect(executor.running).toBe(0);
    expect(executor.queued).toBe(0);
    expect(await outer).toMatchObject({ status: 'completed', result: 'outer' });
    expect(await inner).toMatchObject({ status: 'completed', result: 'inner' });
  });

  it('maxConcurrent 1: a nested asynchronous run queues behind its parent', async () => {
    const clock = new ManualClock();
    const executor = new Executor({ clock, maxConcurrent: 1 });
    let inner!: Promise<RunOutcome<string>>;
    const outer = executor.run(() => {
      inner = executor.run(async () => {
        await clock.sleep(10);
        return 'inner';
      });
      return 'outer';
    });
    expect(executor.running).toBe(1);
    expect(executor.queued).toBe(0);
    expect(await outer).toMatchObject({ status: 'completed', result: 'outer' });
    await clock.advance(10);
    expect(await inner).toMatchObject({ status: 'completed', result: 'inner' });
    expect(executor.running).toBe(0);
  });

  it('maxConcurrent 2: a nested synchronous run takes the free slot and ends before its parent', async () => {
    const executor = new Executor({ clock: new ManualClock(), maxConcurrent: 2 });
    const log: string[] = [];
    let runningInside = -1;
    const outer = executor.run(() => {
      const inner = executor.run(() => {
        runningInside = executor.running;
        log.push('inner');
        return 'inner';
      });
      log.push('outer');
      return inner;
    });
    expect(runningInside).toBe(2);
    expect(log).toEqual(['inner', 'outer']);
    const outcome = await outer;
    expect(outcome.status).toBe('completed');
    expect(outcome.result).toMatchObject({ status: 'completed', result: 'inner' });
    expect(executor.running).toBe(0);
  });

  it('a recursion of nested runs 200 deep with maxConcurrent 1 settles every run, in order, from the loop', async () => {
    const executor = new Executor({ clock: new ManualClock(), maxConcurrent: 1 });
    const order: number[] = [];
    const runs: Promise<RunOutcome<number>>[] = [];
    const step = (i: number) => () => {
      order.push(i);
      expect(executor.running).toBe(1);
      if (i < 200) runs.push(executor.run(step(i + 1)));
      return i;
    };
    runs.push(executor.run(step(0)));
    expect(executor.running).toBe(0);
    const outcomes = await Promise.all(runs);
    expect(order).toEqual(Array.from({ length: 201 }, (_, i) => i));
    // Each nested run() returned before its parent's push: sort the results, then compare.
    expect(outcomes.every((outcome) => outcome.status === 'completed')).toBe(true);
    expect(outcomes.map((outcome) => outcome.result as number).sort((a, b) => a - b)).toEqual(order);
  });

  it('cancelQueued() from inside a synchronous action started by the pump cancels the rest, and the pump stops', async () => {
    const executor = new Executor({ clock: new ManualClock(), maxConcurrent: 1 });
    const hold = blocker();
    const first = executor.run(hold.action);
    let cancelled = -1;
    const started: number[] = [];
    const runs = [0, 1, 2, 3].map((i) =>
      executor.run(() => {
        started.push(i);
        if (i === 1) cancelled = executor.cancelQueued('stop');
        return i;
      }),
    );
    hold.release();
    await first;
    const outcomes = await Promise.all(runs);
    expect(started).toEqual([0, 1]);
    expect(cancelled).toBe(2);
    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      'completed',
      'completed',
      'cancelled',
      'cancelled',
    ]);
    expect(outcomes[2]!.error).toMatchObject({ code: 'JOB_CANCELLED' });
    expect(executor.running).toBe(0);
    expect(executor.queued).toBe(0);
  });

  it('drain() called from inside the actions of a pumping queue resolves drained once all ran', async () => {
    const executor = new Executor({ clock: new ManualClock(), maxConcurrent: 1 });
    const hold = blocker();
    const first = executor.run(hold.action);
    const drains: Promise<unknown>[] = [];
    const seen: Array<[number, number]> = [];
    const runs = [0, 1, 2].map((i) =>
      executor.run(() => {
        seen.push([executor.running, executor.queued]);
        drains.push(executor.drain());
        return i;
      }),
    );
    hold.release();
    await first;
    await Promise.all(runs);
    expect(seen).toEqual([
      [1, 2],
      [1, 1],
      [1, 0],
    ]);
    for (const result of await Promise.all(drains)) {
      expect(result).toEqual({ drained: true, running: 0, queued: 0 });
    }
  });

  it('drain() from inside a synchronous action started at once resolves drained', async () => {
    const executor = new Executor({ clock: new ManualClock() });
    let drained!: Promise<unknown>;
    await executor.run(() => {
      drained = executor.drain();
      return 1;
    });
    expect(await drained).toEqual({ drained: true, running: 0, queued: 0 });
  });
});

describe('callbacks on the synchronous path', () => {
  it('an onComplete that throws is reported, the run resolves, and the queue goes on', async () => {
    const reported: string[] = [];
    const executor = new Executor({
      clock: new ManualClock(),
      maxConcurrent: 1,
      onComplete: () => {
        throw new Error('onComplete broke');
      },
      onAttemptStart: () => {
        throw new Error('onAttemptStart broke');
      },
      onCallbackError: (error, name) => void reported.push(`${name}: ${(error as Error).message}`),
    });
    const hold = blocker();
    const first = executor.run(hold.action);
    const runs = [executor.run(() => 'a'), executor.run(() => 'b')];
    hold.release();
    await first;
    const outcomes = await Promise.all(runs);
    expect(outcomes.map((outcome) => outcome.result)).toEqual(['a', 'b']);
    expect(reported.filter((line) => line.startsWith('onComplete')).length).toBe(3);
    expect(reported.filter((line) => line.startsWith('onAttemptStart')).length).toBe(3);
    expect(executor.running).toBe(0);
  });

  it('an onAttemptStart that starts another run re-entrantly keeps at most maxConcurrent running', async () => {
    let executor!: Executor;
    let peak = 0;
    let asked = 1;
    const runs: Promise<RunOutcome<unknown>>[] = [];
    executor = new Executor({
      clock: new ManualClock(),
      maxConcurrent: 2,
      onAttemptStart: () => {
        peak = Math.max(peak, executor.running);
        if (asked < 20) {
          asked++;
          runs.push(executor.run(() => asked));
        }
      },
    });
    runs.push(executor.run(() => 0));
    await Promise.all(runs);
    expect(runs.length).toBe(20);
    expect(peak).toBeLessThanOrEqual(2);
    expect(executor.running).toBe(0);
    expect(executor.queued).toBe(0);
  });

  it('an onComplete that starts a run while others wait does not let it jump the queue (FIFO)', async () => {
    const order: string[] = [];
    let executor!: Executor;
    let injected = false;
    executor = new Executor({
      clock: new ManualClock(),
      maxConcurrent: 1,
      onComplete: () => {
        if (injected) return;
        injected = true;
        void executor.run(() => void order.push('late'));
      },
    });
    // The first run is synchronous, started at once, and a queue forms behind an async one.
    const hold = blocker();
    const first = executor.run(hold.action);
    const queued = [executor.run(() => void order.push('q1')), executor.run(() => void order.push('q2'))];
    hold.release();
    await first;
    await Promise.all(queued);
    await executor.drain();
    // 'late' was asked for after q1 and q2 had queued: it must not start before them.
    expect(order).toEqual(['q1', 'q2', 'late']);
  });

  it('an onComplete that chains 5,000 synchronous runs re-entrantly settles each (no stack overflow, no rejection)', async () => {
    let executor!: Executor;
    const runs: Promise<RunOutcome<unknown>>[] = [];
    const reported: unknown[] = [];
    let asked = 1;
    executor = new Executor({
      clock: new ManualClock(),
      onComplete: () => {
        if (asked < 5000) {
          asked++;
          runs.push(executor.run(() => asked));
        }
      },
      onCallbackError: (error) => void reported.push(error),
    });
    runs.push(executor.run(() => 0));
    const outcomes = await Promise.allSettled(runs);
    expect(runs.length).toBe(5000);
    expect(reported).toEqual([]);
    expect(
      outcomes.every((outcome) => outcome.status === 'fulfilled' && outcome.value.status === 'completed'),
    ).toBe(true);
    expect(executor.running).toBe(0);
  });
});

describe('runs asked for from onComplete', () => {
  it('a run() from onComplete of a synchronous run started at once is settled before the outer run() returns', async () => {
    const log: string[] = [];
    let executor!: Executor;
    let inner: Promise<RunOutcome<unknown>> | undefined;
    executor = new Executor({
      clock: new ManualClock(),
      onComplete: ({ outcome }) => {
        log.push(`complete ${String(outcome.result)}`);
        if (!inner) {
          inner = executor.run(() => 'inner');
          // Queued behind the callback, started by the loop right after it.
          expect(executor.queued).toBe(1);
        }
      },
    });
    const outer = executor.run(() => 'outer');
    expect(log).toEqual(['complete outer', 'complete inner']);
    expect(executor.running).toBe(0);
    expect(executor.queued).toBe(0);
    expect(await outer).toMatchObject({ status: 'completed', result: 'outer' });
    expect(await inner).toMatchObject({ status: 'completed', result: 'inner' });
  });

  it('chains from onComplete with maxConcurrent 3 and async runs never exceed the limit and all settle', async () => {
    const clock = new ManualClock();
    let executor!: Executor;
    let asked = 0;
    let peak = 0;
    const runs: Promise<RunOutcome<unknown>>[] = [];
    const start = () => {
      asked++;
      const n = asked;
      runs.push(
        executor.run(
          n % 2 === 0
            ? () => {
                peak = Math.max(peak, executor.running);
                return n;
              }
            : async () => {
                peak = Math.max(peak, executor.running);
                await clock.sleep(1);
                return n;
              },
        ),
      );
    };
    executor = new Executor({
      clock,
      maxConcurrent: 3,
      onComplete: () => {
        if (asked < 3000) start();
      },
    });
    for (let i = 0; i < 5; i++) start();
    for (let step = 0; step < 3000 && (executor.running > 0 || executor.queued > 0); step++)
      await clock.advance(1);
    const outcomes = await Promise.all(runs);
    expect(asked).toBe(3000);
    expect(outcomes.every((outcome) => outcome.status === 'completed')).toBe(true);
    expect(peak).toBeLessThanOrEqual(3);
    expect(executor.running).toBe(0);
  });
});

describe('cancellation on the synchronous path', () => {
  it("onCancelable's function called from inside the synchronous action cancels the run", async () => {
    const executor = new Executor({ clock: new ManualClock() });
    let cancel!: (reason?: unknown) => void;
    const outcome = await executor.run(
      () => {
        cancel('from inside');
        return 'value';
      },
      { onCancelable: (fn) => (cancel = fn) },
    );
    expect(outcome.status).toBe('cancelled');
    expect(outcome.attempts).toHaveLength(1);
    expect(outcome.attempts[0]!.status).toBe('cancelled');
    expect(outcome.error).toMatchObject({ code: 'JOB_CANCELLED' });
    expect(executor.running).toBe(0);
  });

  it("onCancelable's function called after a synchronous run settled does nothing", async () => {
    const completed: string[] = [];
    const executor = new Executor({
      clock: new ManualClock(),
      onComplete: ({ outcome }) => void completed.push(outcome.status),
    });
    let cancel!: (reason?: unknown) => void;
    const run = executor.run(() => 'v', { onCancelable: (fn) => (cancel = fn) });
    cancel('late');
    cancel('later');
    expect(await run).toMatchObject({ status: 'completed', result: 'v' });
    expect(completed).toEqual(['completed']);
    expect(executor.running).toBe(0);
  });

  it("onCancelable's function called inside onCancelable (before start) cancels with no attempts", async () => {
    let ran = false;
    const executor = new Executor({ clock: new ManualClock() });
    const outcome = await executor.run(
      () => {
        ran = true;
        return 1;
      },
      { onCancelable: (cancel) => cancel('at once') },
    );
    expect(ran).toBe(false);
    expect(outcome.status).toBe('cancelled');
    expect(outcome.attempts).toEqual([]);
  });

  it('a queued synchronous run cancelled by its signal from inside the running action never starts', async () => {
    const executor = new Executor({ clock: new ManualClock(), maxConcurrent: 1 });
    const controller = new AbortController();
    let ran = false;
    let second!: Promise<RunOutcome<unknown>>;
    const first = executor.run(() => {
      second = executor.run(() => (ran = true), { signal: controller.signal });
      controller.abort('no');
      return 'first';
    });
    expect((await first).status).toBe('completed');
    const outcome = await second;
    expect(ran).toBe(false);
    expect(outcome).toMatchObject({ status: 'cancelled', attempts: [] });
    expect(executor.queued).toBe(0);
    expect(executor.running).toBe(0);
  });

  it('a signal aborted from inside the synchronous action cancels that run; aborting after it settled does nothing', async () => {
    const completed: string[] = [];
    const executor = new Executor({
      clock: new ManualClock(),
      onComplete: ({ outcome }) => void completed.push(outcome.status),
    });
    const inside = new AbortController();
    const a = await executor.run(
      () => {
        inside.abort('stop');
        return 1;
      },
      { signal: inside.signal },
    );
    expect(a.status).toBe('cancelled');
    const after = new AbortController();
    const b = executor.run(() => 2, { signal: after.signal });
    after.abort('late');
    expect(await b).toMatchObject({ status: 'completed', result: 2 });
    expect(completed).toEqual(['cancelled', 'completed']);
  });
});

describe('retries after a synchronous failure', () => {
  it('waits the back-off before each retry and asks retryable exactly once per failure', async () => {
    const clock = new ManualClock();
    const executor = new Executor({ clock });
    const asked: unknown[] = [];
    const startedAt: number[] = [];
    const run = executor.run(
      () => {
        startedAt.push(clock.monotonic());
        throw new Error(`fail ${startedAt.length}`);
      },
      {
        retries: 2,
        backoff: { initialMs: 100, factor: 2, maxMs: 1000 },
        retryable: (error) => {
          asked.push((error as Error).message);
          return true;
        },
      },
    );
    expect(startedAt).toEqual([0]);
    expect(executor.running).toBe(1);
    await clock.advance(99);
    expect(startedAt).toEqual([0]);
    expect(asked).toEqual(['fail 1']);
    await clock.advance(1);
    expect(startedAt).toEqual([0, 100]);
    await clock.advance(200);
    expect(startedAt).toEqual([0, 100, 300]);
    const outcome = await run;
    expect(outcome.status).toBe('failed');
    expect(outcome.attempts.map((attempt) => attempt.status)).toEqual(['failed', 'failed', 'failed']);
    // The last failure has no retry left: retryable is not asked about it.
    expect(asked).toEqual(['fail 1', 'fail 2']);
    expect(executor.running).toBe(0);
  });

  it('a synchronous failure then success on retry completes with both attempts', async () => {
    const clock = new ManualClock();
    const executor = new Executor({ clock });
    let n = 0;
    const run = executor.run(
      () => {
        n++;
        if (n === 1) throw new Error('once');
        return 'ok';
      },
      { retries: 1, backoff: { initialMs: 10 } },
    );
    await clock.advance(10);
    expect(await run).toMatchObject({
      status: 'completed',
      result: 'ok',
      attempts: [{ status: 'failed' }, { status: 'completed' }],
    });
  });

  it('a retryable that throws fails the run after one attempt and is reported once', async () => {
    const reported: string[] = [];
    const executor = new Executor({
      clock: new ManualClock(),
      onCallbackError: (_error, name) => void reported.push(name),
    });
    let calls = 0;
    const outcome = await executor.run(
      () => {
        throw new Error('boom');
      },
      {
        retries: 3,
        retryable: () => {
          calls++;
          throw new Error('predicate broke');
        },
      },
    );
    expect(calls).toBe(1);
    expect(reported).toEqual(['retryable']);
    expect(outcome.status).toBe('failed');
    expect(outcome.attempts).toHaveLength(1);
    expect((outcome as { cause?: unknown }).cause).toMatchObject({ message: 'boom' });
  });
});

describe('FIFO with synchronous and asynchronous actions mixed', () => {
  it('starts queued runs in order and never more than maxConcurrent at once', async () => {
    const clock = new ManualClock();
    let executor!: Executor;
    const started: number[] = [];
    let peak = 0;
    executor = new Executor({ clock, maxConcurrent: 2 });
    const runs = Array.from({ length: 12 }, (_, i) =>
      executor.run(
        i % 3 === 0
          ? async () => {
              started.push(i);
              peak = Math.max(peak, executor.running);
              await clock.sleep(10);
              return i;
            }
          : () => {
              started.push(i);
              peak = Math.max(peak, executor.running);
              return i;
            },
      ),
    );
    for (let step = 0; step < 20 && executor.running > 0; step++) await clock.advance(10);
    const outcomes = await Promise.all(runs);
    expect(started).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(outcomes.map((outcome) => outcome.result)).toEqual(started);
    expect(peak).toBeLessThanOrEqual(2);
    expect(executor.running).toBe(0);
  });
});

describe('hostile thenables', () => {
  it('a value whose then getter throws fails the attempt with that error (not an internal failure), and may be retried', async () => {
    const clock = new ManualClock();
    const executor = new Executor({ clock });
    const getterError = new Error('then getter broke');
    let calls = 0;
    const run = executor.run(
      () => {
        calls++;
        return {
          // biome-ignore lint/suspicious/noThenProperty: a hostile thenable is what this checks
          get then(): unknown {
            throw getterError;
          },
        };
      },
      { retries: 1, backoff: { initialMs: 10 } },
    );
    await clock.advance(10);
    const outcome = await run;
    expect(outcome.status).toBe('failed');
    expect(outcome.error?.code).not.toBe('INTERNAL');
    expect(outcome.attempts.map((attempt) => attempt.status)).toEqual(['failed', 'failed']);
    expect((outcome as { cause?: unknown }).cause).toBe(getterError);
    expect(calls).toBe(2);
    expect(executor.running).toBe(0);
  });

  it('a then getter that answers a function once, then not, gives the object as the value', async () => {
    const executor = new Executor({ clock: new ManualClock() });
    let reads = 0;
    const value = {
      // biome-ignore lint/suspicious/noThenProperty: a hostile thenable is what this checks
      get then(): unknown {
        reads++;
        return reads === 1 ? (resolve: (v: unknown) => void) => resolve('resolved') : undefined;
      },
    };
    const outcome = await executor.run(() => value);
    expect(outcome.status).toBe('completed');
    // Read once by the executor's check, once by promise resolution (which then sees no function).
    expect(outcome.result).toBe(value);
  });

  it('a then getter that answers no function once, then a function, is a plain value', async () => {
    const executor = new Executor({ clock: new ManualClock() });
    let reads = 0;
    const value = {
      // biome-ignore lint/suspicious/noThenProperty: a hostile thenable is what this checks
      get then(): unknown {
        reads++;
        return reads === 1 ? undefined : () => {};
      },
    };
    const run = executor.run(() => value);
    expect(executor.running).toBe(0);
    const outcome = await run;
    expect(outcome.status).toBe('completed');
    expect(outcome.result).toBe(value);
  });
});
