import { describe, expect, it } from 'vitest';
import { Limiter } from './limiter.js';

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
