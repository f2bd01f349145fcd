import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_MS, SystemClock } from './clock.js';
import { sleep } from './sleep.js';
import { ManualClock } from './testing/manual-clock.js';

describe('SystemClock.sleep', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits longer than 2^31-1 ms without firing early', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
    const clock = new SystemClock();
    const days40 = 40 * 24 * 3600 * 1000;
    let resolved = false;
    const done = clock.sleep(days40).then(() => {
      resolved = true;
    });
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 1000);
    expect(resolved).toBe(false);
    await vi.advanceTimersByTimeAsync(days40 - MAX_TIMER_MS - 1001);
    expect(resolved).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await done;
    expect(resolved).toBe(true);
  });

  it('rejects with the reason when aborted during the sleep', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const controller = new AbortController();
    const reason = new Error('stop');
    const pending = sleep(MAX_TIMER_MS * 3, { signal: controller.signal });
    await vi.advanceTimersByTimeAsync(1000);
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects at once with an AbortError when the signal was already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(new SystemClock().sleep(10, controller.signal)).rejects.toMatchObject({
      name: 'AbortError',
    });
  });

  it('treats negative and NaN delays as zero', async () => {
    const clock = new SystemClock();
    await expect(clock.sleep(-5)).resolves.toBeUndefined();
    await expect(clock.sleep(Number.NaN)).resolves.toBeUndefined();
  });

  it('really waits on real timers', async () => {
    const clock = new SystemClock();
    const before = clock.monotonic();
    await clock.sleep(5);
    expect(clock.monotonic() - before).toBeGreaterThanOrEqual(5);
  });
});

describe('ManualClock', () => {
  it('starts at the given instant and only moves when advanced', async () => {
    const clock = new ManualClock({ now: Date.UTC(2030, 5, 1) });
    expect(clock.now()).toBe(Date.UTC(2030, 5, 1));
    expect(clock.monotonic()).toBe(0);
    await clock.advance(1500);
    expect(clock.now()).toBe(Date.UTC(2030, 5, 1) + 1500);
    expect(clock.monotonic()).toBe(1500);
  });

  it('wakes due sleepers in time order, each at its own due time', async () => {
    const clock = new ManualClock();
    const start = clock.now();
    const woke: Array<[string, number]> = [];
    const track = (name: string, ms: number) =>
      clock.sleep(ms).then(() => {
        woke.push([name, clock.now() - start]);
      });
    void track('c', 300);
    void track('a', 100);
    void track('b', 200);
    void track('a2', 100);
    await clock.advance(250);
    expect(woke).toEqual([
      ['a', 100],
      ['a2', 100],
      ['b', 200],
    ]);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(50);
    expect(woke.at(-1)).toEqual(['c', 300]);
  });

  it('lets work started by a timer run, including sleeps that fall inside the same advance', async () => {
    const clock = new ManualClock();
    const log: number[] = [];
    const loop = async () => {
      for (let i = 0; i < 5; i++) {
        await clock.sleep(1000);
        await Promise.resolve();
        log.push(clock.monotonic());
      }
    };
    const finished = loop();
    await clock.advance(3500);
    expect(log).toEqual([1000, 2000, 3000]);
    await clock.advance(10_000);
    await finished;
    expect(log).toEqual([1000, 2000, 3000, 4000, 5000]);
  });

  it('removes an aborted sleeper and rejects it', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const pending = clock.sleep(1000, controller.signal);
    expect(clock.pendingTimers).toBe(1);
    controller.abort(new Error('cancelled'));
    await expect(pending).rejects.toThrow('cancelled');
    expect(clock.pendingTimers).toBe(0);
  });

  it('handles sleeps beyond 2^31-1 ms', async () => {
    const clock = new ManualClock();
    let done = false;
    void sleep(MAX_TIMER_MS * 2, { clock }).then(() => {
      done = true;
    });
    await clock.advance(MAX_TIMER_MS);
    expect(done).toBe(false);
    await clock.advance(MAX_TIMER_MS);
    expect(done).toBe(true);
  });

  it('jumps the wall clock without waking sleepers', async () => {
    const clock = new ManualClock({ now: 0 });
    let done = false;
    void clock.sleep(1000).then(() => {
      done = true;
    });
    clock.setWallTime(1_000_000);
    await clock.settle();
    expect(done).toBe(false);
    expect(clock.now()).toBe(1_000_000);
    expect(await clock.runNext()).toBe(true);
    expect(done).toBe(true);
    expect(clock.now()).toBe(1_001_000);
    expect(await clock.runNext()).toBe(false);
  });

  it('advanceTo moves to a wall-clock instant', async () => {
    const clock = new ManualClock({ now: new Date('2026-03-08T06:00:00Z') });
    await clock.advanceTo(new Date('2026-03-08T07:30:00Z'));
    expect(new Date(clock.now()).toISOString()).toBe('2026-03-08T07:30:00.000Z');
  });
});
