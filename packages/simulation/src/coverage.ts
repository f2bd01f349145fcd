import { parseCron } from '@s3-scheduler/cron';
import type { JobSpec } from './jobs.js';

const MINUTE = 60_000;

/** A job's configuration between two changes (`to` undefined: still current). */
export interface JobPeriod {
  spec: JobSpec;
  from: number;
  to: number | undefined;
}

/**
 * A stretch of shared-clock time during which one instance led and could act: promoted (or
 * resumed from a pause, or back from a store outage, still holding the lease) until demoted,
 * crashed, paused or cut off by an outage.
 */
export interface CoverageInterval {
  workerId: string;
  start: number;
  end: number;
  /**
   * Whether the interval starts with slots being caught up: a promotion (catch-up sweep) or the
   * end of a pause (the deferred timer fires every overdue slot). Not after a store outage: the
   * timer fired during the outage, its claims failed, and nothing claims them again.
   */
  catchesUp: boolean;
}

export interface CoverageWindow {
  /** Slots in `[from, until)` are examined. */
  from: number;
  until: number;
  /** Largest clock skew of any instance: a leader fires a slot up to this much late. */
  maxSkewMs: number;
}

/** How long a leader must last for its catch-up (or on-time claim) to be owed. */
export const SETTLE_MS = MINUTE;
/** Room for the catch-up's own requests (retries, latency) inside the window. */
const CATCH_UP_SLACK_MS = 90_000;

/**
 * The slots of one job period that the plugin's rules promise to claim, given who led when:
 *
 * - **on time**: a leader led (healthy) from `maxSkew` before the slot until `maxSkew + 45 s`
 *   after it (a leader whose clock runs ahead fires early): its timer fires the slot. Every policy.
 * - **caught up** (`catchUp: 'all'`): a leader was promoted (or resumed from a pause) after the slot, no
 *   later than `catchUpWindow − 90 s` after it, led for a minute, and the job already had
 *   history then (a job without history is new and misses nothing).
 * - **latest** (`catchUp: 'latest'`): as above, but only the newest slot before that promotion
 *   (slots within a minute of the promotion are ambiguous under skew and not required).
 * - `catchUp: 'none'`: only on-time slots.
 *
 * Slots in the first two minutes of a period (the change may not have reached the timer yet)
 * and slots whose witness falls after the period ended are not required.
 */
export function requiredSlots(
  period: JobPeriod,
  intervals: readonly CoverageInterval[],
  firstClaimAt: number | undefined,
  window: CoverageWindow,
): number[] {
  const { spec } = period;
  if (!spec.enabled) return [];
  const cron = parseCron(spec.schedule, { timezone: spec.timezone });
  const periodEnd = period.to ?? Number.POSITIVE_INFINITY;
  const low = Math.max(window.from, period.from + 2 * MINUTE);
  const high = Math.min(window.until, periodEnd);
  const lead = window.maxSkewMs + 45_000;
  const required: number[] = [];
  for (let slot = cron.next(low - 1)?.getTime(); slot !== undefined && slot < high; ) {
    const next = cron.next(slot)?.getTime();
    if (isRequired(slot, next)) required.push(slot);
    slot = next;
  }
  return required;

  function isRequired(slot: number, next: number | undefined): boolean {
    const onTime = intervals.some(
      (interval) =>
        interval.start <= slot - window.maxSkewMs - 1000 &&
        interval.end >= slot + lead &&
        periodEnd >= slot + lead,
    );
    if (onTime) return true;
    if (spec.catchUp === 'none' || firstClaimAt === undefined) return false;
    return intervals.some((interval) => {
      if (!interval.catchesUp) return false;
      const promoted = interval.start;
      if (promoted <= slot - 1000 || promoted > slot + spec.catchUpWindow - CATCH_UP_SLACK_MS) return false;
      if (interval.end - promoted < SETTLE_MS || periodEnd < promoted + SETTLE_MS) return false;
      if (firstClaimAt >= promoted) return false;
      if (spec.catchUp === 'all') return true;
      // 'latest': only the newest slot before the promotion, when that is unambiguous.
      return slot <= promoted - MINUTE && (next === undefined || next > promoted + MINUTE);
    });
  }
}
