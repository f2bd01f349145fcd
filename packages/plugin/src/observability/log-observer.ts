import { isSchedulerError } from '@s3-scheduler/core';
import type { SchedulerEvents } from '../events.js';
import type { SafeLogger } from '../plugin-options.js';

/** Background errors of one kind are logged at most once per window; the window doubles from this. */
export const ERROR_LOG_FIRST_WINDOW_MS = 10_000;
/** The longest window between two lines about the same kind of background error. */
export const ERROR_LOG_MAX_WINDOW_MS = 10 * 60_000;
/** After this long without an error of a kind, its next one is logged at once again. */
export const ERROR_LOG_QUIET_RESET_MS = 5 * 60_000;

interface Throttle {
  windowMs: number;
  nextAt: number;
  lastAt: number;
  suppressed: number;
}

/**
 * What the plugin logs by default, decided from its own events (so it follows wherever the
 * events are emitted from):
 * - a run that failed or timed out: one `warn` per run, only when nobody listens to `job-failed`;
 * - a background error (store outage, refused history write): `warn` when nobody listens to
 *   `plg:scheduler:error`, throttled per operation and error code (first at once, then at most
 *   once per window doubling from 10 s to 10 min, with the count of lines held back), so an
 *   outage does not flood the log;
 * - every slot not run as scheduled (skipped, missed, buffered, claimed elsewhere, cancelled,
 *   abandoned), each retry and each new leader term: a `debug` line saying why (policy, holder,
 *   epoch).
 * Lines go through the `SafeLogger`, which redacts and cuts them.
 */
export class LogObserver {
  readonly #logger: SafeLogger;
  readonly #now: () => number;
  readonly #throttles = new Map<string, Throttle>();

  constructor(logger: SafeLogger, now: () => number) {
    this.#logger = logger;
    this.#now = now;
  }

  /**
   * Whether `observe` can log anything for events of `type`: every event but a run's start and
   * its completion, the two a burst emits a thousand of a second (keep in step with `#describe`).
   */
  static reads(type: keyof SchedulerEvents): boolean {
    return type !== 'plg:scheduler:job-started' && type !== 'plg:scheduler:job-completed';
  }

  observe<K extends keyof SchedulerEvents>(type: K, payload: SchedulerEvents[K], listened: boolean): void {
    const line = this.#describe(type, payload as never, listened);
    if (line) this.#logger[line.level](`[s3-scheduler] ${line.text}`);
  }

