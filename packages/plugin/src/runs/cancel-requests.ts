import { SchedulerError } from '@s3-scheduler/core';
import { isPreconditionFailed } from '@s3-scheduler/storage';
import type { JobState } from '../jobs/job-state.js';
import type { Runtime } from '../runtime.js';

/**
 * Aborts the job's running runs (`cancel-other`, `terminate-other`): here through their
 * controllers, elsewhere through a cancel request the running instance reads within a
 * heartbeat. `terminate` also records a remote run `cancelled` at once (its holder's later
 * writes are then refused) instead of waiting.
 */
export async function cancelRunning(runtime: Runtime, state: JobState, terminate: boolean): Promise<void> {
  const { history, markers } = runtime.store;
  const reason = new SchedulerError(`Run cancelled by a newer slot of job '${state.def.name}'`, {
    code: 'JOB_CANCELLED',
    operation: terminate ? 'terminate-other' : 'cancel-other',
    metadata: { jobName: state.def.name },
  });
  for (const run of state.running.values()) run.abort(reason);
  for (const remote of state.remoteRunning.values()) {
    await markers.requestCancel(remote.workerId, remote.runId);
    if (!terminate) continue;
    const handle = await history.read(remote.key);
    if (handle?.record.status === 'running') {
      await history.finish(handle, { status: 'cancelled', error: reason }).catch((error: unknown) => {
        if (!isPreconditionFailed(error)) throw error;
      });
    }
    state.removeRemoteRun(remote.runId);
  }
}

/** Acts on the cancel requests addressed to this instance: aborts the runs they name. */
export async function takeCancelRequests(runtime: Runtime): Promise<void> {
  const jobs = runtime.jobs;
  if (![...jobs.values()].some((state) => state.running.size > 0)) return;
  for (const runId of await runtime.store.markers.takeCancelRequests(runtime.workerId)) {
    for (const state of jobs.values()) {
      state.running.get(runId)?.abort(
        new SchedulerError(`Run ${runId} cancelled by the leader`, {
          code: 'JOB_CANCELLED',
          operation: 'cancel',
        }),
      );
    }
  }
}
