import type { HistoryEntry, JobView as PluginJobView } from '@s3-scheduler/plugin';

/**
 * What the dashboard reads and asks: a small interface so it can sit on a running
 * `SchedulerPlugin` (`pluginSource`) today and on the bucket's read model (the CLI's) later,
 * without the page or its JSON API changing. Every instant is ISO-8601 text, every duration ms.
 * Nothing here may carry a credential: the handler serialises these objects as they are.
 */
export interface DashboardSource {
  /** Who leads, under which epoch, which workers heartbeat, and the hand-overs seen. */
  cluster(): Promise<ClusterView>;
  /** Every job, sorted by name. */
  jobs(): Promise<JobView[]>;
  /**
   * One page of a job's runs, newest first. `cursor` is the `nextCursor` of the previous page.
   * Throws a `SchedulerError` with code `JOB_NOT_FOUND` for an unknown job.
   */
  history(job: string, query: HistoryQuery): Promise<HistoryPage>;
  /** One run, or `null` when none has that id. `at` (its slot or start) makes the look-up cheap. */
  run(job: string, runId: string, at?: string): Promise<RunView | null>;
  /** Pauses the job cluster-wide with a note. */
  pause(job: string, note: string): Promise<void>;
  resume(job: string): Promise<void>;
  /** Runs the job once now; resolves once it is accepted (or, for a plugin, finished). */
  trigger(job: string): Promise<ActionResult>;
  /** Runs the slots in `[from, to]` that never ran. */
  backfill(job: string, range: { from: string; to: string }): Promise<ActionResult>;
}

/** A run's status, as the plugin's history records it. */
export type RunStatus = HistoryEntry['status'];

export interface ClusterView {
  /** The leader's worker id, or `null` while nobody leads. */
  leader: string | null;
  /** The leadership epoch (fencing token); 0 before the first election. */
  epoch: number;
  /** Worker ids with a live heartbeat, sorted. */
  workers: string[];
  /** Leadership changes seen, newest first (a plugin source sees those since the dashboard started). */
  handOvers: Array<{ at: string; workerId: string; epoch: number; previousWorkerId: string | null }>;
  /** The instance the dashboard reads through, when it is one (a plugin source). */
  self: string | null;
  /** The source's clock, ISO. */
  now: string;
}

/**
 * The fields of a job the plugin's `JobView` (`ClusterReadModel`) already declares and projects:
 * name, description, schedule (`null` for a job run only on demand), zone, enabled, pause and note.
 */
export type JobFields = Pick<
  PluginJobView,
  'name' | 'description' | 'schedule' | 'timezone' | 'enabled' | 'paused' | 'pausedNote'
>;

/** Those fields of a job, from the read model's view or `describe()` (which has them too). */
export function jobFields(job: JobFields): JobFields {
  const { name, description, schedule, timezone, enabled, paused, pausedNote } = job;
  return { name, description, schedule, timezone, enabled, paused, pausedNote };
}

/**
 * One job as the page shows it: the plugin's fields plus the dashboard's own (next slots as
 * instants, last run, success rate, run count, where it runs; the handler adds the schedule in
 * words).
 */
export interface JobView extends JobFields {
  /** The next slots, ISO, soonest first (empty when paused, disabled or unscheduled). */
  nextRuns: string[];
  /** The newest finished run; `at` is when it finished (or started, when that is unknown). */
  lastRun: { runId: string; status: RunStatus; at: string | null } | null;
  /** 0–100 over all stored runs, `null` before the first run. */
  successRate: number | null;
  totalRuns: number;
  /** Where runs of it execute now. */
  running: Array<{ runId: string; workerId: string }>;
}

export interface HistoryQuery {
  /** Only runs with this status. */
  status?: RunStatus;
  /** Where the previous page ended (its `nextCursor`, opaque). */
  cursor?: string;
  /** Page size, 1–100. */
  limit: number;
}

export interface HistoryPage {
  runs: RunView[];
  /** The cursor of the next (older) page, or `null` on the last page. */
  nextCursor: string | null;
}

export interface RunView {
  runId: string;
  job: string;
  status: RunStatus;
  trigger: string;
  /** The scheduled instant, `null` for manual runs. */
  slot: string | null;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  /** `startedAt − slot` in ms (how late the run started), `null` without a slot. */
  latenessMs: number | null;
  attempts: number;
  error: { name: string; message: string; code?: string } | null;
  workerId: string | null;
  epoch: number | null;
}

export interface ActionResult {
  /** Short text for people, e.g. `completed in 12 ms` or `3 slots, 2 ran`. */
  message: string;
  runId?: string;
  /** The operator request the leader will serve (a bucket source). */
  requestId?: string;
}
