import type { ClusterEvent, InstanceReport, MissedReport, Promotion } from './model.js';

/** What a forked instance is started with (in the DEMO_WORKER environment variable). */
export interface WorkerSettings {
  id: string;
  /** The connection string; may hold a secret, so it never goes on the command line. */
  store: string;
  /** The run's own sub-prefix, shared by every instance of the run. */
  runPrefix: string;
  heartbeatMs: number;
  coldStartMs: number;
  extraJobs: string[];
}

export type ParentMessage =
  | { type: 'add-job'; name: string }
  | { type: 'trigger'; name: string }
  | { type: 'stop' };

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'report'; report: InstanceReport }
  | { type: 'event'; event: ClusterEvent }
  | { type: 'promoted'; promotion: Promotion }
  | { type: 'missed'; report: MissedReport }
  | { type: 'stopped' };
