import type { HistoryStore, RunRecord } from '@s3-scheduler/history';
import type { JobState } from '../jobs/job-state.js';
import type { Runtime } from '../runtime.js';
import { followHolds, LEADER_HOLD_AFTER_MS } from './run-holds.js';
import type { ActiveRun, RunMarkers } from './run-markers.js';

/**
 * The leader's view of runs executing on other instances, which the overlap policies go by: kept
 * from `active/` markers and history records. A marker only says a run started; its history
 * record says whether it is still going, so a marker that outlived its run (its holder's delete
 * failed) neither keeps the job busy nor stays in the store.
 */

/** The `active/` marker of a run executing on `workerId`; the slot says where its record is. */
export function markerOf(record: Pick<RunRecord, 'job' | 'runId' | 'slot'>, workerId: string): ActiveRun {
  return {
    job: record.job,
    runId: record.runId,
    workerId,
    ...(record.slot === null ? {} : { slot: Date.parse(record.slot) }),
  };
}

/** The jobs of this instance, as the job registry gives them. */
export interface JobLookup {
  find(name: string): JobState | undefined;
  values(): Iterable<JobState>;
}

export interface FollowRemoteRunsInput {
  history: HistoryStore;
  markers: RunMarkers;
  jobs: JobLookup;
  /** Instances seen alive: runs of the others are not followed (their recovery is elsewhere). */
  alive: ReadonlySet<string>;
  workerId: string;
  /** Now (ms), and how long a run of the leader goes on before it takes its job's hold (`followHolds`). */
  now?: number;
  holdAfterMs?: number;
  onError: (error: unknown, jobName: string) => void;
}

/**
 * Refreshes every job's remote runs: a known one stays while its record is `running` and its
 * instance alive; a marker adds its run while the record says it is still running (read once, at
 * the key its slot gives). A marker whose record is final is deleted: a marker left behind by a
 * failed delete once kept a job busy for as long as its instance lived, and every slot caught up
 * behind it waited in the buffer for good (simulation seeds 208 and 214).
 */
export async function followRemoteRuns(input: FollowRemoteRunsInput): Promise<void> {
  const { history, markers, jobs, alive, workerId } = input;
  for (const state of jobs.values()) await recheckRemoteRuns(history, state, alive);
  const { runs, holds } = await markers.scanActive();
  for (const active of runs) {
    const state = jobs.find(active.job);
    if (!state || state.remoteRunning.has(active.runId)) continue;
    const mine = active.workerId === workerId;
    if (mine ? state.running.has(active.runId) : !alive.has(active.workerId)) continue;
    // readRun: the key of the run in the layout the bucket's layout record gives it.
    const handle = await history.readRun(
      active.job,
      active.slot === undefined ? { runId: active.runId } : { slot: active.slot },
    );
    // No record (an older version's marker of a scheduled run, keyed without its slot): unknown.
    if (!handle) continue;
    const { key, record } = handle;
    if (!mine && record.status === 'running' && record.runId === active.runId) {
      state.addRemoteRun({ runId: active.runId, key, workerId: active.workerId });
      continue;
    }
    if (record.status !== 'running' || record.runId !== active.runId) {
      await markers.clearActive(active).catch((error: unknown) => input.onError(error, active.job));
    }
  }
  await followHolds(
    { ...input, now: input.now ?? 0, holdAfterMs: input.holdAfterMs ?? Number.POSITIVE_INFINITY },
    holds,
  );
}

/**
 * Re-reads the job's known remote runs and drops those that ended (or whose instance is gone):
 * called when a slot is due while only they keep the job busy, so a run that ended a moment ago
 * does not make the slot skipped or buffered until the next heartbeat.
 */
export async function recheckRemoteRuns(
  history: HistoryStore,
  state: JobState,
  alive: ReadonlySet<string>,
): Promise<void> {
  for (const remote of [...state.remoteRunning.values()]) {
    const handle = await history.read(remote.key);
    if (handle?.record.status !== 'running' || !alive.has(remote.workerId))
      state.removeRemoteRun(remote.runId);
  }
}

/**
 * A leader about to hand over marks its running runs active, so its successor's overlap policy
 * sees them (a leader's own runs have no marker): written before the lease is released.
 * Each run id goes into `marked` before its marker is written (the run clears it when it ends).
 */
export async function markRunsForHandOver(
  markers: RunMarkers,
  jobs: JobLookup,
  workerId: string,
  marked: Set<string>,
  onError: (error: unknown, jobName: string) => void,
): Promise<void> {
  for (const state of jobs.values()) {
    for (const run of [...state.running.values()]) {
      const marker = markerOf({ job: state.def.name, runId: run.runId, slot: run.slot }, workerId);
      marked.add(run.runId);
      await markers.markActive(marker).catch((error: unknown) => onError(error, state.def.name));
    }
  }
}

/** `followRemoteRuns` for this plugin instance: its history, markers, jobs and live workers. */
export function followRemoteRunsOf(runtime: Runtime): Promise<void> {
  const { store, leader, workerId, jobs, clock } = runtime;
  return followRemoteRuns({
    history: store.history,
    markers: store.markers,
    jobs,
    alive: new Set(leader.getActiveWorkers(workerId)),
    workerId,
    now: clock.now(),
    holdAfterMs: Math.max(runtime.options.heartbeatInterval, LEADER_HOLD_AFTER_MS),
    onError: (error, jobName) => runtime.reportError('marker', error, jobName),
  });
}
