import { type Clock, runIdTime, SchedulerError, systemClock } from '@s3-scheduler/core';
import type { HistoryEntry, SchedulerPlugin } from '@s3-scheduler/plugin';
import { runView } from './run-view.js';
import {
  type ClusterView,
  type DashboardSource,
  type HistoryPage,
  type JobView,
  jobFields,
} from './source.js';

/** Hand-overs kept in memory, newest first. */
const MAX_HAND_OVERS = 20;
/** Runs searched for a run id when the caller gives no instant (one history page). */
const RUN_SEARCH_LIMIT = 1000;

/**
 * A `DashboardSource` over a running `SchedulerPlugin` of the cluster: it shares the plugin's
 * store connection and reads only through its public API (`describe`, `getJobHistory`, …).
 * Actions run on that instance: `trigger` is `runJob` (resolves when the run ends), `backfill`
 * is `backfill`. Hand-overs are those the plugin saw since this source was created.
 *
 * `clock` only stamps `now` in the cluster view; pass the plugin's clock in tests.
 */
export function pluginSource(plugin: SchedulerPlugin, options: { clock?: Clock } = {}): DashboardSource {
  const clock = options.clock ?? systemClock;
  const handOvers: ClusterView['handOvers'] = [];
  plugin.on('plg:scheduler:coordinator-elected', (event) => {
    if (handOvers.some((seen) => seen.epoch === event.epoch)) return;
    handOvers.unshift({
      at: new Date(event.timestamp).toISOString(),
      workerId: event.workerId,
      epoch: event.epoch,
      // An instance promoted itself reports no predecessor; the last leader seen here was it.
      previousWorkerId: event.previousWorkerId ?? handOvers[0]?.workerId ?? null,
    });
    handOvers.length = Math.min(handOvers.length, MAX_HAND_OVERS);
  });

  const known = (job: string, operation: string) => {
    if (plugin.getJobStatus(job) === null) {
      throw new SchedulerError(`No job named '${job}'`, {
        code: 'JOB_NOT_FOUND',
        operation,
        metadata: { jobName: job },
        suggestion: 'Pick a job from the jobs table.',
      });
    }
  };

  return {
    async cluster() {
      return {
        leader: plugin.getLeader(),
        epoch: plugin.getEpoch(),
        workers: [...plugin.getActiveWorkers()].sort(),
        handOvers: handOvers.map((handOver) => ({ ...handOver })),
        self: plugin.workerId,
        now: new Date(clock.now()).toISOString(),
      };
    },

    async jobs() {
      const names = plugin
        .listJobs()
        .map((job) => job.name)
        .sort();
      return Promise.all(names.map((name) => jobView(plugin, name)));
    },

    async history(job, query) {
      known(job, 'history');
      // The cursor is the instant of the previous page's last run (see instantOf).
      if (query.cursor !== undefined && !Number.isFinite(Date.parse(query.cursor))) {
        throw new SchedulerError('The history cursor is not one this dashboard gave', {
          code: 'INVALID_OPTION',
          operation: 'history',
          metadata: { cursor: query.cursor },
          suggestion: 'Pass the nextCursor of the previous page.',
        });
      }
      const entries = await plugin.getJobHistory(job, {
        limit: query.limit + 1,
        ...(query.status ? { status: query.status } : {}),
        ...(query.cursor ? { before: query.cursor } : {}),
      });
      const runs = entries.slice(0, query.limit).map(runView);
      const last = entries.length > query.limit ? entries[query.limit - 1] : undefined;
      return { runs, nextCursor: last ? instantOf(last) : null } satisfies HistoryPage;
    },

    async run(job, runId, at) {
      known(job, 'run');
      const ms = at === undefined ? Number.NaN : Date.parse(at);
      const entries = Number.isFinite(ms)
        ? await plugin.getJobHistory(job, { before: ms + 1, after: ms - 1, limit: 100 })
        : await plugin.getJobHistory(job, { limit: RUN_SEARCH_LIMIT });
      const entry = entries.find((candidate) => candidate.id === runId);
      return entry ? runView(entry) : null;
    },

    async pause(job, note) {
      await plugin.pauseJob(job, note);
    },

    async resume(job) {
      await plugin.resumeJob(job);
    },

    async trigger(job) {
      const result = await plugin.runJob(job);
      const error = result.error ? `: ${result.error.message}` : '';
      return { message: `${result.status} in ${result.durationMs} ms${error}`, runId: result.runId };
    },

    async backfill(job, range) {
      const result = await plugin.backfill(job, range);
      return { message: `${result.slots} slots, ${result.ran} ran, ${result.alreadyRan} had run already` };
    },
  };
}

async function jobView(plugin: SchedulerPlugin, name: string): Promise<JobView> {
  const description = await plugin.describe(name, { count: 3, recent: 1 });
  const last = description.recentRuns[0];
  const statistics = description.statistics;
  const finished = statistics.total - statistics.skipped;
  return {
    ...jobFields(description),
    // describe() lists the schedule's next slots even while paused; none of them would run.
    nextRuns: description.paused || !description.enabled ? [] : description.nextRuns.map((run) => run.slot),
    lastRun: last ? { runId: last.id, status: last.status, at: last.endTime ?? last.startTime } : null,
    successRate: finished > 0 ? Math.round((statistics.completed / finished) * 1000) / 10 : null,
    totalRuns: statistics.total,
    running: description.running.map((run) => ({ runId: run.runId, workerId: run.workerId })),
  };
}

/** The instant history pages by: the slot, or for manual runs the time in the run id. */
function instantOf(entry: HistoryEntry): string {
  if (entry.slot !== null) return entry.slot;
  const time = runIdTime(entry.id);
  return Number.isFinite(time) ? new Date(time).toISOString() : entry.startTime;
}
