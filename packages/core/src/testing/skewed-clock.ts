import type { Clock } from '../clock.js';

/**
 * A view of another clock whose wall time is off by `skewMs` (a host with a wrong clock).
 * Monotonic time and sleeps are shared with the underlying clock, as on a real host.
 */
export class SkewedClock implements Clock {
  constructor(
    private readonly base: Clock,
    public skewMs: number,
  ) {}

  now(): number {
    return this.base.now() + this.skewMs;
  }

  monotonic(): number {
    return this.base.monotonic();
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.base.sleep(ms, signal);
  }
}
