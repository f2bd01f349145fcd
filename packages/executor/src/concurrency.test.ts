import { ManualClock } from '@s3-scheduler/core/testing';
import { describe, expect, it } from 'vitest';
import { Executor } from './executor.js';

function job(clock: ManualClock, log: string[], name: string, ms: number) {
  return async () => {
    log.push(`start ${name}@${clock.monotonic()}`);
    await clock.sleep(ms);
    log.push(`end ${name}@${clock.monotonic()}`);
    return name;
  };
}

describe('maxConcurrent and the FIFO queue', () => {
  it('runs a queue of 10,000 synchronous actions behind one slot in order, from a loop (no deep recursion)', async () => {
    // A synchronous action's run ends inside its start, which frees its slot and starts the next
    // queued run: started recursively, this queue would overflow the stack.
    const executor = new Executor({ clock: new ManualClock(), maxConcurrent: 1 });
    const order: number[] = [];
    let blocked = true;
    let release!: () => void;
    const first = executor.run(() => new Promise<void>((resolve) => (release = resolve)));
    const runs = Array.from({ length: 10_000 }, (_, i) =>
      executor.run(() => {
        if (blocked) throw new Error('started while the slot was taken');
        order.push(i);
        return i;
      }),
    );
    expect(executor.queued).toBe(10_000);
    blocked = false;
    release();
    await first;
    const outcomes = await Promise.all(runs);
    expect(outcomes.every((outcome, i) => outcome.status === 'completed' && outcome.result === i)).toBe(true);
    expect(order).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
    expect(executor.running).toBe(0);
  });

  it('settles a synchronous action started at once before run() returns', async () => {
    const completed: unknown[] = [];
    const executor = new Executor({
      clock: new ManualClock(),
      onComplete: ({ outcome }) => void completed.push(outcome.result),
    });
    const run = executor.run(() => 'done');
    expect(completed).toEqual(['done']);
    expect(executor.running).toBe(0);
    expect(await run).toMatchObject({
      status: 'completed',
      result: 'done',
      attempts: [{ status: 'completed' }],
    });
  });

  it('runs at most maxConcurrent at once and starts queued runs in order', async () => {
    const clock = new ManualClock();
    const executor = new Executor({ clock, maxConcurrent: 2 });
    const log: string[] = [];
    const runs = [
      executor.run(job(clock, log, 'a', 300)),
      executor.run(job(clock, log, 'b', 100)),
      executor.run(job(clock, log, 'c', 100)),
      executor.run(job(clock, log, 'd', 100)),
      executor.run(job(clock, log, 'e', 100)),
    ];
    expect(executor.running).toBe(2);
    expect(executor.queued).toBe(3);
    await clock.advance(100);
    expect(executor.running).toBe(2);
    expect(executor.queued).toBe(2);
    await clock.advance(500);
    const outcomes = await Promise.all(runs);
    expect(outcomes.map((outcome) => outcome.result)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(log.filter((line) => line.startsWith('start'))).toEqual([
      'start a@0',
      'start b@0',
      'start c@100',
      'start d@200',
      'start e@300',
    ]);
    expect(outcomes.map((outcome) => outcome.queuedMs)).toEqual([0, 0, 100, 200, 300]);
    expect(executor.running).toBe(0);
    expect(executor.queued).toBe(0);
  });

  it('frees the slot of a failed run too', async () => {
    const clock = new ManualClock();
    const executor = new Executor({ clock, maxConcurrent: 1 });
    const first = executor.run(() => Promise.reject(new Error('x')));
    const second = executor.run(() => 'ok');
    expect(executor.queued).toBe(1);
    await clock.settle();
    expect((await first).status).toBe('failed');
    expect(await second).toMatchObject({ status: 'completed', result: 'ok' });
  });

  it('drops a run cancelled while queued, with zero attempts, keeping the order of the rest', async () => {
    const clock = new ManualClock();
    const executor = new Executor({ clock, maxConcurrent: 1 });
    const log: string[] = [];
    const controller = new AbortController();
    const a = executor.run(job(clock, log, 'a', 100));
    const b = executor.run(job(clock, log, 'b', 100), { signal: controller.signal });
    const c = executor.run(job(clock, log, 'c', 100));
    await clock.advance(50);
    controller.abort();
    expect(executor.queued).toBe(1);
    expect(await b).toMatchObject({
      status: 'cancelled',
      attempts: [],
      queuedMs: 50,
      error: { code: 'JOB_CANCELLED' },
    });
    await clock.advance(200);
    expect((await a).status).toBe('completed');
    expect((await c).status).toBe('completed');
    expect(log).toEqual(['start a@0', 'end a@100', 'start c@100', 'end c@200']);
  });

  it('cancelQueued resolves every queued run as cancelled', async () => {
    const clock = new ManualClock();
    const executor = new Executor({ clock, maxConcurrent: 1 });
    let started = 0;
    const action = async () => {
      started++;
      await clock.sleep(100);
    };
    const runs = [executor.run(action), executor.run(action), executor.run(action)];
    expect(executor.cancelQueued('stopping')).toBe(2);
    expect(executor.queued).toBe(0);
    await clock.advance(100);
    const outcomes = await Promise.all(runs);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['completed', 'cancelled', 'cancelled']);
    expect(outcomes[1]?.attempts).toEqual([]);
    expect(started).toBe(1);
  });
});

describe('drain', () => {
  it('resolves at once when idle', async () => {
    const executor = new Executor({ clock: new ManualClock() });
    expect(await executor.drain()).toEqual({ drained: true, running: 0, queued: 0 });
  });

  it('waits for running and queued work', async () => {
    const clock = new ManualClock();
    const executor = new Executor({ clock, maxConcurrent: 1 });
    void executor.run(() => clock.sleep(100));
    void executor.run(() => clock.sleep(100));
    let result: unknown;
    void executor.drain().then((value) => {
      result = value;
    });
    await clock.advance(199);
    expect(result).toBeUndefined();
    await clock.advance(1);
    expect(result).toEqual({ drained: true, running: 0, queued: 0 });
  });

  it('gives up at the deadline and reports what is left', async () => {
    const clock = new ManualClock();
    const executor = new Executor({ clock, maxConcurrent: 1 });
    void executor.run(() => clock.sleep(10_000));
    void executor.run(() => clock.sleep(10_000));
    const drained = executor.drain({ deadline: 1000 });
    await clock.advance(1000);
    expect(await drained).toEqual({ drained: false, running: 1, queued: 1 });
    await clock.advance(20_000);
    expect(await executor.drain({ deadline: 0 })).toEqual({ drained: true, running: 0, queued: 0 });
    expect(clock.pendingTimers).toBe(0);
  });

  it('waits through the grace of an attempt that ignores its signal', async () => {
    const clock = new ManualClock();
    const executor = new Executor({ clock });
    void executor.run(() => new Promise(() => {}), { timeout: 1000, abandonGraceMs: 3000 });
    let result: unknown;
    void executor.drain().then((value) => {
      result = value;
    });
    await clock.advance(3999);
    expect(result).toBeUndefined();
    await clock.advance(1);
    expect(result).toEqual({ drained: true, running: 0, queued: 0 });
  });
});
