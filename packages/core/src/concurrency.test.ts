import { describe, expect, it } from 'vitest';
import { KeyedQueue, Limiter, runWithConcurrency } from './concurrency.js';

describe('Limiter', () => {
  it('runs at most `limit` tasks at once, in FIFO order, and passes results and errors through', async () => {
    const limiter = new Limiter(2);
    let active = 0;
    let peak = 0;
    const started: number[] = [];
    const releases: Array<() => void> = [];
    const task = (id: number) =>
      limiter.run(async () => {
        started.push(id);
        active++;
        peak = Math.max(peak, active);
        await new Promise<void>((resolve) => releases.push(resolve));
        active--;
        if (id === 3) throw new Error('three');
        return id;
      });
    const results = [1, 2, 3, 4].map((id) => task(id).catch((error: Error) => error.message));
    await Promise.resolve();
    expect(started).toEqual([1, 2]);
    for (let i = 0; i < 4; i++) {
      releases.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await Promise.all(results)).toEqual([1, 2, 'three', 4]);
    expect(started).toEqual([1, 2, 3, 4]);
    expect(peak).toBe(2);
  });
});

describe('runWithConcurrency', () => {
  it('runs every piece of work, never more than `limit` at once', async () => {
    let active = 0;
    let peak = 0;
    const done: number[] = [];
    const work = [1, 2, 3, 4, 5].map((id) => async () => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((resolve) => setImmediate(resolve));
      active--;
      done.push(id);
    });
    await runWithConcurrency(work, 2);
    expect(done.sort()).toEqual([1, 2, 3, 4, 5]);
    expect(peak).toBe(2);
  });
});

describe('KeyedQueue', () => {
  it('runs the tasks of one key in call order, one at a time, and goes on after a failure', async () => {
    const queue = new KeyedQueue();
    const log: string[] = [];
    const task =
      (name: string, fail = false) =>
      async () => {
        log.push(`start ${name}`);
        await new Promise((resolve) => setImmediate(resolve));
        log.push(`end ${name}`);
        if (fail) throw new Error(name);
        return name;
      };
    const results = await Promise.allSettled([
      queue.run('a', task('a1', true)),
      queue.run('a', task('a2')),
      queue.run('b', task('b1')),
    ]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect(log.indexOf('end a1')).toBeLessThan(log.indexOf('start a2'));
    // Another key does not wait.
    expect(log.indexOf('start b1')).toBeLessThan(log.indexOf('end a1'));
  });
});
