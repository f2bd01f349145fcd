import { decodeKeySegment, encodeKeySegment, listAll, type ObjectStore } from '@s3-scheduler/storage';
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

const ACTIVE = DEFAULT_LAYOUT.active;
const CANCELS = DEFAULT_LAYOUT.cancels;

/**
 * Small marker objects that let instances see each other's runs without reading history:
 * `active/<job>/<runId>[.<slotMs>]~<worker>` while a run executes away from the leader, so the
 * leader's overlap policy sees it (the slot, when there is one, tells where its record is); `cancels/<worker>/<runId>` to ask the instance running a run
 * to abort it (`cancel-other`, `terminate-other`). Everything is in the key: listing is enough.
 */
export class RunMarkers {
  constructor(private readonly store: ObjectStore) {}

  async markActive(run: ActiveRun): Promise<void> {
    await this.store.put(this.#activeKey(run), '{}', { contentType: 'application/json' });
  }

  async clearActive(run: ActiveRun): Promise<void> {
    await this.store.delete(this.#activeKey(run));
  }

  async listActive(): Promise<ActiveRun[]> {
    const runs: ActiveRun[] = [];
    for await (const object of listAll(this.store, ACTIVE)) {
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
    return runs;
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

  #activeKey(run: ActiveRun): string {
    const slot = run.slot === undefined ? '' : `.${run.slot}`;
    return `${ACTIVE}${encodeKeySegment(run.job)}/${run.runId}${slot}~${encodeKeySegment(run.workerId)}`;
  }
}
