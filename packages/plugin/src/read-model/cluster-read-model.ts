import { type Clock, runWithConcurrency, SchedulerError, systemClock } from '@s3-scheduler/core';
import { HistoryStore, type RunRecord } from '@s3-scheduler/history';
import { listAll, type ObjectStore, PrefixedStore } from '@s3-scheduler/storage';
import { type HistoryEntry, toHistoryEntry } from '../jobs/history-entry.js';
import { type JobDocument, JobDocuments } from '../jobs/job-document.js';
import { DEFAULT_LAYOUT, historyPrefix, jobNameOf, workerIdOf } from '../layout.js';
import { RunMarkers } from '../runs/run-markers.js';
import { type CatalogJob, nextRunsOf, readCatalog } from './catalog.js';

export interface ReadModelOptions {
  /**
   * The plugin's `keyPrefix` when `store` is the bare bucket (as given to the plugin's `store`
   * option); omit when `store` is already scoped (what `connect(connectionString)` returns).
   */
  keyPrefix?: string;
  /** The plugin's `historyResource`, when it is not the default. */
  historyResource?: string;
  /** Source of "now" (next runs, liveness). Default the system clock. */
  clock?: Clock;
  /**
   * A worker whose heartbeat object is older than this (ms) counts as gone when the leader's
   * lease does not list the live workers. Default 90,000 (three default heartbeats).
   */
  liveWindowMs?: number;
}

/** The leader as its lease says: `alive` when held and renewed within its lease. */
export interface LeaderView {
  workerId: string;
  epoch: number;
  state: 'held' | 'released';
  alive: boolean;
  /** When the lease was last written (the store's clock), ISO. */
  renewedAt: string;
  leaseMs: number;
}

export interface WorkerView {
  workerId: string;
  /** When its heartbeat object was last written (the store's clock), ISO. */
  lastHeartbeat: string;
  leader: boolean;
  alive: boolean;
}

/** A run going on now, and where. */
export interface RunningView {
  job: string;
  runId: string;
  slot: string | null;
  workerId: string | null;
  epoch: number | null;
  startedAt: string | null;
  trigger: string | null;
}

/** One job for people: the published definition, the pause state as stored, the next runs. */
export interface JobView {
  name: string;
  description: string;
  schedule: string | null;
  timezone: string;
  enabled: boolean;
  paused: boolean;
  pausedNote: string | null;
  nextRuns: Array<{ slot: string; fireAt: string }>;
  /** The full published definition; `null` for a job known only from its stored document. */
  definition: CatalogJob | null;
}

export interface JobStatusView extends JobView {
  lastRun: {
    runId: string;
    status: string;
    trigger: string;
    slot: string | null;
    finishedAt: string | null;
  } | null;
  running: RunningView[];
}

export interface ClusterStatus {
  /** When this picture was taken (the read model's clock), ISO. */
  at: string;
  leader: LeaderView | null;
  epoch: number;
  workers: WorkerView[];
  /** Some instance is alive to serve requests (a live leader, or a live worker). */
  alive: boolean;
  /** When the leader last published the job catalog; `null` when no leader ever did. */
  catalogPublishedAt: string | null;
  totalJobs: number;
  /** The `jobLimit` jobs due soonest, with last status and running runs. */
  jobs: JobStatusView[];
  /** Runs started away from the leader (`runJob`, backfill on followers), from `active/` markers. */
  activeElsewhere: Array<{ job: string; runId: string; workerId: string }>;
  /** The runs read for the shown jobs (`runsPerJob` newest of each), newest first (slot, else start). */
  recentRuns: HistoryEntry[];
}

export interface JobDescriptionView extends JobView {
  recentRuns: HistoryEntry[];
  running: RunningView[];
  statistics: Awaited<ReturnType<HistoryStore['statistics']>>;
  /** Slots waiting for the running run (overlap buffers), ISO. */
  buffered: string[];
  consecutiveFailures: number;
  runsTaken: number;
}

export interface HistoryOptions {
  status?: string;
  /** 1–1,000, default 20. */
  limit?: number;
  before?: Date | string | number;
  after?: Date | string | number;
  cursor?: string;
}

/** Job documents written less than this long before the catalog was are read again (ms). */
const CATALOG_MARGIN_MS = 60_000;
const DEFAULT_LIVE_WINDOW_MS = 90_000;
const READ_CONCURRENCY = 16;

