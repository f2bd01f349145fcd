import { decodeKeySegment, listAll, type ObjectStore } from '@s3-scheduler/storage';

/** One real start of an action: what the duplicate check counts. */
export interface Execution {
  job: string;
  /** The slot's ISO instant, or `null` for a manual run. */
  slot: string | null;
  runId: string;
  /** Where the record came from. */
  source: 'marker' | 'counter';
  workerId?: string;
}

/**
 * In one process, every instance's actions add to this tally as they start, whether or not the
 * store still answers: it sees an execution even if its marker write never completes.
 */
export class ExecutionCounter {
  readonly #runs = new Map<string, Execution>();

  record(job: string, slot: string | null, runId: string, workerId: string): void {
    const key = `${job}\n${slot}\n${runId}`;
    if (!this.#runs.has(key)) this.#runs.set(key, { job, slot, runId, source: 'counter', workerId });
  }

  list(): Execution[] {
    return [...this.#runs.values()];
  }
}

/**
 * The execution markers every action writes (create-only, one per run) under `markers/`, read
 * back from the store with listings alone: `markers/<job>/<slot ms | manual>/<runId>`.
 */
export async function readMarkers(store: ObjectStore): Promise<Execution[]> {
  const executions: Execution[] = [];
  for await (const object of listAll(store, 'markers/')) {
    const parts = object.key.slice('markers/'.length).split('/');
    if (parts.length !== 3) continue;
    const [segment, slot, runId] = parts as [string, string, string];
    const job = decodeKeySegment(segment);
    if (job === undefined) continue;
    executions.push({
      job,
      slot: slot === 'manual' ? null : new Date(Number(slot)).toISOString(),
      runId,
      source: 'marker',
    });
  }
  return executions;
}
