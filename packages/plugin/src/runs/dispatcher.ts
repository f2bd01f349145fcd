import { createRunId, isSchedulerError } from '@s3-scheduler/core';
import type { RunOutcome } from '@s3-scheduler/executor';
import type { RunHandle } from '@s3-scheduler/history';
import type { JobState } from '../jobs/job-state.js';
import type { Runtime } from '../runtime.js';
import type { DueEntry } from '../schedule/due-heap.js';
import { dueSlots, fireTime, nextSlot } from '../schedule/slot-math.js';
import { ON_TIME_TOLERANCE_MS, selectDueSlots } from '../schedule/slot-selection.js';
import type { SlotTimer } from '../schedule/slot-timer.js';
import type { RunTrigger } from '../types.js';
import { cancelRunning } from './cancel-requests.js';
import { countFailures, failuresCount } from './failure-streak.js';
import type { JobRunner } from './job-runner.js';
import { bufferLimit, decideOverlap } from './overlap-policy.js';
import { recheckRemoteRuns } from './remote-runs.js';
import { retryLater } from './retry-later.js';
import type { RunAdmission } from './run-admission.js';
import type { RunBuffer } from './run-buffer.js';
import type { RunRecorder } from './run-recorder.js';
import type { Skips } from './skips.js';
import { ClaimBatcher, type ClaimOutcome, type ClaimReceiver, type SlotClaim } from './slot-claim.js';

/** The collaborators of a dispatcher. */
export interface DispatcherParts {
  timer: SlotTimer;
  runner: JobRunner;
  recorder: RunRecorder;
  buffer: RunBuffer;
  skips: Skips;
  admission: RunAdmission;
  /** A claim was lost to `existing`: the leader recovers it if its instance is gone. */
  onLost: (state: JobState, existing: RunHandle) => Promise<void>;
}

/**
 * Takes a due slot to a finished run on the leader: the overlap policy decides, the slot is
 * claimed (`claimRun`), the runner runs it, the recorder records it, then the job's buffer is
 * drained. A claim lost to a vanished instance goes to recovery.
 */
export class Dispatcher {
  /**
   * A burst's claims go out as one batch; on S3 at most 32 create-only puts are in flight
   * (beyond that the store only got slower), the rest queue.
   */
  readonly #claims: ClaimBatcher;

  constructor(
    private readonly runtime: Runtime,
    private readonly parts: DispatcherParts,
  ) {
    this.#claims = new ClaimBatcher(runtime);
  }

  /** The timer says a job's slot is due: queue its next one, then run what the catch-up policy selects. */
  onDue(state: JobState, entry: DueEntry, now: number): void {
    const def = state.def;
    // The usual case, one slot due and on time: no arrays, sets or selections per due slot (a
    // burst hands a thousand of these to the claim batch in one turn).
    const following = nextSlot(def, entry.slot);
    if (
      (following === null || following > now) &&
      now - entry.slot <= Math.max(def.catchUpWindow, ON_TIME_TOLERANCE_MS)
    ) {
      this.parts.timer.queue(state, following);
      if (!this.runtime.leader.isLeader()) return;
      this.#dispatchOnTime(state, entry.slot);
      return;
    }
    const { due, next } = dueSlots(def, entry.slot, now);
    this.parts.timer.queue(state, next);
    if (!this.runtime.leader.isLeader()) return;
    const { run, missed } = selectDueSlots(due, state.def, now);
    this.parts.skips.reportMissed(state, missed, missed.length);
    const trigger = (slot: number): RunTrigger => (slot === due.at(-1) ? 'schedule' : 'catch-up');
    if (run.length === 1) {
      void this.runtime.track(this.dispatch(state, run[0]!, trigger(run[0]!)));
      return;
    }
    // Several slots of one job at once (its timer fired late): claimed one after the other, so the
    // job's claims land in slot order (see `dispatch`).
    void this.runtime.track(
      (async () => {
        for (const slot of run) await this.dispatch(state, slot, trigger(slot));
      })(),
    );
  }