  #describe<K extends keyof SchedulerEvents>(
    type: K,
    payload: SchedulerEvents[K],
    listened: boolean,
  ): { level: keyof SafeLogger; text: string } | undefined {
    switch (type) {
      case 'plg:scheduler:job-failed': {
        const event = payload as SchedulerEvents['plg:scheduler:job-failed'];
        const what = `job '${event.jobName}' ${slotText(event.slot)} (run ${event.runId}, ${event.trigger}, epoch ${event.epoch})`;
        if (event.status === 'cancelled') {
          // The executor's error says "cancelled through its signal"; the why is the abort reason.
          const cause = event.error.cause;
          const why = cause instanceof Error ? cause.message : event.error.message;
          return { level: 'debug', text: `${what} cancelled: ${why}` };
        }
        if (listened) return undefined;
        const verb = event.status === 'timeout' ? 'timed out' : 'failed';
        return {
          level: 'warn',
          text: `${what} ${verb} after ${plural(event.attempts, 'attempt')}: ${event.error.message}`,
        };
      }
      case 'plg:scheduler:error': {
        if (listened) return undefined;
        const event = payload as SchedulerEvents['plg:scheduler:error'];
        const code = isSchedulerError(event.error) ? event.error.code : '';
        const held = this.#throttle(`${event.operation}|${code}`);
        if (held === undefined) return undefined;
        const job = event.jobName ? ` '${event.jobName}'` : '';
        const more = held > 0 ? ` (${plural(held, 'similar error')} not logged since the last line)` : '';
        return {
          level: 'warn',
          text: `${event.operation}${job}${code ? ` [${code}]` : ''}: ${event.error.message}${more}`,
        };
      }
      case 'plg:scheduler:job-retry': {
        const event = payload as SchedulerEvents['plg:scheduler:job-retry'];
        return {
          level: 'debug',
          text: `job '${event.jobName}' ${slotText(event.slot)}: attempt ${event.failedAttempt} failed (${event.error.message}); attempt ${event.attempt} in ${event.delay} ms`,
        };
      }
      case 'plg:scheduler:job-timeout': {
        const event = payload as SchedulerEvents['plg:scheduler:job-timeout'];
        return {
          level: 'debug',
          text: `job '${event.jobName}' ${slotText(event.slot)}: attempt ${event.attempt} timed out after ${event.timeout} ms (its signal is aborted)`,
        };
      }
      case 'plg:scheduler:job-skipped':
        return { level: 'debug', text: skippedText(payload as SchedulerEvents['plg:scheduler:job-skipped']) };
      case 'plg:scheduler:job-buffered': {
        const event = payload as SchedulerEvents['plg:scheduler:job-buffered'];
        const dropped = event.dropped.length > 0 ? `; pushed out ${event.dropped.join(', ')}` : '';
        return {
          level: 'debug',
          text: `job '${event.jobName}' slot ${event.slot} buffered behind the running run (overlap '${event.policy}', ${event.waiting} waiting, epoch ${event.epoch})${dropped}`,
        };
      }
      case 'plg:scheduler:job-lock_failed': {
        const event = payload as SchedulerEvents['plg:scheduler:job-lock_failed'];
        return {
          level: 'debug',
          text: `job '${event.jobName}' ${slotText(event.slot)} not run here: already claimed by ${event.holder ?? 'another instance'} (epoch ${event.epoch})`,
        };
      }
      case 'plg:scheduler:job-abandoned': {
        const event = payload as SchedulerEvents['plg:scheduler:job-abandoned'];
        const verb = event.action === 'rerun' ? 'claimed again for a re-run' : 'recorded abandoned';
        return {
          level: 'debug',
          text: `job '${event.jobName}' ${slotText(event.slot)}: run ${event.runId} of ${event.previousWorkerId ?? 'an unknown instance'}, which is no longer alive, ${verb} (by ${event.workerId}, epoch ${event.epoch})`,
        };
      }
      case 'plg:scheduler:job-paused': {
        const event = payload as SchedulerEvents['plg:scheduler:job-paused'];
        return { level: 'info', text: `job '${event.jobName}' paused: ${event.note || 'pauseJob()'}` };
      }
      case 'plg:scheduler:coordinator-elected': {
        const event = payload as SchedulerEvents['plg:scheduler:coordinator-elected'];
        const from = event.previousWorkerId ? ` (after ${event.previousWorkerId})` : '';
        return { level: 'debug', text: `leader is ${event.workerId}, epoch ${event.epoch}${from}` };
      }
      case 'plg:scheduler:coordinator-demoted': {
        const event = payload as SchedulerEvents['plg:scheduler:coordinator-demoted'];
        return {
          level: 'debug',
          text: `${event.workerId} stopped leading (epoch ${event.epoch}): ${event.reason}`,
        };
      }
      default:
        return undefined;
    }
  }

  /**
   * Whether a line about errors of kind `key` goes out now: `undefined` to hold it back, else
   * how many were held back since the last line.
   */
  #throttle(key: string): number | undefined {
    const now = this.#now();
    const state = this.#throttles.get(key);
    if (!state || now - state.lastAt >= ERROR_LOG_QUIET_RESET_MS) {
      this.#throttles.set(key, {
        windowMs: ERROR_LOG_FIRST_WINDOW_MS,
        nextAt: now + ERROR_LOG_FIRST_WINDOW_MS,
        lastAt: now,
        suppressed: 0,
      });
      return 0;
    }
    state.lastAt = now;
    if (now < state.nextAt) {
      state.suppressed++;
      return undefined;
    }
    const held = state.suppressed;
    state.windowMs = Math.min(state.windowMs * 2, ERROR_LOG_MAX_WINDOW_MS);
    state.nextAt = now + state.windowMs;
    state.suppressed = 0;
    return held;
  }
}

function skippedText(event: SchedulerEvents['plg:scheduler:job-skipped']): string {
  const job = `job '${event.jobName}'`;
  const term = `epoch ${event.epoch}`;
  switch (event.reason) {
    case 'overlap':
      return event.policy === 'skip'
        ? `${job} slot ${event.slot} skipped: a run is still going on ${event.holder ?? 'an instance'} (overlap 'skip', ${term})`
        : `${job} slot ${event.slot} skipped: pushed out of the full buffer (overlap '${event.policy}', ${term})`;
    case 'missed':
      return event.count === undefined
        ? `${job} slot ${event.slot} missed: its time passed beyond the job's catchUp/catchUpWindow while no leader fired it (${term})`
        : `${job} ${event.count} slots missed from ${event.firstSlot} to ${event.slot}: beyond the job's catchUp/catchUpWindow (${term})`;
    case 'paused':
      return `${job} slot ${event.slot} skipped: the job is paused (${term})`;
    case 'max-runs':
      return `${job} slot ${event.slot} skipped: the job's maxRuns is reached (${term})`;
  }
}

function slotText(slot: string | null): string {
  return slot === null ? 'manual run' : `slot ${slot}`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
