import { type DstPolicy, parseCron } from '@s3-scheduler/cron';
import type { ObjectStore } from '@s3-scheduler/storage';
import { type JobPolicies, policiesOf } from '../jobs/job-options.js';
import { DEFAULT_LAYOUT } from '../layout.js';
import { fireTime, nextSlot } from '../schedule/slot-math.js';
import type { NormalizedJob } from '../types.js';

/**
 * One job as the leader publishes it: the effective definition (code plus stored overrides),
 * everything but the action, which is code. The read model computes next runs from it.
 */
export interface CatalogJob extends JobPolicies {
  name: string;
  description: string;
  schedule: string | null;
  timezone: string;
  dst: DstPolicy | null;
  enabled: boolean;
  paused: boolean;
  pausedNote: string | null;
  runOnStart: boolean;
  /** ms since epoch, or `null` */
  startAt: number | null;
  endAt: number | null;
}

/** `catalog.json`: every job of the leader that wrote it. */
export interface Catalog {
  v: 1;
  /** The leader that wrote it, and under which epoch. */
  workerId: string;
  epoch: number;
  /** The writer's clock, ms since epoch (informational). */
  publishedAt: number;
  jobs: CatalogJob[];
}

/** What the publisher needs of a registered job (a `JobState` fits). */
export interface PublishedJobState {
  def: NormalizedJob;
  paused: boolean;
  document: { pausedNote: string | null } | null;
}

export function toCatalogJob(state: PublishedJobState): CatalogJob {
  const def = state.def;
  return {
    name: def.name,
    description: def.description,
    schedule: def.schedule,
    timezone: def.timezone,
    dst: def.cron ? { gap: def.cron.dst.gap, overlap: def.cron.dst.overlap } : null,
    enabled: def.enabled,
    paused: state.paused,
    pausedNote: state.document?.pausedNote ?? null,
    ...policiesOf(def),
    runOnStart: def.runOnStart,
    startAt: def.startAt,
    endAt: def.endAt,
  };
}

/**
 * Writes `catalog.json` for the leader, only when its content changed: a leader with unchanged
 * jobs writes it once per term (the first heartbeat after promotion, when the stored catalog is
 * another leader's or differs), so idle cost stays flat.
 */
export class CatalogPublisher {
  /** The jobs part of the last catalog this instance wrote or found equal in the store. */
  #published: string | undefined;

  constructor(private readonly store: ObjectStore) {}

  /** Costs nothing when the jobs did not change since the last call; else at most one get and one put. */
  async publish(
    states: Iterable<PublishedJobState>,
    writer: { workerId: string; epoch: number; now: number },
  ): Promise<boolean> {
    const jobs = [...states]
      .map(toCatalogJob)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const content = JSON.stringify(jobs);
    if (content === this.#published) return false;
    if (this.#published === undefined) {
      // First time in this process: the stored catalog may already say the same (a restart).
      const stored = await readCatalog(this.store);
      if (stored && JSON.stringify(stored.jobs) === content) {
        this.#published = content;
        return false;
      }
    }
    const catalog: Catalog = {
      v: 1,
      workerId: writer.workerId,
      epoch: writer.epoch,
      publishedAt: writer.now,
      jobs,
    };
    await this.store.put(DEFAULT_LAYOUT.catalog, JSON.stringify(catalog), {
      contentType: 'application/json',
    });
    this.#published = content;
    return true;
  }
}

/** The stored catalog with the server's write time, or `null` when none (or unreadable). */
export async function readCatalog(store: ObjectStore): Promise<(Catalog & { lastModified: number }) | null> {
  const object = await store.get(DEFAULT_LAYOUT.catalog);
  if (!object) return null;
  try {
    const parsed = JSON.parse(new TextDecoder().decode(object.body)) as Catalog;
    if (parsed?.v !== 1 || !Array.isArray(parsed.jobs)) return null;
    return { ...parsed, lastModified: object.lastModified.getTime() };
  } catch {
    return null;
  }
}

/** The next `count` runs of a catalog job after `now`, as the leader computes them (jitter included). */
export function nextRunsOf(
  job: CatalogJob,
  now: number,
  count: number,
): Array<{ slot: string; fireAt: string }> {
  if (job.schedule === null || !job.enabled || job.paused) return [];
  let cron: NormalizedJob['cron'];
  try {
    cron = parseCron(job.schedule, {
      timezone: job.timezone,
      ...(job.dst ? { dst: job.dst } : {}),
    });
  } catch {
    return [];
  }
  const def = { name: job.name, cron, startAt: job.startAt, endAt: job.endAt, jitter: job.jitter };
  const runs: Array<{ slot: string; fireAt: string }> = [];
  for (let slot = nextSlot(def, now); slot !== null && runs.length < count; slot = nextSlot(def, slot)) {
    runs.push({ slot: new Date(slot).toISOString(), fireAt: new Date(fireTime(def, slot)).toISOString() });
  }
  return runs;
}
