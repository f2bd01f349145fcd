import type { HistoryStore } from '@s3-scheduler/history';
import type { JobState } from '../jobs/job-state.js';
import type { Runtime } from '../runtime.js';
import { slotsBetween } from '../schedule/slot-math.js';
import type { JobLookup } from './remote-runs.js';
import type { ListedHold, RunHold, RunMarkers } from './run-markers.js';

/**
 * The hold of a `skip` job: one object per job at a key every instance knows
 * (`active/<job>/~hold`), created with `If-None-Match: *` by `runJob` on any instance before it
 * claims its run, and deleted (`If-Match` the ETag it wrote) once the run's outcome is written.
 * Two `runJob` calls on different instances cannot both create it: the one that finds it there
 * reads it and refuses with the run it names. A hold that outlived its run (a failed delete, a
 * crashed instance) is taken over with a put `If-Match` its ETag once its run's record is final or
 * its instance is gone, and deleted by the leader's heartbeat.
 *
 * The leader's scheduled runs take no hold when they start (a completed scheduled run costs its
 * claim and its final write, nothing more): a run that has gone on for `L` = max(`heartbeatInterval`,
 * 30 s) takes it at the leader's next heartbeat (2 more requests, for runs that long only), and
 * deletes it when it ends; before that, `runJob` elsewhere reads the record of the job's latest
 * slot (`recentScheduledRun`). The leader's overlap policy sees the holds of other instances from
 * its next heartbeat. So a scheduled run of the leader may overlap a manual run on another
 * instance only when its slot falls due less than one `heartbeatInterval` after the manual one
 * started; every other pair of runs of a `skip` job is admitted one at a time.
 */

/**
 * A hold whose run has no record yet is trusted for this long after it was taken: its instance is
 * between the hold and the claim (a claim that failed gives its hold back at once).
 */
export const HOLD_WITHOUT_RECORD_MS = 60_000;

/**
 * A run of the leader takes its job's hold once it has gone on for `heartbeatInterval`, and at
 * least this long (ms): most runs are shorter, and cost no request for it.
 */
export const LEADER_HOLD_AFTER_MS = 30_000;

/** The run holding a job, as `runJob` reports it. */
export interface Holder {
  runId: string;
  workerId: string;
}

/** The record key reference of the run a hold names. */
function runRef(hold: RunHold): { slot: number } | { runId: string } {
  return hold.slot === undefined ? { runId: hold.runId } : { slot: hold.slot };
}

/**
 * Whether `hold` still names a live run: one of this instance's runs, or a run of an instance in
 * `alive` whose record says `running` (or that has no record yet, shortly after the hold).
 */
async function holdIsLive(
  history: HistoryStore,
  markers: RunMarkers,
  state: JobState,
  hold: RunHold,
  self: { workerId: string; alive: ReadonlySet<string>; now: number },
): Promise<boolean> {
  if (!hold.runId) return false;
  if (hold.workerId === self.workerId)
    return state.running.has(hold.runId) || markers.heldRuns.has(hold.runId);
  if (!self.alive.has(hold.workerId)) return false;
  const handle = await history.readRun(state.def.name, runRef(hold));
  if (!handle) return self.now - hold.startedAt < HOLD_WITHOUT_RECORD_MS;
  return handle.record.status === 'running' && handle.record.runId === hold.runId;
}

/**
 * Takes the hold of `state`'s job for this instance's run `runId`, or returns the live run that
 * holds it. One put when the hold is absent; a hold there already adds a read of it and of its
 * run's record, and a put `If-Match` when it is stale. The caller adds `runId` to
 * `markers.heldRuns` first (so the heartbeat does not take the hold for a stale one of ours).
 */
export async function takeHold(
  runtime: Runtime,
  state: JobState,
  runId: string,
): Promise<Holder | undefined> {
  const { store, workerId, clock, leader } = runtime;
  const markers = store.markers;
  const job = state.def.name;
  const hold: RunHold = { runId, workerId, startedAt: clock.now() };
  const take = async (ifMatch?: string): Promise<boolean> => {
    const etag = await markers.writeHold(job, hold, ifMatch);
    if (etag === null) return false;
    markers.myHolds.set(job, { runId, etag });
    return true;
  };
  if (await take()) return undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    const current = await markers.readHold(job);
    if (!current) {
      if (await take()) return undefined; // deleted meanwhile
      continue;
    }
    const self = { workerId, alive: new Set(leader.getActiveWorkers(workerId)), now: clock.now() };
    if (await holdIsLive(store.history, markers, state, current.hold, self))
      return { runId: current.hold.runId, workerId: current.hold.workerId };
    if (await take(current.etag)) return undefined;
  }
  // Taken by another instance each time we looked: it runs.
  const last = await markers.readHold(job);
  return { runId: last?.hold.runId ?? '', workerId: last?.hold.workerId ?? '' };
}

/**
 * The run of the job's latest scheduled slot when it may still run on another live instance
 * without the job's hold: its slot is less than `max(heartbeatInterval, 30 s) + heartbeatInterval`
 * old (older runs have the hold by then, see above), and its record says `running` under an
 * instance still alive. One read of that slot's record (its key is known: no listing), made only
 * when the job has a slot that recent, so `runJob` right after a slot costs 5 requests, otherwise 4.
 */
export async function recentScheduledRun(runtime: Runtime, state: JobState): Promise<Holder | undefined> {
  const { clock, leader, workerId, options } = runtime;
  if (!state.def.cron) return undefined;
  const now = clock.now();
  const window = Math.max(options.heartbeatInterval, LEADER_HOLD_AFTER_MS) + options.heartbeatInterval;
  const [slot] = slotsBetween(state.def, now - window, now, 1);
  if (slot === undefined) return undefined;
  const handle = await runtime.store.history.readRun(state.def.name, { slot });
  const record = handle?.record;
  if (!record?.workerId || record.status !== 'running' || record.workerId === workerId) return undefined;
  if (!new Set(leader.getActiveWorkers(workerId)).has(record.workerId)) return undefined;
  return { runId: record.runId, workerId: record.workerId };
}

