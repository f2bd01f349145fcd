import { abortReason } from './abort.js';

/**
 * Node fires a `setTimeout` longer than this at once (it overflows a signed 32-bit integer), so
 * every longer wait is split into chunks no larger than it.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The one seam between the scheduler and time. Production code uses `SystemClock`; tests use
 * `ManualClock` from `@s3-scheduler/core/testing` and move time by hand.
 */
export interface Clock {
  /** Wall-clock time in milliseconds since the Unix epoch. May jump (NTP, skew). */
  now(): number;
  /** Milliseconds from an arbitrary origin; never goes backwards. Use it to measure durations. */
  monotonic(): number;
  /**
   * Resolves once `ms` milliseconds of monotonic time have passed; rejects with the signal's
   * reason as soon as `signal` aborts. Any finite or infinite delay is correct.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Real time: `Date.now()`, `performance.now()` and chunked, abortable timers. */
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }

  monotonic(): number {
    return performance.now();
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      const deadline = performance.now() + normalizeDelay(ms);
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortReason(signal));
      };
      // Re-arm until the monotonic deadline has truly passed: chunks keep each timer under the
      // 32-bit limit, and the re-check stops a timer that fired a little early from resolving.
      const arm = () => {
        const remaining = deadline - performance.now();
        if (remaining <= 0) {
          signal?.removeEventListener('abort', onAbort);
          resolve();
          return;
        }
        timer = setTimeout(arm, Math.min(Math.ceil(remaining), MAX_TIMER_MS));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      arm();
    });
  }
}

/** The process-wide real clock. */
export const systemClock: Clock = new SystemClock();

/** Negative and NaN delays mean "now"; `Infinity` means "until aborted". */
export function normalizeDelay(ms: number): number {
  if (typeof ms !== 'number' || Number.isNaN(ms) || ms <= 0) return 0;
  return ms;
}
