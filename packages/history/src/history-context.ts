import { type Clock, isSchedulerError, SchedulerError } from '@s3-scheduler/core';
import type { ObjectStore } from '@s3-scheduler/storage';
import type { HistoryKeys } from './keys.js';
import type { LayoutRecord } from './layout-record.js';

/** What every part of a `HistoryStore` shares: the store, the clock, the key layout, the reporter. */
export interface HistoryContext {
  readonly store: ObjectStore;
  readonly clock: Clock;
  readonly keys: HistoryKeys;
  /** When sharded writing began in this bucket: which layout each run's key is in. */
  readonly layout: LayoutRecord;
  /** Tells `onError` about a problem that does not fail the call; never throws. */
  readonly report: (error: unknown) => void;
}

/** The `report` of a context: wraps anything thrown as a `SchedulerError`, shields the caller. */
export function reporter(onError: ((error: SchedulerError) => void) | undefined): (error: unknown) => void {
  return (error) => {
    if (!onError) return;
    const reported = isSchedulerError(error)
      ? error
      : new SchedulerError(error instanceof Error ? error.message : String(error), {
          code: 'UNKNOWN',
          cause: error,
        });
    try {
      onError(reported);
    } catch {
      // A throwing listener must not break history writes.
    }
  };
}
