import type { SchedulerError } from '@s3-scheduler/core';

/** Why this instance stopped leading. */
export type DemotionReason =
  /** `stop()` released the lease. */
  | 'stopped'
  /** `handOver()`: the successor took the lease over, as asked. */
  | 'handed-over'
  /** Renewals could not succeed before the lease ran out (store unreachable, process paused). */
  | 'expired'
  /** A renewal found the lease changed: someone else holds it now. */
  | 'taken-over'
  /** The lease was released some other way (for example a failed release at stop). */
  | 'released'
  | 'release-failed';

/** Event payloads. Names carry no prefix; the plugin re-emits them as `plg:scheduler:<name>`. */
export type CoordinatorEvents = {
  /** Emitted on every instance when it observes a new leader term (a new leader or epoch). */
  'coordinator-elected': {
    workerId: string;
    epoch: number;
    previousWorkerId: string | null;
    timestamp: number;
  };
  /** Emitted on the instance that has just become leader, after `coordinator-elected`. */
  'coordinator-promoted': { workerId: string; epoch: number; timestamp: number };
  /** Emitted on the instance that has just stopped leading; `signal` has already fired. */
  'coordinator-demoted': {
    workerId: string;
    epoch: number;
    reason: DemotionReason;
    timestamp: number;
    error?: SchedulerError;
  };
  /** A store request of the heartbeat loop failed; the loop carries on. */
  'coordinator-error': { workerId: string; error: unknown; timestamp: number };
};