  /**
   * A slot is due on the leader: the job's overlap policy decides what happens when a run of it
   * is still going on (here or on another instance), then the slot is claimed and run.
   */
  async dispatch(
    state: JobState,
    slot: number,
    trigger: RunTrigger,
    attempt = 1,
    runId = createRunId(this.runtime.clock.now()),
  ): Promise<void> {
    const { skips, admission } = this.parts;
    const name = state.def.name;
    // Leadership is checked again right before claiming: a leader that was paused past its lease
    // (its timers firing late) finds out here, and leaves the slot to the new leader. A job
    // removed meanwhile (`removeJob` racing with a due slot) runs no more.
    if (!this.runtime.leader.leading || state.removed) return;
    // The slot is dispatched already (the catch-up and the timer both reached it): that one decides.
    if (!state.beginDispatch(slot)) return;
    const epoch = this.runtime.leader.epoch;
    let owed = false;
    try {
      // A job's slots are claimed in slot order within a term: while an earlier slot's claim waits
      // to be tried again, this one waits too. The next leader catches up from the newest claimed
      // slot, so a later slot claimed first hid the earlier one from it for good when this leader
      // died before its retry (chaos run on RGW: a slot refused during a freeze, the next one
      // claimed after it, the leader killed; the slot was never run).
      if (state.owesBefore(slot, epoch)) {
        owed = true;
        // Looked at again in a second (the first back-off step), whatever this slot's attempt.
        this.#tryLater(state, slot, trigger, attempt, runId, epoch, true);
        return;
      }
      if (state.paused) {
        skips.emit(state, slot, 'paused');
        return;
      }
      // Only runs elsewhere keep it busy: read them again, one may have ended since the heartbeat.
      if (state.running.size === 0 && state.remoteRunning.size > 0)
        await recheckRemoteRuns(
          this.runtime.store.history,
          state,
          new Set(this.runtime.leader.getActiveWorkers(this.runtime.workerId)),
        );
      const decision = decideOverlap(
        state.def,
        state.busy || state.starting || admission.held(name),
        trigger,
      );
      switch (decision.action) {
        case 'skip':
          await skips.recordOverlap(state, slot, trigger);
          return;
        case 'buffer':
          await this.bufferSlot(state, slot, decision.limit);
          return;
        case 'cancel-then-buffer':
          await cancelRunning(this.runtime, state, false);
          await this.bufferSlot(state, slot, decision.limit);
          return;
        case 'terminate-then-run':
          await cancelRunning(this.runtime, state, true);
          break;
        case 'run':
          break;
      }
      // `skip`: admitted like a manual run, so a `runJob()` starting meanwhile cannot overlap it.
      const admitted = state.def.overlap === 'skip' ? admission.tryEnter(name) : undefined;
      if (state.def.overlap === 'skip' && !admitted) {
        await skips.recordOverlap(state, slot, trigger);
        return;
      }
      await this.claimAndRun(state, slot, trigger, runId, admitted);
    } catch (error) {
      this.runtime.reportError('dispatch', error, name);
      if (isSchedulerError(error) && error.retriable) {
        owed = true;
        this.#tryLater(state, slot, trigger, attempt, runId, epoch);
      }
    } finally {
      state.endDispatch(slot);
      if (!owed) state.settleSlot(slot);
    }
  }

