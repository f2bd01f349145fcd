import { type Clock, SchedulerError, systemClock } from '@s3-scheduler/core';
import { type ClusterReadModel, submitRequest } from '@s3-scheduler/plugin';
import { runView } from './run-view.js';
import { type ClusterView, type DashboardSource, jobFields, type RunStatus } from './source.js';

const MAX_HAND_OVERS = 20;
/** Runs searched for a run id when the caller gives no instant (one history page). */
const RUN_SEARCH_LIMIT = 1000;
/** Jobs shown with last status and running runs (the read model's `status({ jobLimit })`). */
const JOB_LIMIT = 1000;

/**
 * A `DashboardSource` that reads the bucket itself, through the CLI's read model
 * (`ClusterReadModel`): no instance of the app is needed to look, and the dashboard process never
 * joins the cluster. Pause and resume write the job documents as `pauseJob()`/`resumeJob()` do;
 * trigger and backfill leave an operator request (`requests/<id>.json`) that the leader serves at
 * its next heartbeat, since only the app has the jobs' code. Hand-overs are those seen by this
 * source: one per new epoch it reads after its first read (which only finds who leads).
 */
export function readModelSource(model: ClusterReadModel, options: { clock?: Clock } = {}): DashboardSource {
  const clock = options.clock ?? systemClock;
  const handOvers: ClusterView['handOvers'] = [];
  /** The last live leader read; `null` when the reads so far found none, `undefined` before the first. */
  let seen: { workerId: string; epoch: number } | null | undefined;

  const known = async (job: string) => {
    await model.job(job); // JOB_NOT_FOUND naming the known jobs
  };

  const request = async (kind: 'trigger' | 'backfill', job: string, range?: { from: string; to: string }) => {
    await known(job);
    const submitted = await submitRequest(
      model.store,
      { kind, job, requestedBy: 'dashboard', ...(range ?? {}) },
      clock.now(),
    );
    return {
      message: `Requested: the leader runs it at its next heartbeat (request ${submitted.id})`,
      requestId: submitted.id,
    };
  };

  return {
    async cluster() {
      const { leader, epoch, workers } = await model.leadership();
      const current = leader?.alive ? leader : null;
      // The first read finds a leader in place: where the picture starts, not a hand-over. An
      // epoch newer than the last leader read is one (its predecessor: that leader).
      if (current && seen !== undefined && current.epoch > (seen?.epoch ?? 0)) {
        if (!handOvers.some((handOver) => handOver.epoch === current.epoch)) {
          handOvers.unshift({
            at: new Date(clock.now()).toISOString(),
            workerId: current.workerId,
            epoch: current.epoch,
            previousWorkerId: seen?.workerId ?? null,
          });
          handOvers.length = Math.min(handOvers.length, MAX_HAND_OVERS);
        }
      }
      if (current) seen = { workerId: current.workerId, epoch: current.epoch };
      else seen ??= null;
      return {
        leader: current?.workerId ?? null,
        epoch,
        workers: workers.filter((worker) => worker.alive).map((worker) => worker.workerId),
        handOvers: handOvers.map((handOver) => ({ ...handOver })),
        self: null,
        now: new Date(clock.now()).toISOString(),
      };
    },

    async jobs() {
      const status = await model.status({ jobLimit: JOB_LIMIT });
      const statistics = new Map(
        await Promise.all(
          status.jobs.map(async (job) => [job.name, await model.history.statistics(job.name)] as const),
        ),
      );
      return status.jobs
        .map((job) => {
          const stats = statistics.get(job.name);
          const finished = stats ? stats.total - stats.skipped : 0;
          return {
            ...jobFields(job),
            // The read model lists no next run for a paused or disabled job.
            nextRuns: job.nextRuns.map((run) => run.slot),
            lastRun: job.lastRun
              ? {
                  runId: job.lastRun.runId,
                  status: job.lastRun.status as RunStatus,
                  at: job.lastRun.finishedAt ?? job.lastRun.slot,
                }
              : null,
            successRate: stats && finished > 0 ? Math.round((stats.completed / finished) * 1000) / 10 : null,
            totalRuns: stats?.total ?? 0,
            running: job.running.map((run) => ({ runId: run.runId, workerId: run.workerId ?? 'unknown' })),
          };
        })
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },

    async history(job, query) {
      await known(job);
      const page = await model.runs(job, {
        limit: query.limit,
        ...(query.status ? { status: query.status } : {}),
        ...(query.cursor ? { cursor: query.cursor } : {}),
      });
      return { runs: page.runs.map(runView), nextCursor: page.cursor ?? null };
    },

    async run(job, runId, at) {
      await known(job);
      const ms = at === undefined ? Number.NaN : Date.parse(at);
      const page = Number.isFinite(ms)
        ? await model.runs(job, { before: ms + 1, after: ms - 1, limit: 100 })
        : await model.runs(job, { limit: RUN_SEARCH_LIMIT });
      const entry = page.runs.find((candidate) => candidate.id === runId);
      return entry ? runView(entry) : null;
    },

    async pause(job, note) {
      await known(job);
      await model.pause(job, note);
    },

    async resume(job) {
      await known(job);
      await model.resume(job);
    },

    trigger: (job) => request('trigger', job),

    async backfill(job, range) {
      for (const [option, value] of Object.entries(range)) {
        if (!Number.isFinite(Date.parse(value))) {
          throw new SchedulerError(`backfill '${option}' is not an instant`, {
            code: 'INVALID_OPTION',
            operation: 'backfill',
            metadata: { option, value },
            suggestion: 'Pass ISO instants such as 2026-01-01T00:00:00Z.',
          });
        }
      }
      return request('backfill', job, range);
    },
  };
}
