import { Coordinator } from '@s3-scheduler/coordinator';
import type { ObjectStore } from '@s3-scheduler/storage';
import type { Runtime } from '../runtime.js';
import { isProcessLocal } from '../store/host-store.js';
import { JOBS_DIGEST_KEY } from './maintenance.js';

/**
 * Joins the cluster on `store`: a coordinator (heartbeats, the leader lease) whose events are
 * passed on as the plugin's; `onPromoted` runs when this instance becomes leader, `onElected`
 * when any term begins.
 */
export function joinCluster(
  runtime: Runtime,
  store: ObjectStore,
  coldStartGiven: boolean,
  handlers: {
    onElected: (workerId: string, previousWorkerId: string | null | undefined) => void;
    onPromoted: () => void;
  },
): Coordinator {
  const { options, events } = runtime;
  const coordinator = new Coordinator({
    store,
    workerId: runtime.workerId,
    clock: runtime.clock,
    heartbeatInterval: options.heartbeatInterval,
    ...(options.leaseDuration === undefined ? {} : { leaseMs: options.leaseDuration }),
    ...(options.leaseCheckInterval === undefined ? {} : { leaseCheckInterval: options.leaseCheckInterval }),
    ...(options.renewFraction === undefined ? {} : { renewFraction: options.renewFraction }),
    coldStartObservationWindow: options.coldStartObservationWindow,
    // The cold-start window waits for the heartbeats of instances in other processes; on a
    // process-local store there are none, so unless asked for, the embedded default leads at once.
    skipColdStart: options.skipColdStart || (!coldStartGiven && isProcessLocal(store)),
    // The digest of the job documents the leader knows: followers list `jobs/` only when theirs differs.
    leaseData: () =>
      runtime.store.historyIfOpen ? { [JOBS_DIGEST_KEY]: runtime.store.documents.digest() } : undefined,
  });
  coordinator.on('coordinator-elected', (payload) => {
    handlers.onElected(payload.workerId, payload.previousWorkerId);
    events.emit('plg:scheduler:coordinator-elected', payload);
  });
  coordinator.on('coordinator-demoted', (payload) =>
    events.emit('plg:scheduler:coordinator-demoted', payload),
  );
  coordinator.on('coordinator-promoted', (payload) => {
    events.emit('plg:scheduler:coordinator-promoted', payload);
    handlers.onPromoted();
  });
  coordinator.on('coordinator-error', (payload) => runtime.reportError('coordinator', payload.error));
  return coordinator;
}
