import type { Runtime } from '../runtime.js';
import { fireTime, nextSlot } from '../schedule/slot-math.js';
import type { JobDescription } from '../types.js';
import { toHistoryEntry } from './history-entry.js';
import { policiesOf } from './job-options.js';
import type { JobState } from './job-state.js';
import { withAliases } from './job-statistics.js';

/**
 * `describe()`: everything about one job — definition, DST policy, the next `count` run times,
 * recent runs of every instance, runs going on now (where, under which epoch), counters, pause
 * and buffer. Instants are ms until formatted here, for output.
 */
export async function describeJob(
  runtime: Runtime,
  state: JobState,
  options: { count?: number; recent?: number },
): Promise<JobDescription> {
  const history = await runtime.store.ensureHistory();
  const def = state.def;
  const name = def.name;
  const [recent, statistics] = await Promise.all([
    history.query(name, { limit: options.recent ?? 10 }),
    history.statistics(name),
  ]);
  const nextRuns: JobDescription['nextRuns'] = [];
  for (
    let slot = nextSlot(def, runtime.clock.now());
    slot !== null && nextRuns.length < (options.count ?? 5);
  ) {
    nextRuns.push({
      slot: new Date(slot).toISOString(),
      fireAt: new Date(fireTime(def, slot)).toISOString(),
    });
    slot = nextSlot(def, slot);
  }
  return {
    name,
    description: def.description,
    schedule: def.schedule,
    timezone: def.timezone,
    dst: def.cron?.dst ?? null,
    enabled: def.enabled,
    paused: state.paused,
    pausedNote: state.document?.pausedNote ?? null,
    policies: {
      ...policiesOf(def),
      startAt: def.startAt === null ? null : new Date(def.startAt).toISOString(),
      endAt: def.endAt === null ? null : new Date(def.endAt).toISOString(),
    },
    nextRuns,
    recentRuns: recent.runs.map(toHistoryEntry),
    running: [
      ...[...state.running.values()].map((run) => ({
        runId: run.runId,
        slot: run.slot,
        workerId: runtime.workerId,
        epoch: run.epoch,
      })),
      ...[...state.remoteRunning.values()].map((run) => ({
        runId: run.runId,
        slot: null,
        workerId: run.workerId,
        epoch: null,
      })),
    ],
    buffered: state.buffer.map((slot) => new Date(slot).toISOString()),
    counters: {
      taken: statistics.total - statistics.skipped,
      skippedForOverlap: statistics.skipped,
      missedBeyondCatchUp: state.counters.missed,
      abandoned: statistics.abandoned,
      consecutiveFailures: state.document?.consecutiveFailures ?? 0,
      runsTaken: state.document?.runsTaken ?? 0,
    },
    statistics: withAliases(statistics),
  };
}
