import { encodeKeySegment } from '@s3-scheduler/storage';

export const WORKERS_PREFIX = 'workers/';

/** The heartbeat document of one worker, at `workers/<encoded id>.json`. */
export interface WorkerRecord {
  workerId: string;
  /** Wall-clock start time of the worker (informational). */
  startedAt: number;
  /** Wall-clock time of this heartbeat (informational; liveness is judged by ETag changes). */
  lastHeartbeat: number;
  /** The leader epoch this worker last saw (0 when none). */
  epoch: number;
  /** New on every write, so every heartbeat changes the ETag even if the clock did not move. */
  nonce: string;
  /**
   * Set when this worker answers a leader's hand-over offer: the epoch of the lease it is ready to
   * take over the moment that leader releases it.
   */
  acceptsHandOver?: number;
  /** Set after `resign()`: still alive and finishing its runs, but no longer leading or bidding. */
  draining?: boolean;
}

export function workerKey(workerId: string): string {
  return `${WORKERS_PREFIX}${encodeKeySegment(workerId)}.json`;
}
