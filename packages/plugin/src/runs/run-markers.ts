import {
  decodeKeySegment,
  encodeKeySegment,
  isPreconditionFailed,
  listAll,
  type ObjectStore,
} from '@s3-scheduler/storage';
import { DEFAULT_LAYOUT } from '../layout.js';

/**
 * A run executing on an instance that is not the leader: started away from it (`runJob`,
 * backfill, a slot claimed just before a demotion), or still running on a leader that is
 * stopping gracefully (marked before it hands over).
 */
export interface ActiveRun {
  job: string;
  runId: string;
  workerId: string;
  /**
   * The slot (epoch ms) of a scheduled run, whose history key is derived from the slot; absent for
   * a manual run (keyed by its run id) and in markers written by older versions.
   */
  slot?: number;
}

/**
 * The run holding a `skip` job's hold (see `RunMarkers.writeHold`). `startedAt` (ms) is when it
 * was taken: a hold whose run has no record yet is only trusted for a while after it.
 */
export interface RunHold {
  runId: string;
  workerId: string;
  startedAt: number;
  /** The slot (epoch ms) of a scheduled run, whose record is keyed by it; absent for a manual run. */
  slot?: number;
}

/** A hold seen in a listing of `active/`: its job and its ETag (what its body was read for). */
export interface ListedHold {
  job: string;
  etag: string;
}

const ACTIVE = DEFAULT_LAYOUT.active;
/** The last part of a hold's key: no `~<worker>` before it, so listings of older versions skip it. */
const HOLD = '~hold';
const CANCELS = DEFAULT_LAYOUT.cancels;

/**
 * Small marker objects that let instances see each other's runs without reading history:
 * `active/<job>/<runId>[.<slotMs>]~<worker>` while a run executes away from the leader, so the
 * leader's overlap policy sees it (the slot, when there is one, tells where its record is); `cancels/<worker>/<runId>` to ask the instance running a run
 * to abort it (`cancel-other`, `terminate-other`). Everything is in the key: listing is enough.
 */
export class RunMarkers {
  /** Per job: the hold `runJob` took here, with the ETag it is deleted at once its run ended. */
  readonly myHolds = new Map<string, { runId: string; etag: string }>();
  /** Per job, on the leader: the hold as last read, by ETag (read again only when it changed). */
  readonly seenHolds = new Map<string, { etag: string; hold: RunHold }>();
  /** Runs whose job's hold marks them (see `run-holds.ts`): no `active/` marker is written for them. */
  readonly heldRuns = new Set<string>();

  constructor(private readonly store: ObjectStore) {}

  async markActive(run: ActiveRun): Promise<void> {
    if (this.heldRuns.has(run.runId)) return;
    await this.store.put(this.#activeKey(run), '{}', { contentType: 'application/json' });
  }

  async clearActive(run: ActiveRun): Promise<void> {
    if (this.heldRuns.has(run.runId)) return;
    await this.store.delete(this.#activeKey(run));
  }

  async listActive(): Promise<ActiveRun[]> {
    return (await this.scanActive()).runs;
  }

  /** One listing of `active/`: the run markers, and the holds of `skip` jobs (see `writeHold`). */
  async scanActive(): Promise<{ runs: ActiveRun[]; holds: ListedHold[] }> {
    const runs: ActiveRun[] = [];
    const holds: ListedHold[] = [];
    for await (const object of listAll(this.store, ACTIVE)) {
      if (object.key.endsWith(`/${HOLD}`)) {
        const segment = object.key.slice(ACTIVE.length, -HOLD.length - 1);
        const job = segment.includes('/') ? undefined : decodeKeySegment(segment);
        if (job !== undefined) holds.push({ job, etag: object.etag });
        continue;
      }
      const [jobSegment, rest] = object.key.slice(ACTIVE.length).split('/');
      const [runPart = '', workerSegment] = (rest ?? '').split('~');
      const [runId, slotText] = runPart.split('.');
      const slot = slotText === undefined ? undefined : Number(slotText);
      const job = jobSegment === undefined ? undefined : decodeKeySegment(jobSegment);
      const workerId = workerSegment === undefined ? undefined : decodeKeySegment(workerSegment);
      if (job === undefined || !runId || workerId === undefined) continue;
      if (slot !== undefined && !Number.isSafeInteger(slot)) continue; // not a marker of ours
      runs.push({ job, runId, workerId, ...(slot === undefined ? {} : { slot }) });
    }
    return { runs, holds };
  }

  /**
   * Writes the hold of `skip` job `job` (`active/<job>/~hold`, one object per job, never deleted):
   * created only if absent, or, with `ifMatch`, overwritten only if still at that ETag. Whoever
   * writes it may run the job; the runs of other instances check it first. Returns the new ETag,
   * or `null` when the condition failed (another instance wrote it first).
   */
  async writeHold(job: string, hold: RunHold, ifMatch?: string): Promise<string | null> {
    try {
      const { etag } = await this.store.put(this.#holdKey(job), JSON.stringify(hold), {
        contentType: 'application/json',
        ...(ifMatch === undefined ? { ifNoneMatch: '*' as const } : { ifMatch }),
      });
      return etag;
    } catch (error) {
      if (isPreconditionFailed(error)) return null;
      throw error;
    }
  }

  /** Deletes the hold of job `job` if it is still at `etag` (a hold taken over since stays). */
  async deleteHold(job: string, etag: string): Promise<void> {
    try {
      await this.store.delete(this.#holdKey(job), { ifMatch: etag });
    } catch (error) {
      if (!isPreconditionFailed(error)) throw error;
    }
  }

  /**
   * The hold of job `job` and its ETag; `null` when there is none. An unreadable body reads as a
   * hold of no run (empty ids), which anyone may take over.
   */
  async readHold(job: string): Promise<{ hold: RunHold; etag: string } | null> {
    const object = await this.store.get(this.#holdKey(job));
    if (!object) return null;
    let body: Partial<RunHold> = {};
    try {
      body = JSON.parse(new TextDecoder().decode(object.body)) as Partial<RunHold>;
    } catch {
      // Not a hold of ours: taken over like a stale one.
    }
    const hold: RunHold = {
      runId: typeof body.runId === 'string' ? body.runId : '',
      workerId: typeof body.workerId === 'string' ? body.workerId : '',
      startedAt: typeof body.startedAt === 'number' ? body.startedAt : 0,
      ...(Number.isSafeInteger(body.slot) ? { slot: body.slot as number } : {}),
    };
    return { hold, etag: object.etag };
  }

  async requestCancel(workerId: string, runId: string): Promise<void> {
    await this.store.put(`${CANCELS}${encodeKeySegment(workerId)}/${runId}`, '{}', {
      contentType: 'application/json',
    });
  }

  /** Run ids this worker was asked to cancel; each request is removed as it is read. */
  async takeCancelRequests(workerId: string): Promise<string[]> {
    const prefix = `${CANCELS}${encodeKeySegment(workerId)}/`;
    const runIds: string[] = [];
    for await (const object of listAll(this.store, prefix)) {
      runIds.push(object.key.slice(prefix.length));
      await this.store.delete(object.key);
    }
    return runIds;
  }

  #holdKey(job: string): string {
    return `${ACTIVE}${encodeKeySegment(job)}/${HOLD}`;
  }

  #activeKey(run: ActiveRun): string {
    const slot = run.slot === undefined ? '' : `.${run.slot}`;
    return `${ACTIVE}${encodeKeySegment(run.job)}/${run.runId}${slot}~${encodeKeySegment(run.workerId)}`;
  }
}