/**
 * Deletes the hold this instance took for run `runId` of the job, at the ETag it wrote (a hold
 * another instance took over since stays); a failed delete is left to the leader's heartbeat.
 */
export async function releaseHold(runtime: Runtime, state: JobState, runId: string): Promise<void> {
  const markers = runtime.store.markers as RunMarkers | undefined;
  const job = state.def.name;
  if (markers) await dropHold(markers, job, runId, (error) => runtime.reportError('marker', error, job));
}

/** Whether run `runId` of the job took the job's hold on this instance (then `releaseHold` has work). */
export function holdsHold(runtime: Runtime, state: JobState, runId: string): boolean {
  const markers = runtime.store.markers as RunMarkers | undefined;
  return markers?.myHolds.get(state.def.name)?.runId === runId;
}

async function dropHold(
  markers: RunMarkers,
  job: string,
  runId: string,
  onError: (error: unknown) => void,
): Promise<void> {
  const mine = markers.myHolds.get(job);
  if (mine?.runId !== runId) return;
  markers.myHolds.delete(job);
  await markers.deleteHold(job, mine.etag).catch(onError);
}

export interface FollowHoldsInput {
  history: HistoryStore;
  markers: RunMarkers;
  jobs: JobLookup;
  alive: ReadonlySet<string>;
  workerId: string;
  now: number;
  /** A run of the leader takes the hold once it has run this long (ms): short runs never do. */
  holdAfterMs: number;
  onError: (error: unknown, jobName: string) => void;
}

/**
 * The leader's heartbeat, for the holds its listing of `active/` found: the live run of another
 * instance a hold names is followed like a marked one (the job's overlap policy sees it); a hold
 * whose run ended is deleted. Then each `skip` job with a run going on here that holds no hold
 * takes it, so `runJob` on other instances sees a scheduled run of the leader from its first
 * heartbeat on. Costs nothing when there are no holds and no runs of `skip` jobs.
 */
export async function followHolds(input: FollowHoldsInput, listed: readonly ListedHold[]): Promise<void> {
  const { history, markers, jobs, alive, workerId, now, holdAfterMs } = input;
  const present = new Map<string, { etag: string; hold: RunHold }>();
  for (const { job, etag } of listed) {
    const state = jobs.find(job);
    if (!state) continue;
    try {
      const seen = markers.seenHolds.get(job);
      const current = seen?.etag === etag ? seen : await markers.readHold(job);
      if (!current) continue;
      markers.seenHolds.set(job, current);
      const { hold } = current;
      if (state.remoteRunning.has(hold.runId) && alive.has(hold.workerId)) {
        present.set(job, current);
        continue;
      }
      if (hold.workerId !== workerId && hold.runId && alive.has(hold.workerId)) {
        const handle = await history.readRun(job, runRef(hold));
        if (handle?.record.status === 'running' && handle.record.runId === hold.runId) {
          state.addRemoteRun({ runId: hold.runId, key: handle.key, workerId: hold.workerId });
          present.set(job, current);
          continue;
        }
        if (!handle && now - hold.startedAt < HOLD_WITHOUT_RECORD_MS) {
          present.set(job, current);
          continue;
        }
      } else if (
        hold.workerId === workerId &&
        (state.running.has(hold.runId) || markers.heldRuns.has(hold.runId))
      ) {
        present.set(job, current);
        continue;
      } else if (hold.runId && alive.has(hold.workerId) === false && hold.workerId !== workerId) {
        // Its instance is gone: left to `runJob`'s take-over and to recovery of its run.
        const handle = await history.readRun(job, runRef(hold));
        if (handle?.record.status === 'running') {
          present.set(job, current);
          continue;
        }
      }
      // Its run ended (or there is none): the hold goes.
      await markers.deleteHold(job, current.etag);
      markers.seenHolds.delete(job);
      if (markers.myHolds.get(job)?.etag === current.etag) markers.myHolds.delete(job);
    } catch (error) {
      input.onError(error, job);
    }
  }
  for (const job of [...markers.seenHolds.keys()]) if (!present.has(job)) markers.seenHolds.delete(job);
  for (const state of jobs.values()) {
    if (state.def.overlap !== 'skip' || state.running.size === 0) continue;
    const job = state.def.name;
    if (present.has(job)) continue; // held by a run here, or (overlapping already) elsewhere
    const [run] = state.running.values();
    // Its start: a scheduled run's slot (a late one counts as older, which only takes it sooner).
    const startedAt = run?.slot ? Date.parse(run.slot) : (state.counters.lastRunAt ?? now);
    if (!run || now - startedAt < holdAfterMs) continue;
    const hold: RunHold = {
      runId: run.runId,
      workerId,
      startedAt: now,
      ...(run.slot ? { slot: Date.parse(run.slot) } : {}),
    };
    try {
      const etag = await markers.writeHold(job, hold);
      if (etag === null) continue;
      markers.seenHolds.set(job, { etag, hold });
      // Deleted when the run ends (`JobRunner`), like a hold `runJob` took; at once if it ended
      // while the hold was being written.
      markers.myHolds.set(job, { runId: run.runId, etag });
      if (!state.running.has(run.runId))
        await dropHold(markers, job, run.runId, (error) => input.onError(error, job));
    } catch (error) {
      input.onError(error, job);
    }
  }
}
