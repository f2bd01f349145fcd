import { hashString } from '@s3-scheduler/core';
import type { NormalizedJob } from '../types.js';
import { ON_TIME_TOLERANCE_MS } from './slot-selection.js';

/** Bound on slots walked at once (catch-up after a long outage, a backfill). */
export const MAX_SLOTS = 1000;

/** The job's first slot strictly after `after`, inside `startAt`/`endAt`; `null` when none. */
export function nextSlot(
  job: Pick<NormalizedJob, 'cron' | 'startAt' | 'endAt'>,
  after: number,
): number | null {
  if (!job.cron) return null;
  const from = job.startAt !== null && after < job.startAt ? job.startAt - 1 : after;
  const next = job.cron.next(from)?.getTime() ?? null;
  if (next === null || (job.endAt !== null && next > job.endAt)) return null;
  return next;
}

/** The job's last slot at or before `at`, inside `startAt`/`endAt`; `null` when none. */
export function latestSlot(
  job: Pick<NormalizedJob, 'cron' | 'startAt' | 'endAt'>,
  at: number,
): number | null {
  if (!job.cron) return null;
  const to = job.endAt !== null && at > job.endAt ? job.endAt : at;
  const latest = job.cron.prev(to + 1)?.getTime() ?? null;
  if (latest === null || (job.startAt !== null && latest < job.startAt)) return null;
  return latest;
}

/** Slots in `(after, until]`, oldest first, keeping at most the newest `limit`. */
export function slotsBetween(
  job: Pick<NormalizedJob, 'cron' | 'startAt' | 'endAt'>,
  after: number,
  until: number,
  limit = MAX_SLOTS,
): number[] {
  const slots: number[] = [];
  for (let slot = nextSlot(job, after); slot !== null && slot <= until; slot = nextSlot(job, slot)) {
    slots.push(slot);
    if (slots.length > limit) slots.shift();
  }
  return slots;
}

/**
 * When a slot fires with `jitter`: the slot plus a delay in [0, jitter] derived from a hash of
 * job and slot, so every instance computes the same instant (it is part of no identity: the
 * slot stays the UTC instant), and never at or past the job's next slot.
 */
export function fireTime(
  job: Pick<NormalizedJob, 'name' | 'jitter' | 'cron' | 'startAt' | 'endAt'>,
  slot: number,
): number {
  if (job.jitter <= 0) return slot;
  const offset = hashString(`${job.name}\u0000${slot}`) % (job.jitter + 1);
  const following = nextSlot(job, slot);
  const room = following === null ? offset : Math.max(0, following - slot - 1);
  return slot + Math.min(offset, room);
}

/**
 * Whether a job was due lately: a slot of it fell inside the catch-up window, or a run of its
 * latest slot could still be going on (within its timeouts and retries, plus ten minutes). A new
 * leader catches these up first, and departures of instances are checked against these only.
 */
export function recentlyDue(job: NormalizedJob, now: number): boolean {
  const latest = latestSlot(job, now);
  if (latest === null) return false;
  const age = now - latest;
  if (age <= job.catchUpWindow || job.timeout === 0) return true;
  return age <= (job.retries + 1) * job.timeout + 600_000;
}

/** Slots a new leader catches up, per the job's policy: after `after`, inside the window. */
export function catchUpSlots(job: NormalizedJob, now: number, after: number): number[] {
  const { catchUp, catchUpWindow } = job;
  if (!job.cron || catchUp === 'none' || catchUpWindow === 0) return [];
  const from = Math.max(after, now - catchUpWindow - 1);
  if (catchUp === 'latest') {
    const latest = latestSlot(job, now);
    return latest !== null && latest > from ? [latest] : [];
  }
  return slotsBetween(job, from, now);
}

/** Beyond this many missed slots, a catch-up reports one summary event instead of one per slot. */
export const MAX_MISSED_EVENTS = MAX_SLOTS;
/** Slots counted at most when a gap is measured (a year of a per-minute job is ~525,600). */
const MAX_COUNTED_SLOTS = 1_000_000;

/**
 * What a leader does with the slots in `(after, now]` nobody ran (after a leader change, a cold
 * start, an outage, a restart): `run` are the slots the job's policy catches up (see
 * `catchUpSlots`, plus the slot of this very moment, which is on time), `missed` the others,
 * oldest first, the newest `MAX_MISSED_EVENTS` of them listed, `missedCount` how many there are
 * in all (counting stops after a million), `firstMissed` the oldest.
 */
export function catchUpPlan(
  job: NormalizedJob,
  now: number,
  after: number,
): { run: number[]; missed: number[]; missedCount: number; firstMissed: number | null } {
  const run = catchUpSlots(job, now, after);
  // The slot of this very moment is on time, not caught up: whatever the policy, it runs.
  const latest = latestSlot(job, now);
  if (run.length === 0 && latest !== null && latest > after && now - latest <= ON_TIME_TOLERANCE_MS) {
    run.push(latest);
  }
  if (!job.cron || !Number.isFinite(after)) return { run, missed: [], missedCount: 0, firstMissed: null };
  const chosen = new Set(run);
  const missed: number[] = [];
  let missedCount = 0;
  let walked = 0;
  let firstMissed: number | null = null;
  for (let slot = nextSlot(job, after); slot !== null && slot <= now; slot = nextSlot(job, slot)) {
    if (++walked > MAX_COUNTED_SLOTS) break;
    if (chosen.has(slot)) continue;
    missedCount++;
    firstMissed ??= slot;
    missed.push(slot);
    if (missed.length > MAX_MISSED_EVENTS) missed.shift();
  }
  return { run, missed, missedCount, firstMissed };
}

/**
 * The slots due when the timer wakes for `slot` at `now` (oldest first: more than one after a
 * pause or a clock jump, at most `MAX_SLOTS`), and the next slot to queue (after `now`).
 */
export function dueSlots(
  job: Pick<NormalizedJob, 'cron' | 'startAt' | 'endAt'>,
  slot: number,
  now: number,
): { due: number[]; next: number | null } {
  const due = [slot];
  let next = nextSlot(job, slot);
  while (next !== null && next <= now && due.length < MAX_SLOTS) {
    due.push(next);
    next = nextSlot(job, next);
  }
  if (next !== null && next <= now) next = nextSlot(job, now);
  return { due, next };
}