  /**
   * `dispatch(state, slot, 'schedule')` for a slot due now, in the usual case (this instance
   * leads, the job is idle, not paused, without `maxRuns`, on a store that batches claims): the
   * claim joins the burst's batch with a receiver instead of a chain of promises, and a won claim
   * starts its run as soon as the batch answers. Any other case takes `dispatch` itself.
   */
  #dispatchOnTime(state: JobState, slot: number): void {
    const { runtime } = this;
    const { admission } = this.parts;
    const def = state.def;
    if (
      !this.#claims.batches ||
      !runtime.leader.leading ||
      state.removed ||
      state.paused ||
      def.maxRuns > 0 ||
      state.busy ||
      state.starting ||
      state.remoteRunning.size > 0 ||
      admission.held(def.name) ||
      state.owesBefore(slot, runtime.leader.epoch)
    ) {
      void runtime.track(this.dispatch(state, slot, 'schedule'));
      return;
    }
    if (!state.beginDispatch(slot)) return;
    // Not busy, so the overlap policy says `run`; a `skip` job is admitted as `dispatch` does.
    const admitted = def.overlap === 'skip' ? admission.tryEnter(def.name) : undefined;
    const runId = createRunId(runtime.clock.now());
    state.beginClaim();
    this.#claims.enqueue(new OnTimeClaim(this, state, slot, runId, admitted));
  }

  /** How an on-time claim (`#dispatchOnTime`) ended: a won run starts now, the rest as `dispatch`. */
  onTimeClaimSettled(claim: OnTimeClaim, result: PromiseSettledResult<ClaimOutcome>): void {
    const { state, admitted } = claim;
    state.endDispatch(claim.slot);
    if (result.status === 'fulfilled' && result.value.kind === 'won' && state.def.maxRuns === 0) {
      // Ended right before the start, in the same turn: the run is registered before anything else runs.
      state.endClaim();
      this.start(state, result.value.run, admitted);
      // Registered as running by now (`start` runs up to the action): the admission is released.
      admitted?.();
      return;
    }
    void this.runtime.track(this.#afterClaim(claim, result));
  }

  async #afterClaim(claim: OnTimeClaim, result: PromiseSettledResult<ClaimOutcome>): Promise<void> {
    const { state, slot, runId, admitted } = claim;
    try {
      try {
        if (result.status === 'rejected') throw result.reason;
        await this.#claimed(state, slot, result.value, admitted);
      } finally {
        admitted?.();
      }
    } catch (error) {
      this.runtime.reportError('dispatch', error, state.def.name);
      if (isSchedulerError(error) && error.retriable)
        this.#tryLater(state, slot, 'schedule', 1, runId, this.runtime.leader.epoch);
    } finally {
      this.#claimEnded(state);
    }
  }

  /**
   * A claim (`JobState.beginClaim`) ended, with its run started or not: a slot buffered behind it
   * (it counted as `starting`) drains now if nothing runs, instead of at the next heartbeat.
   */
  #claimEnded(state: JobState): void {
    state.endClaim();
    if (state.buffer.length === 0 || state.busy || state.starting) return;
    // A slot owed a retry goes first (`drainBuffer` would put the buffered one back).
    if (state.owesBefore(Number.POSITIVE_INFINITY, this.runtime.leader.epoch)) return;
    void this.runtime.track(
      this.drainBuffer(state).catch((error: unknown) =>
        this.runtime.reportError('buffer', error, state.def.name),
      ),
    );
  }

  /**
   * Dispatches the slot again after a back-off (`later`), owed meanwhile (`JobState.oweSlot`);
   * past the catch-up window it is reported missed instead. A slot `waiting` behind an earlier
   * one is looked at again after the first back-off step, its attempt count unchanged.
   */
  #tryLater(
    state: JobState,
    slot: number,
    trigger: RunTrigger,
    attempt: number,
    runId: string,
    epoch: number,
    waiting = false,
  ): void {
    state.oweSlot(slot, epoch);
    retryLater(this.runtime, waiting ? 1 : attempt, () => {
      if (this.runtime.clock.now() - slot > Math.max(state.def.catchUpWindow, ON_TIME_TOLERANCE_MS)) {
        state.settleSlot(slot);
        this.parts.skips.reportMissed(state, [slot], 1);
        return Promise.resolve();
      }
      return this.dispatch(state, slot, trigger, waiting ? attempt : attempt + 1, runId);
    });
  }

  /**
   * Claims slot `slot` of the job with a create-only write and starts it if the claim won. A
   * lost claim means another instance has it; if that instance is gone, the run is recovered.
   */
  async claimAndRun(
    state: JobState,
    slot: number,
    trigger: RunTrigger,
    runId = createRunId(this.runtime.clock.now()),
    admitted?: () => void,
  ): Promise<void> {
    state.beginClaim();
    try {
      await this.#claimAndStart(state, slot, trigger, runId, admitted);
    } finally {
      // Started runs are in `state.running` by now; anything else gave up its admission.
      admitted?.();
      this.#claimEnded(state);
    }
  }

  async #claimAndStart(
    state: JobState,
    slot: number,
    trigger: RunTrigger,
    runId: string,
    admitted: (() => void) | undefined,
  ): Promise<void> {
    const claim = await this.#claims.claim({ job: state.def.name, slot, runId, trigger });
    await this.#claimed(state, slot, claim, admitted);
  }

  /** What a claim leads to: a won (or our own) run starts, a lost one is reported and recovered. */
  async #claimed(
    state: JobState,
    slot: number,
    claim: ClaimOutcome,
    admitted: (() => void) | undefined,
  ): Promise<void> {
    const { runtime } = this;
    const name = state.def.name;
    if (claim.kind === 'ours') {
      // Our own earlier attempt won, but its answer was lost in an outage: this run is ours.
      this.start(state, claim.run, admitted);
      return;
    }
    if (claim.kind === 'lost') {
      const holder = claim.existing?.record.workerId ?? null;
      if (holder !== runtime.workerId) {
        runtime.events.emit('plg:scheduler:job-lock_failed', {
          jobName: name,
          slot: new Date(slot).toISOString(),
          holder,
          workerId: runtime.workerId,
          epoch: runtime.leader.epoch,
        });
      }
      if (claim.existing) await this.parts.onLost(state, claim.existing);
      return;
    }
    if (state.def.maxRuns > 0 && !(await this.#takeRun(state))) {
      await runtime.store.history.finish(claim.run, { status: 'skipped' });
      this.parts.skips.emit(state, slot, 'max-runs');
      return;
    }
    // Not awaited: the caller (timer, catch-up sweep, buffer drain) goes on while the job runs.
    this.start(state, claim.run, admitted);
  }

  /** Counts one scheduled run against `maxRuns` in the shared document; false once exhausted. */
  async #takeRun(state: JobState): Promise<boolean> {
    let taken = false;
    state.document = await this.runtime.store.documents.update(state.def.name, (doc) => {
      if (doc.runsTaken >= state.def.maxRuns) return false;
      doc.runsTaken++;
      taken = true;
      return true;
    });
    if (!taken || state.document.runsTaken >= state.def.maxRuns)
      this.parts.timer.schedule(state, this.runtime.clock.now());
    return taken;
  }

  /** Starts a claimed run without waiting for it (`stop()` does). */
  start(state: JobState, handle: RunHandle, admitted?: () => void): void {
    void this.runtime.track(this.execute(state, handle, admitted));
  }

  /** Runs a claimed record, records the outcome, then counts failures and drains the buffer. */
  async execute(state: JobState, handle: RunHandle, admitted?: () => void): Promise<RunOutcome<unknown>> {
    const finished = await this.parts.runner.run(state, handle, admitted);
    await this.parts.recorder.record(state, handle, finished);
    const name = state.def.name;
    // Each step only when it has something to do: no promise per run for the usual run (a
    // completed run of a job with no failure streak and nothing buffered).
    if (failuresCount(state, finished.outcome))
      await countFailures(this.runtime, state, finished.outcome)
        .then((paused) => {
          if (!paused) return;
          this.parts.timer.schedule(state, this.runtime.clock.now());
          this.runtime.events.emit('plg:scheduler:job-paused', {
            jobName: name,
            note: state.document?.pausedNote ?? '',
            workerId: this.runtime.workerId,
          });
        })
        .catch((error: unknown) => this.runtime.reportError('pause', error, name));
    if (state.buffer.length > 0)
      await this.drainBuffer(state).catch((error: unknown) =>
        this.runtime.reportError('buffer', error, name),
      );
    return finished.outcome;
  }

  /**
   * Keeps the slot in the job's shared buffer until the running run ends (the oldest beyond
   * `limit` are recorded skipped), then drains the buffer if the job is idle by now.
   */
  async bufferSlot(state: JobState, slot: number, limit = bufferLimit(state.def)): Promise<void> {
    const dropped = await this.parts.buffer.add(state, slot, limit);
    for (const old of dropped) await this.parts.skips.recordOverlap(state, old, 'schedule');
    await this.drainBuffer(state);
  }

  /** Starts the oldest buffered slot once no run of the job is going on anywhere (leader only). */
  async drainBuffer(state: JobState): Promise<void> {
    const { admission, buffer } = this.parts;
    const { leader, clock } = this.runtime;
    const idle = () => !state.busy && !state.claiming && !admission.held(state.def.name) && !state.removed;
    if (!leader.leading || !idle() || state.draining || state.buffer.length === 0) return;
    // One drain at a time per job: two would each take a slot, and one would find the job busy.
    if (!state.beginDrain()) return;
    const epoch = leader.epoch;
    try {
      const { slot, paused } = await buffer.take(state);
      // Paused since these slots were buffered: each is skipped as a slot due now would be
      // (`dispatch`), not run behind the pause's back nor kept to run long after it.
      for (const old of paused) this.parts.skips.emit(state, old, 'paused');
      if (slot === undefined) return;
      // Something started meanwhile, or an earlier slot waits for its claim to be tried again (a
      // job's slots are claimed in slot order within a term, see `dispatch`): the slot goes back
      // to the head of the queue.
      if (!idle() || !leader.isLeader() || state.owesBefore(slot, epoch)) {
        await buffer.putBack(state, slot);
        return;
      }
      // A slot that waited (caught up behind a running run, or in an overlap buffer) is late:
      // recorded `catch-up` like every slot claimed past its time, `schedule` when still on time.
      const late = clock.now() - fireTime(state.def, slot) > ON_TIME_TOLERANCE_MS;
      const trigger = late ? 'catch-up' : 'schedule';
      const runId = createRunId(clock.now());
      try {
        await this.claimAndRun(state, slot, trigger, runId);
      } catch (error) {
        // Its claim failed (a store outage): out of the buffer by now, the slot is owed and tried
        // again after a back-off with the same run id, as `dispatch` does; it was lost before.
        if (!isSchedulerError(error) || !error.retriable) throw error;
        this.runtime.reportError('buffer', error, state.def.name);
        this.#tryLater(state, slot, trigger, 1, runId, epoch);
      }
    } finally {
      state.endDrain();
    }
  }
}

/**
 * An on-time slot's claim in a batch (itself the `SlotClaim`: one object per due slot): hands its
 * outcome back to the dispatcher.
 */
class OnTimeClaim implements ClaimReceiver, SlotClaim {
  readonly job: string;
  readonly trigger = 'schedule' as const;
  readonly status: SlotClaim['status'] = undefined;

  constructor(
    private readonly dispatcher: Dispatcher,
    readonly state: JobState,
    readonly slot: number,
    readonly runId: string,
    readonly admitted: (() => void) | undefined,
  ) {
    this.job = state.def.name;
  }

  get claim(): SlotClaim {
    return this;
  }

  claimSettled(result: PromiseSettledResult<ClaimOutcome>): void {
    this.dispatcher.onTimeClaimSettled(this, result);
  }
}