/**
 * The cluster as its bucket shows it, read with no instance's help: the same objects the plugin
 * writes, under the same key layout (see `layout.ts`). Bounded cost: no call walks history; the
 * cost of each call is in its docstring, in requests.
 *
 * ```ts
 * const model = new ClusterReadModel(await connect('s3://…@bucket/prefix'));
 * const status = await model.status();
 * ```
 */
export class ClusterReadModel {
  readonly store: ObjectStore;
  readonly history: HistoryStore;
  readonly #clock: Clock;
  readonly #liveWindowMs: number;
  readonly #documents: JobDocuments;

  constructor(store: ObjectStore, options: ReadModelOptions = {}) {
    this.store = options.keyPrefix ? new PrefixedStore(store, options.keyPrefix) : store;
    this.#clock = options.clock ?? systemClock;
    this.#liveWindowMs = options.liveWindowMs ?? DEFAULT_LIVE_WINDOW_MS;
    this.history = new HistoryStore({
      store: this.store,
      clock: this.#clock,
      prefix: historyPrefix(options.historyResource),
      // A reader never writes the bucket's layout record (see HistoryStoreOptions.readOnly).
      readOnly: true,
    });
    this.#documents = new JobDocuments(this.store, () => this.#clock.now());
  }

  /** Leader, epoch and workers. Costs 1 get (the lease) + 1 list per 1,000 workers. */
  async leadership(): Promise<{
    leader: LeaderView | null;
    epoch: number;
    workers: WorkerView[];
    alive: boolean;
  }> {
    const now = this.#clock.now();
    const [lease, listed] = await Promise.all([
      this.store.get(DEFAULT_LAYOUT.leaderLock),
      (async () => {
        const objects = [];
        for await (const object of listAll(this.store, DEFAULT_LAYOUT.workers)) objects.push(object);
        return objects;
      })(),
    ]);
    let leader: LeaderView | null = null;
    let published: string[] | undefined;
    if (lease) {
      try {
        const record = JSON.parse(new TextDecoder().decode(lease.body)) as {
          owner: string;
          token: number;
          state: 'held' | 'released';
          leaseMs: number;
          data?: { workers?: unknown };
        };
        const renewedAt = lease.lastModified.getTime();
        const alive = record.state === 'held' && now - renewedAt <= record.leaseMs;
        leader = {
          workerId: record.owner,
          epoch: record.token,
          state: record.state,
          alive,
          renewedAt: new Date(renewedAt).toISOString(),
          leaseMs: record.leaseMs,
        };
        const workers = record.data?.workers;
        if (alive && Array.isArray(workers)) published = workers.filter((id) => typeof id === 'string');
      } catch {
        leader = null; // a corrupted lease: the cluster replaces it; nobody known leads meanwhile
      }
    }
    const workers: WorkerView[] = [];
    for (const object of listed) {
      const workerId = workerIdOf(object.key);
      if (workerId === undefined) continue;
      const isLeader = leader?.alive === true && leader.workerId === workerId;
      const fresh = now - object.lastModified.getTime() <= this.#liveWindowMs;
      // A leader renews its lease instead of its heartbeat object: the lease is its heartbeat.
      const beat = isLeader
        ? Math.max(object.lastModified.getTime(), Date.parse(leader!.renewedAt))
        : object.lastModified.getTime();
      workers.push({
        workerId,
        lastHeartbeat: new Date(beat).toISOString(),
        leader: isLeader,
        // The leader's lease lists who it sees alive; without it, recent heartbeats tell.
        alive: isLeader || (published ? published.includes(workerId) : fresh),
      });
    }
    workers.sort((a, b) => (a.workerId < b.workerId ? -1 : 1));
    const alive = leader?.alive === true || workers.some((worker) => worker.alive);
    return { leader, epoch: leader?.epoch ?? 0, workers, alive };
  }

