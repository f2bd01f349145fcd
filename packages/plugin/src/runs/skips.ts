import type { SchedulerEvents } from '../events.js';
import type { JobState } from '../jobs/job-state.js';
import type { Runtime } from '../runtime.js';
import type { RunTrigger } from '../types.js';
import { claimRun } from './slot-claim.js';

type SkipReason = SchedulerEvents['plg:scheduler:job-skipped']['reason'];

/** Slots that do not run: the `job-skipped` events, and the record of a slot skipped for overlap. */
export class Skips {
  constructor(private readonly runtime: Runtime) {}

  /** `holder`: for an overlap, the instance whose run was still going. */
  emit(state: JobState, slot: number, reason: SkipReason, holder?: string): void {
    this.runtime.events.emit('plg:scheduler:job-skipped', {
      jobName: state.def.name,
      slot: new Date(slot).toISOString(),
      reason,
      workerId: this.runtime.workerId,
      epoch: this.runtime.leader.epoch,
      policy: state.def.overlap,
      ...(holder === undefined ? {} : { holder }),
    });
  }

  /** Records slot `slot` `skipped` (overlap) by a claim: only the instance that wins it reports it. */
  async recordOverlap(state: JobState, slot: number, trigger: RunTrigger): Promise<void> {
    const skipped = await claimRun(this.runtime, { job: state.def.name, slot, trigger, status: 'skipped' });
    if (skipped.kind !== 'won') return;
    state.counters.skippedOverlap++;
    const holder =
      state.running.size > 0 ? this.runtime.workerId : [...state.remoteRunning.values()][0]?.workerId;
    this.emit(state, slot, 'overlap', holder);
  }

  /**
   * Reports slots not run because of `catchUp`/`catchUpWindow`: one `job-skipped { reason:
   * 'missed' }` per slot, or, for a gap of more than `MAX_MISSED_EVENTS` slots, one summary event
   * for the newest with `count` (all of them) and `firstSlot` (the oldest). Counted in
   * `missedBeyondCatchUp`.
   */
  reportMissed(
    state: JobState,
    missed: readonly number[],
    count: number,
    first: number | null = missed[0] ?? null,
  ): void {
    // A gap can be seen twice here (a late timer and the catch-up of a re-election): once is enough.
    if (count === 0) return;
    const fresh = state.takeUnreported(missed);
    if (fresh.length === 0) return;
    if (count <= missed.length) {
      state.counters.missed += fresh.length;
      for (const slot of fresh) this.emit(state, slot, 'missed');
      return;
    }
    state.counters.missed += count;
    this.runtime.events.emit('plg:scheduler:job-skipped', {
      jobName: state.def.name,
      slot: new Date(missed.at(-1)!).toISOString(),
      reason: 'missed',
      workerId: this.runtime.workerId,
      epoch: this.runtime.leader.epoch,
      policy: state.def.overlap,
      count,
      firstSlot: new Date(first ?? missed[0]!).toISOString(),
    });
  }
}
