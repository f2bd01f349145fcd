import { LEADER_LOCK } from '@s3-scheduler/coordinator';
import { decodeKeySegment, encodeKeySegment } from '@s3-scheduler/storage';

/**
 * Keys the read model reads, relative to the plugin's store (its key prefix already applied).
 *
 * Strings marked REPEATED are also spelled in another module that does not export them yet; the
 * plugin's key-layout module (issue 21) should become their one home, and these lines should then
 * import from it.
 */
export const LAYOUT = {
  /** REPEATED from `@s3-scheduler/lock` (`lockKey`: `locks/<name>.json`); the name is the coordinator's. */
  leaderLease: `locks/${encodeKeySegment(LEADER_LOCK)}.json`,
  /** REPEATED from `@s3-scheduler/coordinator` (`WORKERS_PREFIX`, not exported). */
  workers: 'workers/',
  /** REPEATED from `job-document.ts` (`PREFIX`, module-private). */
  jobs: 'jobs/',
  /** New: the job catalog the leader publishes (see `catalog.ts`). */
  catalog: 'catalog.json',
  /** New: operator requests (`trigger`, `backfill`) for the leader (see `../requests/`). */
  requests: 'requests/',
} as const;

/** The default `historyResource` of the plugin. REPEATED from `plugin-options.ts`. */
export const DEFAULT_HISTORY_RESOURCE = 'plg:scheduler:job-history';

/**
 * The history prefix for a `historyResource`. REPEATED from `SchedulerPlugin.#ensureHistory`
 * (the default resource lives at `history/`, any other at its encoded name).
 */
export function historyPrefix(historyResource: string = DEFAULT_HISTORY_RESOURCE): string {
  return historyResource === DEFAULT_HISTORY_RESOURCE ? 'history/' : `${encodeKeySegment(historyResource)}/`;
}

/** The worker id a heartbeat key (`workers/<id>.json`) stands for, or `undefined`. */
export function workerIdOf(key: string): string | undefined {
  if (!key.startsWith(LAYOUT.workers) || !key.endsWith('.json')) return undefined;
  return decodeKeySegment(key.slice(LAYOUT.workers.length, -'.json'.length));
}

/** The job name a job document key (`jobs/<name>.json`) stands for, or `undefined`. */
export function jobNameOf(key: string): string | undefined {
  if (!key.startsWith(LAYOUT.jobs) || !key.endsWith('.json')) return undefined;
  return decodeKeySegment(key.slice(LAYOUT.jobs.length, -'.json'.length));
}