  /**
   * Every job: the catalog the leader publishes, with pause state from job documents written
   * since. Costs 1 get (catalog) + 1 list per 1,000 job documents + 1 get per document written
   * within a minute of the catalog or later (usually none).
   */
  async jobs(
    options: { nextRuns?: number } = {},
  ): Promise<{ jobs: JobView[]; catalogPublishedAt: string | null }> {
    const now = this.#clock.now();
    const [catalog, documents] = await Promise.all([readCatalog(this.store), this.#listDocuments()]);
    const fresh = documents.filter(
      (doc) => catalog === null || doc.lastModified >= catalog.lastModified - CATALOG_MARGIN_MS,
    );
    const docs = new Map<string, JobDocument>();
    await runWithConcurrency(
      fresh.map(({ name }) => async () => {
        const stored = await this.#documents.read(name).catch(() => null);
        if (stored) docs.set(name, stored.doc);
      }),
      READ_CONCURRENCY,
    );
    const byName = new Map<string, JobView>();
    for (const job of catalog?.jobs ?? []) {
      const doc = docs.get(job.name);
      const effective = doc ? { ...job, paused: doc.paused, pausedNote: doc.pausedNote } : job;
      byName.set(job.name, view(effective, now, options.nextRuns ?? 3));
    }
    for (const [name, doc] of docs) {
      if (byName.has(name)) continue;
      byName.set(name, {
        name,
        description: '',
        schedule: typeof doc.overrides.schedule === 'string' ? doc.overrides.schedule : null,
        timezone: typeof doc.overrides.timezone === 'string' ? doc.overrides.timezone : 'UTC',
        enabled: doc.overrides.enabled !== false,
        paused: doc.paused,
        pausedNote: doc.pausedNote,
        nextRuns: [],
        definition: null,
      });
    }
    const jobs = [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return {
      jobs,
      catalogPublishedAt: catalog ? new Date(catalog.lastModified).toISOString() : null,
    };
  }

  /** One job, or `JOB_NOT_FOUND` naming the known jobs. Costs what `jobs()` costs. */
  async job(name: string): Promise<JobView> {
    const { jobs } = await this.jobs({ nextRuns: 5 });
    const found = jobs.find((job) => job.name === name);
    if (found) return found;
    throw new SchedulerError(`Job not found: ${name}`, {
      code: 'JOB_NOT_FOUND',
      operation: 'readModel',
      metadata: { jobName: name, availableJobs: jobs.slice(0, 50).map((job) => job.name) },
      suggestion:
        jobs.length === 0
          ? 'No leader has published the job catalog yet: start an instance of the app, or check the store and its prefix.'
          : 'Check the name against `s3-scheduler jobs`.',
    });
  }

  /**
   * Leader, workers, and the `jobLimit` jobs due soonest with their last status and running runs.
   * Costs `leadership()` + `jobs()` + 1 list (`active/`) + per shown job 1 list and at most 2 gets
   * (its two newest runs; `runsPerJob` of them when more are asked for): with 1,000 jobs and the
   * default `jobLimit` 20, about 65 requests whatever the amount of history.
   */
  async status(options: { jobLimit?: number; runsPerJob?: number } = {}): Promise<ClusterStatus> {
    const jobLimit = options.jobLimit ?? 20;
    const runsPerJob = Math.min(1000, Math.max(2, options.runsPerJob ?? 2));
    const [leadership, { jobs, catalogPublishedAt }, active] = await Promise.all([
      this.leadership(),
      this.jobs(),
      new RunMarkers(this.store).listActive(),
    ]);
    const order = (job: JobView) =>
      job.nextRuns[0] ? Date.parse(job.nextRuns[0].fireAt) : Number.POSITIVE_INFINITY;
    const shown = [...jobs]
      .sort((a, b) => order(a) - order(b) || (a.name < b.name ? -1 : 1))
      .slice(0, jobLimit);
    const detailed: JobStatusView[] = shown.map((job) => ({ ...job, lastRun: null, running: [] }));
    const read: RunRecord[] = [];
    await runWithConcurrency(
      detailed.map((job) => async () => {
        const page = await this.history.query(job.name, { limit: runsPerJob });
        job.lastRun = lastRunOf(page.runs);
        job.running = page.runs.filter((run) => run.status === 'running').map(runningOf);
        read.push(...page.runs);
      }),
      READ_CONCURRENCY,
    );
    return {
      at: new Date(this.#clock.now()).toISOString(),
      ...leadership,
      catalogPublishedAt,
      totalJobs: jobs.length,
      jobs: detailed,
      activeElsewhere: active,
      recentRuns: newestFirst(read).map(toHistoryEntry),
    };
  }

  /**
   * The newest runs of the named jobs, newest first (by slot, else start time): `perJob` (1–1,000,
   * default 10) of each, at most `limit` in all (default every one read). Costs per job 1 list +
   * ≤ `perJob` gets, whatever the amount of history.
   */
  async recentRuns(
    names: readonly string[],
    options: { perJob?: number; limit?: number } = {},
  ): Promise<HistoryEntry[]> {
    const perJob = Math.min(1000, Math.max(1, options.perJob ?? 10));
    const read: RunRecord[] = [];
    await runWithConcurrency(
      names.map((name) => async () => {
        read.push(...(await this.history.query(name, { limit: perJob })).runs);
      }),
      READ_CONCURRENCY,
    );
    return newestFirst(read)
      .slice(0, options.limit ?? read.length)
      .map(toHistoryEntry);
  }

  /**
   * What `describe()` returns, from the bucket: definition, pause, next runs, recent runs,
   * running runs, statistics, buffer. Costs `jobs()` + 1 get (document) + 1 get (statistics) +
   * 1 list and `recent` gets (recent runs).
   */
  async describe(
    name: string,
    options: { count?: number; recent?: number } = {},
  ): Promise<JobDescriptionView> {
    const job = await this.job(name);
    const [doc, recent, statistics] = await Promise.all([
      this.#documents.read(name).catch(() => null),
      this.history.query(name, { limit: options.recent ?? 10 }),
      this.history.statistics(name),
    ]);
    const nextRuns = job.definition
      ? nextRunsOf({ ...job.definition, paused: job.paused }, this.#clock.now(), options.count ?? 5)
      : [];
    return {
      ...job,
      nextRuns,
      recentRuns: recent.runs.map(toHistoryEntry),
      running: recent.runs.filter((run) => run.status === 'running').map(runningOf),
      statistics,
      buffered: (doc?.doc.buffer ?? []).map((slot) => new Date(slot).toISOString()),
      consecutiveFailures: doc?.doc.consecutiveFailures ?? 0,
      runsTaken: doc?.doc.runsTaken ?? 0,
    };
  }

  /**
   * One page of a job's runs, newest first, through history's constant-cost queries: 1 list plus
   * 1 get per returned run, whatever the amount of history. Pass `cursor` back for the next page.
   */
  async runs(name: string, options: HistoryOptions = {}): Promise<{ runs: HistoryEntry[]; cursor?: string }> {
    const page = await this.history.query(name, {
      limit: options.limit ?? 20,
      ...(options.status === undefined ? {} : { status: options.status as 'completed' }),
      ...(options.before === undefined ? {} : { before: options.before }),
      ...(options.after === undefined ? {} : { after: options.after }),
      ...(options.cursor === undefined ? {} : { cursor: options.cursor }),
    });
    return { runs: page.runs.map(toHistoryEntry), ...(page.cursor ? { cursor: page.cursor } : {}) };
  }

  /**
   * Pauses a job cluster-wide, as `pauseJob()` does (the job document, by compare-and-swap); the
   * leader takes it up at its next heartbeat. Costs 1 get + 1 put (more under contention).
   */
  async pause(name: string, note: string): Promise<void> {
    await this.#documents.update(name, (doc) => {
      doc.paused = true;
      doc.pausedNote = note;
      return true;
    });
  }

  /** Ends a pause and resets the failure streak, as `resumeJob()` does. Costs 1 get + 1 put. */
  async resume(name: string): Promise<void> {
    await this.#documents.update(name, (doc) => {
      doc.paused = false;
      doc.pausedNote = null;
      doc.consecutiveFailures = 0;
      return true;
    });
  }

  async #listDocuments(): Promise<Array<{ name: string; lastModified: number }>> {
    const found: Array<{ name: string; lastModified: number }> = [];
    for await (const object of listAll(this.store, DEFAULT_LAYOUT.jobs)) {
      const name = jobNameOf(object.key);
      if (name !== undefined) found.push({ name, lastModified: object.lastModified.getTime() });
    }
    return found;
  }
}

function view(job: CatalogJob, now: number, count: number): JobView {
  return {
    name: job.name,
    description: job.description,
    schedule: job.schedule,
    timezone: job.timezone,
    enabled: job.enabled,
    paused: job.paused,
    pausedNote: job.pausedNote,
    nextRuns: nextRunsOf(job, now, count),
    definition: job,
  };
}

function newestFirst(runs: readonly RunRecord[]): RunRecord[] {
  const time = (run: RunRecord) => Date.parse(run.slot ?? run.startedAt);
  return [...runs].sort((a, b) => time(b) - time(a));
}

function lastRunOf(runs: readonly RunRecord[]): JobStatusView['lastRun'] {
  const last = runs.find((run) => run.status !== 'running');
  return last
    ? {
        runId: last.runId,
        status: last.status,
        trigger: last.trigger,
        slot: last.slot,
        finishedAt: last.finishedAt,
      }
    : null;
}

function runningOf(run: RunRecord): RunningView {
  return {
    job: run.job,
    runId: run.runId,
    slot: run.slot,
    workerId: run.workerId,
    epoch: run.epoch,
    startedAt: run.startedAt,
    trigger: run.trigger,
  };
}
