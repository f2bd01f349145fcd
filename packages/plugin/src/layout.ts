import { LEADER_KEY, WORKERS_PREFIX } from '@s3-scheduler/coordinator';
import { HistoryKeys } from '@s3-scheduler/history';
import { decodeKeySegment, encodeKeySegment } from '@s3-scheduler/storage';

/** Where the plugin keeps its objects in a bucket unless `keyPrefix` says otherwise. */
export const DEFAULT_KEY_PREFIX = 'plugin=scheduler/';
/** The default `historyResource`: its history lives under `history/`. */
export const DEFAULT_HISTORY_RESOURCE = 'plg:scheduler:job-history';

/**
 * Every key the scheduler writes, in one place. All are relative to `prefix` (the plugin's
 * `keyPrefix`, itself under a host database's prefix when installed into one):
 *
 * ```
 * jobs/<job>.json                  shared job document (overrides, pause, buffer, runsTaken)
 * active/<job>/<runId>[.<slotMs>]~<worker>  a run away from the leader (or a stopping leader's) is executing
 * cancels/<worker>/<runId>         the leader asks that instance to cancel that run
 * history/runs-by-shard/<hh>-<job>/…  run records and markers, <hh> a hash of the job (HistoryKeys)
 * history/idx-by-shard/<hh>-<job>/…   status index of the rare final statuses
 * history/layout.json              when the sharded keys began; runs before it: history/runs/, history/idx/
 * history/stats/…                  statistics documents
 * workers/<worker>.json            heartbeats (the coordinator's)
 * locks/leader.json                the leader lease (the coordinator's)
 * catalog.json                     the job catalog the leader publishes (read-model/catalog.ts)
 * requests/<id>.json               operator requests: trigger, backfill (requests/)
 * changes.json                     rewritten after a job document or request write (store/change-signal.ts)
 * ```
 */
export interface SchedulerLayout {
  /** The plugin's prefix in the bucket, ending in `/` (or empty). */
  readonly prefix: string;
  readonly jobs: string;
  readonly active: string;
  readonly cancels: string;
  /** Where history lives (`history/`, or the encoded `historyResource` plus `/`). */
  readonly history: string;
  /** History's own layout under `history` (runs, status index, statistics). */
  readonly historyKeys: HistoryKeys;
  readonly workers: string;
  readonly leaderLock: string;
  /** The job catalog the leader publishes for readers of the bucket. */
  readonly catalog: string;
  /** Operator requests (`trigger`, `backfill`) the leader serves. */
  readonly requests: string;
  /** Rewritten after job document and request writes, so the leader need not list to find them. */
  readonly changes: string;
  /** The key of job `name`'s shared document. */
  jobDocument(name: string): string;
  /** The key in the bucket of `key`, a key relative to `prefix`. */
  inBucket(key: string): string;
}

/**
 * The layout of a scheduler whose `keyPrefix` is `prefix` (default `plugin=scheduler/`) and
 * whose `historyResource` is `historyResource`. Tools that read a scheduler's bucket (the
 * demo, the simulation, the benchmarks) take their keys from here.
 */
export function schedulerLayout(
  prefix: string = DEFAULT_KEY_PREFIX,
  historyResource: string = DEFAULT_HISTORY_RESOURCE,
): SchedulerLayout {
  const history =
    historyResource === DEFAULT_HISTORY_RESOURCE ? 'history/' : `${encodeKeySegment(historyResource)}/`;
  return {
    prefix,
    jobs: 'jobs/',
    active: 'active/',
    cancels: 'cancels/',
    history,
    historyKeys: new HistoryKeys(history),
    workers: WORKERS_PREFIX,
    leaderLock: LEADER_KEY,
    catalog: 'catalog.json',
    requests: 'requests/',
    changes: 'changes.json',
    jobDocument: (name) => `jobs/${encodeKeySegment(name)}.json`,
    inBucket: (key) => `${prefix}${key}`,
  };
}

/** The layout of a scheduler with every default. */
export const DEFAULT_LAYOUT: SchedulerLayout = schedulerLayout();

/** The history prefix for a `historyResource` (see `schedulerLayout`). */
export function historyPrefix(historyResource: string = DEFAULT_HISTORY_RESOURCE): string {
  return schedulerLayout(DEFAULT_KEY_PREFIX, historyResource).history;
}

/** The worker id a heartbeat key (`workers/<id>.json`) stands for, or `undefined`. */
export function workerIdOf(key: string): string | undefined {
  if (!key.startsWith(DEFAULT_LAYOUT.workers) || !key.endsWith('.json')) return undefined;
  return decodeKeySegment(key.slice(DEFAULT_LAYOUT.workers.length, -'.json'.length));
}

/** The job name a job document key (`jobs/<name>.json`) stands for, or `undefined`. */
export function jobNameOf(key: string): string | undefined {
  if (!key.startsWith(DEFAULT_LAYOUT.jobs) || !key.endsWith('.json')) return undefined;
  return decodeKeySegment(key.slice(DEFAULT_LAYOUT.jobs.length, -'.json'.length));
}
