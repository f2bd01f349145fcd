/** What the view shows and the summary reads, the same whether instances are in-process or not. */

export type InstanceState = 'starting' | 'follower' | 'leader' | 'paused' | 'killed' | 'stopped';

export interface InstanceSnapshot {
  id: string;
  /** The OS process of the instance (multi-process mode). */
  pid?: number;
  state: InstanceState;
  /** The epoch this instance knows (`getEpoch()`). */
  epoch: number;
  /** The leader this instance sees (`getLeader()`). */
  leader: string | null;
  /** Runs this instance executed (its own `getJobStatus()` counters). */
  runs: number;
}

export interface JobSnapshot {
  name: string;
  schedule: string | null;
  timezone: string;
  description: string;
  /** `getJobStatus(name).nextRun` on a live instance. */
  nextRun: string | null;
}

/** An attempt running now, as the plugin's `job-started` / `job-retry` events told. */
export interface LiveAttempt {
  job: string;
  runId: string;
  slot: string | null;
  attempt: number;
  workerId: string;
  startedAt: number;
}

export type EventKind = 'leader' | 'fault' | 'run' | 'catch-up' | 'info' | 'error';

export interface ClusterEvent {
  at: number;
  kind: EventKind;
  text: string;
}

export interface InstanceReport {
  instance: InstanceSnapshot;
  jobs: JobSnapshot[];
  live: LiveAttempt[];
}

export interface ClusterSnapshot {
  instances: InstanceSnapshot[];
  jobs: JobSnapshot[];
  live: LiveAttempt[];
}

/** A leader term as the promoted instance announced it. */
export interface Promotion {
  workerId: string;
  epoch: number;
  at: number;
}

/**
 * Slots the scheduler reported not run because of the job's catch-up policy (`job-skipped {
 * reason: 'missed' }`): `slot` is the newest, `count` how many (more than one for a long gap).
 */
export interface MissedReport {
  job: string;
  slot: string;
  count: number;
  workerId: string;
}

/** The operations the live view and the scripted flags use, on either kind of cluster. */
export interface Cluster {
  /** The store, secrets redacted, with the run's own prefix. */
  readonly description: string;
  readonly mode: 'in-process' | 'multi-process';
  start(): Promise<void>;
  snapshot(): ClusterSnapshot;
  /** Crashes the current leader; resolves with its id, or `null` when nobody leads. */
  killLeader(): Promise<string | null>;
  /** Freezes the current leader for `ms`; resolves with its id, or `null` when nobody leads. */
  pauseLeader(ms: number): Promise<string | null>;
  /** Adds one of `EXTRA_JOBS` to every live instance. */
  addJob(name: string): Promise<void>;
  /** Runs a job by hand on the leader (or any live instance); resolves with where it ran. */
  trigger(name: string): Promise<string>;
  /** Ends every pause at once (before the summary). */
  resumeAll(): Promise<void>;
  /** True when a live (not killed, not paused) instance holds the leader lease. */
  hasLiveLeader(): boolean;
  /** Instances not killed (paused ones included: they come back). */
  liveInstances(): number;
  /**
   * When the last live instance was killed: from then on no instance is alive to run a slot,
   * so slots after it are missed by the cluster's absence, not lost by the scheduler.
   */
  readonly allDownAt: number | undefined;
  /** Stops the live instances gracefully. */
  stop(): Promise<void>;
  onEvent(handler: (event: ClusterEvent) => void): void;
  readonly promotions: readonly Promotion[];
  readonly missedReports: readonly MissedReport[];
  /** When each job joined the cluster (the configured ones at start). */
  readonly jobsSince: ReadonlyMap<string, number>;
}
