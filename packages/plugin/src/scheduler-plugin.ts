import { Coordinator } from '@s3-scheduler/coordinator';
import {
  type Clock,
  checkFunction,
  createRunId,
  createWorkerId,
  isSchedulerError,
  SchedulerError,
} from '@s3-scheduler/core';
import { Executor, type RunOutcome } from '@s3-scheduler/executor';
import { type FinishInput, HistoryStore, type RunHandle, type RunRecord } from '@s3-scheduler/history';
import {
  connect,
  encodeKeySegment,
  isPreconditionFailed,
  type ObjectStore,
  openStore,
} from '@s3-scheduler/storage';
import { type DueEntry, DueHeap } from './due-heap.js';
import { EventHub } from './event-hub.js';
import { eventBase, type SchedulerEvents, toError } from './events.js';
import { type HistoryEntry, toHistoryEntry } from './history-entry.js';
import { isProcessLocal, openHostStore, readHostStorage } from './host-store.js';
import { type JobDocument, JobDocuments, type JobOverrides } from './job-document.js';
import { checkJobName, normalizeJob } from './job-options.js';
import { JobState, type JobStatus } from './job-state.js';
import { Lifecycle } from './lifecycle.js';
import { Limiter, runWithConcurrency } from './limiter.js';
import { type ResolvedPluginOptions, resolvePluginOptions } from './plugin-options.js';
import { followRemoteRuns, markerOf, markRunsForHandOver, recheckRemoteRuns } from './remote-runs.js';
import { RunAdmission } from './run-admission.js';
import { RunMarkers } from './run-markers.js';
import { catchUpPlan, fireTime, MAX_SLOTS, nextSlot, recentlyDue, slotsBetween } from './slot-math.js';
import { ON_TIME_TOLERANCE_MS, selectDueSlots } from './slot-selection.js';
import type {
  BackfillResult,
  JobConfig,
  JobContext,
  JobDescription,
  RunJobResult,
  RunTrigger,
  SchedulerPluginOptions,
} from './types.js';
import {
  checkBackfillArguments,
  checkDescribeArguments,
  checkHistoryArguments,
  checkPauseArguments,
  checkUpdateArguments,
  parseInstant,
} from './validate.js';

/** The scheduler re-reads the wall clock at least this often, so a clock jump is noticed. */
const MAX_TIMER_SLEEP_MS = 60_000;
/** Claims sent at once while sweeping every job (promotion, catch-up). */
const SWEEP_CONCURRENCY = 16;
/** Slot claims in flight at once: beyond this the store only gets slower, so claims queue. */
const MAX_CLAIMS_IN_FLIGHT = 32;
/** Statistics deltas older than this are written at the next heartbeat. */
const STATS_MAX_PENDING_MS = 10 * 60_000;

/** The most slots one `backfill()` call runs. */
const MAX_BACKFILL_SLOTS = 10_000;

/**
 * A distributed cron scheduler on an S3-compatible bucket. Every instance given the same store
 * and jobs cooperates: one leader fires scheduled slots, each slot is claimed by a create-only
 * write so it runs at most once even if two instances believe they lead, and every run leaves
 * a record in the partitioned history.
 */
export class SchedulerPlugin<Db = unknown> {
  readonly #options: ResolvedPluginOptions;
  readonly #lifecycle = new Lifecycle();
  readonly #admission = new RunAdmission();
  /** The last generation given to a job's heap entries (see `#schedule`). */
  #generations = 0;
  /** Which store options the user gave, as opposed to defaults (decides host and cold start). */
  readonly #given: { connectionString: boolean; coldStart: boolean };
  /** The process-local store was announced through the logger (once per plugin). */
  #toldProcessLocal = false;
  /** Where the store in use lives: 'host' (the s3db database's), 'given' or 'default'. */
  #storeSource: 'host' | 'given' | 'default' | undefined;
  readonly #clock: Clock;
  readonly #events = new EventHub<SchedulerEvents>();
  readonly #jobs = new Map<string, JobState>();
  readonly #heap = new DueHeap();
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #claims = new Limiter(MAX_CLAIMS_IN_FLIGHT);
  #workerId: string;
  #database: Db;
  #store: ObjectStore | undefined;
  #storeReady: Promise<ObjectStore> | undefined;
  #history: HistoryStore | undefined;
  #documents: JobDocuments | undefined;
  #markers: RunMarkers | undefined;
  #executor: Executor<JobContext>;
  #coordinator: Coordinator | undefined;
  #started = false;
  #stopping = false;
  #stopController: AbortController | undefined;
  #wake: AbortController | undefined;
  #loops: Promise<void>[] = [];
  #ranOnStart = false;
  #lastCleanupAt: number | undefined;
  /** Instances seen alive at the last heartbeat, to notice those that left. */
  #lastActive = new Set<string>();
  /** The leader this instance took over from in its current term. */
  #previousLeader: string | null = null;
  /** Set while a leader stops: its runs (those running and those it still starts) are marked active. */
  #resigning = false;
  /** Runs marked active for a hand-over; their markers are cleared when they end. */
  readonly #markedForHandOver = new Set<string>();
  /** The leader of the latest term this instance saw begin. */
  #lastSeenLeader: string | null = null;

  constructor(options: SchedulerPluginOptions<Db> = {}) {
    this.#options = resolvePluginOptions(options);
    this.#clock = this.#options.clock;
    this.#workerId = this.#options.workerId ?? createWorkerId();
    this.#database = this.#options.database as Db;
    this.#given = {
      connectionString: options?.connectionString !== undefined,
      coldStart: options?.coldStartObservationWindow !== undefined || options?.skipColdStart !== undefined,
    };
    this.#executor = this.#createExecutor();
    const jobs = this.#options.jobs;
    if (typeof jobs !== 'object' || jobs === null) {
      throw new SchedulerError("'jobs' must be an object keyed by job name", {
        code: 'INVALID_OPTION',
        operation: 'validateConfiguration',
        metadata: { option: 'jobs', value: typeof jobs },
        suggestion: "Pass jobs: { daily_cleanup: { schedule: '0 3 * * *', action } }.",
      });
    }
    for (const [name, config] of Object.entries(jobs)) {
      this.#jobs.set(
        name,
        new JobState(
          normalizeJob(name, config as JobConfig, this.#options, 'validateConfiguration'),
          config as JobConfig,
        ),
      );
    }
  }

  // ── Host integration ────────────────────────────────────────────────────────────────────────

  /**
   * Called by `db.usePlugin(plugin)`: remembers the host, passed as each action's first
   * argument. Given an s3db.js `Database` and no `store`/`connectionString`, the scheduler keeps
   * its objects in that database's bucket, under its key prefix plus `plugin=scheduler/` (taken
   * up at the next `start()`).
   */
  async install(database?: Db): Promise<this> {
    if (database === undefined) return this;
    this.#database = database;
    // A store opened before the host was known (a call such as `updateJob` before `usePlugin`)
    // was the embedded default: the host's storage replaces it at the next start.
    if (!this.#started && this.#storeSource === 'default' && !this.#storeReady) this.#forgetStore();
    return this;
  }

  /** Alias of `install` for hosts that call `setup`. */
  async setup(database?: Db): Promise<this> {
    return this.install(database);
  }

  /** Alias of `stop` for hosts that call `uninstall`. */
  async uninstall(): Promise<void> {
    await this.stop();
  }

  get workerId(): string {
    return this.#workerId;
  }

  /** True while this instance fires scheduled slots (always, without a coordinator). */
  get isCoordinator(): boolean {
    return this.isLeader();
  }

  isLeader(): boolean {
    return this.#started && (this.#coordinator ? this.#coordinator.isLeader() : true);
  }

  getLeader(): string | null {
    if (!this.#started) return null;
    return this.#coordinator ? this.#coordinator.getLeader() : this.#workerId;
  }

  getEpoch(): number {
    return this.#coordinator?.getEpoch() ?? 0;
  }

  getActiveWorkers(): string[] {
    return this.#coordinator?.getActiveWorkers() ?? (this.#started ? [this.#workerId] : []);
  }

  get isStarted(): boolean {
    return this.#started;
  }

  // ── Events ──────────────────────────────────────────────────────────────────────────────────

  on<K extends keyof SchedulerEvents>(type: K, handler: (payload: SchedulerEvents[K]) => unknown): this {
    checkFunction(handler, { operation: 'on', option: 'handler' });
    this.#events.on(type, handler);
    return this;
  }

  off<K extends keyof SchedulerEvents>(type: K, handler?: (payload: SchedulerEvents[K]) => unknown): this {
    this.#events.off(type, handler);
    return this;
  }

  once<K extends keyof SchedulerEvents>(type: K, handler: (payload: SchedulerEvents[K]) => unknown): this {
    checkFunction(handler, { operation: 'once', option: 'handler' });
    this.#events.once(type, handler);
    return this;
  }

  // ── Lifecycle ───────────────────────────────────────────────────────────────────────────────

  /**
   * Connects to the store (probing it), joins the cluster and starts firing slots when this
   * instance leads. Throws `STORE_UNSAFE` (also when installed into a host database whose storage
   * is shared but the scheduler would run on the process-local memory store), `BUCKET_NOT_FOUND`,
   * `ACCESS_DENIED` or `INVALID_CONNECTION_STRING` from the store. Idempotent and ordered with
   * `stop()`: concurrent calls share one start, and it may be called again after `stop()`.
   */
  start(): Promise<void> {
    if (!this.#options.enabled) return Promise.resolve();
    return this.#lifecycle.request('started', () => this.#start());
  }

  /**
   * Hands leadership over when leading (fires slots on until the successor is ready, at most two
   * `leaseCheckInterval`s, then releases), stops firing, waits up to `stopTimeout` for running
   * jobs, then cancels what still runs. The plugin can start again.
   * Idempotent; a `stop()` called during a `start()` runs once that start is done, so nothing is
   * left running.
   */
  stop(): Promise<void> {
    return this.#lifecycle.request('stopped', () => this.#stop());
  }

  async #start(): Promise<void> {
    const store = await this.#ensureStore();
    this.#checkProcessLocal(store);
    await this.#ensureHistory();
    await this.#syncDocuments();
    this.#started = true;
    this.#stopping = false;
    this.#ranOnStart = false;
    this.#stopController = new AbortController();
    try {
      const now = this.#clock.now();
      for (const state of this.#jobs.values()) {
        state.since = now;
        this.#schedule(state, now);
      }
      if (this.#options.enableCoordinator) {
        this.#coordinator = this.#createCoordinator(store);
        await this.#coordinator.start();
      } else {
        void this.#track(this.#onPromoted());
      }
      const signal = this.#stopController.signal;
      this.#loops = [this.#timerLoop(signal), this.#maintenanceLoop(signal)];
    } catch (error) {
      // Nothing of a failed start may stay behind (a coordinator renewing its lease above all).
      await this.#stop();
      throw error;
    }
    this.#events.emit('scheduler_started', { workerId: this.#workerId, jobs: this.#jobs.size });
  }

  async #stop(): Promise<void> {
    if (!this.#started) return;
    const coordinator = this.#coordinator;
    // A leader goes on firing slots until its successor is ready, then releases (a hand-over with
    // no gap); this instance then heartbeats on, marked draining, while its runs finish, so the
    // successor sees it alive and does not take them for orphans.
    // Its runs are marked active first, so the successor's overlap policy sees them (issue 15).
    if (coordinator?.isLeader()) await this.#markForHandOver();
    await coordinator?.resign().catch((error: unknown) => this.#reportError('stop', error));
    this.#stopping = true;
    this.#stopController?.abort();
    this.#wake?.abort();
    await Promise.all(this.#loops);
    this.#loops = [];
    let { drained } = await this.#executor.drain({ deadline: this.#options.stopTimeout });
    if (!drained) {
      for (const state of this.#jobs.values()) state.cancelAll('the scheduler is stopping');
      ({ drained } = await this.#executor.drain({ deadline: 5_000 }));
    }
    await Promise.allSettled([...this.#inflight]);
    this.#coordinator = undefined;
    await coordinator?.stop().catch((error: unknown) => this.#reportError('stop', error));
    await this.#history?.flushStatistics().catch((error: unknown) => this.#reportError('stop', error));
    this.#heap.clear();
    this.#started = false;
    this.#stopping = false;
    this.#resigning = false;
    this.#events.emit('scheduler_stopped', { workerId: this.#workerId, drained });
  }

  // ── Jobs ────────────────────────────────────────────────────────────────────────────────────

  async addJob(name: string, config: JobConfig<Db>): Promise<void> {
    checkJobName(name, 'addJob');
    if (this.#jobs.has(name)) {
      throw new SchedulerError(`Job already exists: ${name}`, {
        code: 'JOB_EXISTS',
        operation: 'addJob',
        metadata: { jobName: name, existingJobs: [...this.#jobs.keys()].slice(0, 50) },
        suggestion: 'Use updateJob() to change it, or removeJob() first.',
      });
    }
    const state = new JobState(
      normalizeJob(name, config as JobConfig, this.#options, 'addJob'),
      config as JobConfig,
    );
    this.#jobs.set(name, state);
    state.since = this.#clock.now();
    if (!this.#started) return;
    this.#schedule(state, state.since);
    // Remember cluster-wide when the job appeared, so its first slots are caught up even if the
    // instance that added it dies before they come. Best effort: the job runs either way.
    const since = state.since;
    await this.#documents!.update(name, (doc) => {
      if (doc.since !== undefined) return false;
      doc.since = since;
      return true;
    })
      .then((doc) => {
        state.document = doc;
      })
      .catch((error: unknown) => this.#reportError('addJob', error, name));
  }

  async removeJob(name: string): Promise<void> {
    checkJobName(name, 'removeJob');
    const state = this.#job(name, 'removeJob');
    state.removed = true;
    this.#jobs.delete(name);
    this.#rearm();
  }

  /**
   * Changes a job; the schedule takes effect from now. Every option but `action` is stored in
   * the job's shared document, so the leader takes the change up wherever it runs (within a
   * heartbeat); a new `action` applies to this instance only (code cannot be stored).
   */
  async updateJob(name: string, updates: Partial<JobConfig<Db>>): Promise<void> {
    updates = checkUpdateArguments(name, updates) as Partial<JobConfig<Db>>;
    const state = this.#job(name, 'updateJob');
    if (typeof updates !== 'object' || updates === null) {
      throw new SchedulerError(`updateJob('${name}') needs an object of changes`, {
        code: 'INVALID_OPTION',
        operation: 'updateJob',
        metadata: { jobName: name, value: typeof updates },
        suggestion: "Pass the options to change, such as { schedule: '0 4 * * *' }.",
      });
    }
    const { action, ...stored } = updates;
    const config = { ...state.config, ...(action === undefined ? {} : { action }) } as JobConfig;
    const overrides = { ...state.document?.overrides, ...stored } as JobOverrides;
    const def = normalizeJob(name, { ...config, ...overrides }, this.#options, 'updateJob');
    state.replace(def, config);
    if (Object.keys(stored).length > 0) {
      await this.#ensureHistory();
      state.document = await this.#documents!.update(name, (doc) => {
        doc.overrides = { ...doc.overrides, ...stored };
        return true;
      });
    }
    if (this.#started) this.#schedule(state, this.#clock.now());
  }

  async enableJob(name: string): Promise<void> {
    checkJobName(name, 'enableJob');
    await this.updateJob(name, { enabled: true });
  }

  async disableJob(name: string): Promise<void> {
    checkJobName(name, 'disableJob');
    await this.updateJob(name, { enabled: false });
  }

  /** Pauses a job cluster-wide, with a note, until `resumeJob()`; `runJob` still works. */
  async pauseJob(name: string, note = 'Paused by pauseJob()'): Promise<void> {
    checkPauseArguments(name, note);
    const state = this.#job(name, 'pauseJob');
    await this.#ensureHistory();
    state.document = await this.#documents!.update(name, (doc) => {
      doc.paused = true;
      doc.pausedNote = note;
      return true;
    });
    if (this.#started) this.#schedule(state, this.#clock.now());
    this.#events.emit('plg:scheduler:job-paused', { jobName: name, note, workerId: this.#workerId });
  }

  /** Ends a pause (from `pauseJob()` or `pauseOnFailure`) and resets the failure streak. */
  async resumeJob(name: string): Promise<void> {
    checkJobName(name, 'resumeJob');
    const state = this.#job(name, 'resumeJob');
    await this.#ensureHistory();
    state.document = await this.#documents!.update(name, (doc) => {
      doc.paused = false;
      doc.pausedNote = null;
      doc.consecutiveFailures = 0;
      return true;
    });
    if (this.#started) this.#schedule(state, this.#clock.now());
    this.#events.emit('plg:scheduler:job-resumed', { jobName: name, workerId: this.#workerId });
  }

  /**
   * Runs the job's slots in `[from, to]` that never ran, on this instance, oldest first: each
   * slot is claimed like a scheduled one, so a slot that already ran (or that another backfill
   * takes) is not run again. `overlap: 'allow'` runs them side by side (bounded by
   * `maxConcurrentJobs`); otherwise one after the other.
   */
  async backfill(
    name: string,
    options: { from: Date | string | number; to: Date | string | number; overlap?: 'allow' | 'buffer-all' },
  ): Promise<BackfillResult> {
    options = checkBackfillArguments(name, options);
    const state = this.#job(name, 'backfill');
    const from = parseInstant(options?.from, 'from', 'backfill');
    const to = parseInstant(options?.to, 'to', 'backfill');
    if (!state.def.cron || to < from) {
      throw new SchedulerError(`backfill('${name}') needs a scheduled job and from ≤ to`, {
        code: 'INVALID_OPTION',
        operation: 'backfill',
        metadata: { jobName: name, from: options?.from, to: options?.to, schedule: state.def.schedule },
        suggestion: 'Pass { from, to } as dates with from before to, for a job that has a schedule.',
      });
    }
    const slots = slotsBetween(state.def, from - 1, to, MAX_BACKFILL_SLOTS + 1);
    if (slots.length > MAX_BACKFILL_SLOTS) {
      throw new SchedulerError(`backfill('${name}') covers more than ${MAX_BACKFILL_SLOTS} slots`, {
        code: 'INVALID_OPTION',
        operation: 'backfill',
        metadata: { jobName: name, from: new Date(from).toISOString(), to: new Date(to).toISOString() },
        suggestion: `Split the range into pieces of at most ${MAX_BACKFILL_SLOTS} slots.`,
      });
    }
    const history = await this.#ensureHistory();
    const runOne = async (slot: number): Promise<BackfillResult['runs'][number]> => {
      const claim = await history.claim({
        job: name,
        slot,
        trigger: 'backfill',
        workerId: this.#workerId,
        epoch: this.getEpoch(),
        startedAt: this.#clock.now(),
      });
      const iso = new Date(slot).toISOString();
      if (!claim.claimed) return { slot: iso, status: 'already-ran' };
      const outcome = await this.#execute(state, claim.run);
      return { slot: iso, status: outcome.status, runId: claim.run.record.runId };
    };
    const runs: BackfillResult['runs'] = [];
    if (options.overlap === 'allow') runs.push(...(await Promise.all(slots.map(runOne))));
    else for (const slot of slots) runs.push(await runOne(slot));
    return {
      slots: slots.length,
      ran: runs.filter((run) => run.status !== 'already-ran').length,
      alreadyRan: runs.filter((run) => run.status === 'already-ran').length,
      runs,
    };
  }

  /**
   * Everything about one job: definition, DST policy, the next `count` run times, recent runs
   * of every instance, runs going on now (where, under which epoch), counters, pause and buffer.
   */
  async describe(name: string, options: { count?: number; recent?: number } = {}): Promise<JobDescription> {
    options = checkDescribeArguments(name, options);
    const state = this.#job(name, 'describe');
    const history = await this.#ensureHistory();
    const def = state.def;
    const [recent, statistics] = await Promise.all([
      history.query(name, { limit: options.recent ?? 10 }),
      history.statistics(name),
    ]);
    const nextRuns: JobDescription['nextRuns'] = [];
    for (
      let slot = nextSlot(def, this.#clock.now());
      slot !== null && nextRuns.length < (options.count ?? 5);
    ) {
      nextRuns.push({
        slot: new Date(slot).toISOString(),
        fireAt: new Date(fireTime(def, slot)).toISOString(),
      });
      slot = nextSlot(def, slot);
    }
    return {
      name,
      description: def.description,
      schedule: def.schedule,
      timezone: def.timezone,
      dst: def.cron?.dst ?? null,
      enabled: def.enabled,
      paused: state.paused,
      pausedNote: state.document?.pausedNote ?? null,
      policies: {
        overlap: def.overlap,
        bufferLimit: def.bufferLimit,
        catchUp: def.catchUp,
        catchUpWindow: def.catchUpWindow,
        recovery: def.recovery,
        retries: def.retries,
        timeout: def.timeout,
        jitter: def.jitter,
        pauseOnFailure: def.pauseOnFailure,
        maxRuns: def.maxRuns,
        startAt: def.startAt === null ? null : new Date(def.startAt).toISOString(),
        endAt: def.endAt === null ? null : new Date(def.endAt).toISOString(),
      },
      nextRuns,
      recentRuns: recent.runs.map(toHistoryEntry),
      running: [
        ...[...state.running.values()].map((run) => ({
          runId: run.runId,
          slot: run.slot,
          workerId: this.#workerId,
          epoch: run.epoch,
        })),
        ...[...state.remoteRunning.values()].map((run) => ({
          runId: run.runId,
          slot: null,
          workerId: run.workerId,
          epoch: null,
        })),
      ],
      buffered: state.buffer.map((slot) => new Date(slot).toISOString()),
      counters: {
        taken: statistics.total - statistics.skipped,
        skippedForOverlap: statistics.skipped,
        missedBeyondCatchUp: state.counters.missed,
        abandoned: statistics.abandoned,
        consecutiveFailures: state.document?.consecutiveFailures ?? 0,
        runsTaken: state.document?.runsTaken ?? 0,
      },
      statistics,
    };
  }

  /** Every job with its status, as an array. */
  listJobs(): JobStatus[] {
    return [...this.#jobs.values()].map((state) => state.status());
  }

  /** The job's definition and this instance's view of its runs, or `null` for an unknown job. */
  getJobStatus(name: string): JobStatus | null {
    return this.#jobs.get(name)?.status() ?? null;
  }

  /** Every job's status, keyed by job name. */
  getAllJobsStatus(): Record<string, JobStatus> {
    return Object.fromEntries([...this.#jobs].map(([name, state]) => [name, state.status()]));
  }

  /**
   * Stored runs of a job, newest first, from any instance. `status` accepts `success` for
   * `completed`. Costs one list plus one read per returned run, whatever the size of history.
   */
  async getJobHistory(
    name: string,
    options: {
      limit?: number;
      status?: string;
      before?: Date | string | number;
      after?: Date | string | number;
    } = {},
  ): Promise<HistoryEntry[]> {
    options = checkHistoryArguments(name, options);
    const history = await this.#ensureHistory();
    const page = await history.query(name, {
      limit: Math.min(options.limit ?? 100, 1000),
      ...(options.status === undefined ? {} : { status: options.status as 'completed' }),
      ...(options.before === undefined ? {} : { before: options.before }),
      ...(options.after === undefined ? {} : { after: options.after }),
    });
    for (const error of page.errors) this.#reportError('getJobHistory', error, name);
    return page.runs.map(toHistoryEntry);
  }

  /** Per-job statistics kept in the store (all instances), without scanning history. */
  async getJobStatistics(name: string) {
    checkJobName(name, 'getJobStatistics');
    this.#job(name, 'getJobStatistics');
    const history = await this.#ensureHistory();
    return history.statistics(name);
  }

  /**
   * Runs a job now, on this instance, whether or not it is enabled or leading, and resolves
   * with the run's outcome (a failure resolves too; it never rejects for the action's error).
   * With `overlap: 'skip'`, a job already running here or on a live instance is refused with
   * `JOB_ALREADY_RUNNING`, naming where it runs.
   */
  async runJob(name: string): Promise<RunJobResult> {
    checkJobName(name, 'runJob');
    const state = this.#job(name, 'runJob');
    // Admitted before the first await: two concurrent calls cannot both pass the check below.
    const release = state.def.overlap === 'skip' ? this.#admit(state, 'runJob') : undefined;
    let outcome: RunOutcome<unknown>;
    let claim: Awaited<ReturnType<HistoryStore['claim']>>;
    try {
      const history = await this.#ensureHistory();
      if (release) await this.#refuseIfRunning(state, history);
      const runId = createRunId(this.#clock.now());
      claim = await history.claim({
        job: name,
        runId,
        trigger: 'manual',
        workerId: this.#workerId,
        epoch: this.getEpoch(),
        startedAt: this.#clock.now(),
      });
      if (!claim.claimed) {
        throw new SchedulerError(`Run ${runId} of job '${name}' could not be recorded`, {
          code: 'INTERNAL',
          operation: 'runJob',
          metadata: { jobName: name, runId },
        });
      }
      outcome = await this.#execute(state, claim.run, release);
    } finally {
      release?.();
    }
    return {
      runId: claim.run.record.runId,
      jobName: name,
      status: outcome.status,
      ...(outcome.status === 'completed' ? { result: outcome.result } : {}),
      ...(outcome.error
        ? {
            error: {
              name: outcome.error.name,
              message: outcome.error.message,
              ...(outcome.error.code ? { code: outcome.error.code } : {}),
            },
          }
        : {}),
      attempts: outcome.attempts.length,
      durationMs: outcome.durationMs,
    };
  }

  // ── Scheduling ──────────────────────────────────────────────────────────────────────────────

  /** Computes the job's next slot from `now` and queues it; the timer is re-armed. */
  #schedule(state: JobState, now: number): void {
    // Plugin-wide, not per job: a job removed and added again under the same name must not find
    // the old job's heap entries current.
    state.generation = ++this.#generations;
    const runnable = state.def.enabled && !state.paused && !state.removed;
    this.#queue(state, runnable ? nextSlot(state.def, now) : null);
    this.#rearm();
  }

  /** Puts the job's next slot in the heap, at its fire time (later than the slot with `jitter`). */
  #queue(state: JobState, slot: number | null): void {
    state.nextSlot = slot;
    state.nextAt = slot === null ? null : fireTime(state.def, slot);
    if (slot !== null && state.nextAt !== null) {
      this.#heap.push({ at: state.nextAt, slot, job: state.def.name, generation: state.generation });
    }
  }

  #rearm(): void {
    this.#wake?.abort();
  }

  /** The one timer of this instance: sleeps until the earliest due slot, never past it, never early. */
  async #timerLoop(stop: AbortSignal): Promise<void> {
    while (!stop.aborted) {
      const entry = this.#heap.peek();
      if (entry && !this.#isCurrent(entry.job, entry.generation)) {
        this.#heap.pop();
        continue;
      }
      const now = this.#clock.now();
      if (entry && entry.at <= now) {
        this.#heap.pop();
        this.#onDue(this.#jobs.get(entry.job)!, entry, now);
        continue;
      }
      const wake = new AbortController();
      this.#wake = wake;
      const wait = entry ? Math.min(entry.at - now, MAX_TIMER_SLEEP_MS) : MAX_TIMER_SLEEP_MS;
      await this.#clock.sleep(wait, wake.signal).catch(() => undefined);
    }
  }

  #isCurrent(job: string, generation: number): boolean {
    return this.#jobs.get(job)?.generation === generation;
  }

  /** A job's slot is due: queue its next one, then run what the catch-up policy selects. */
  #onDue(state: JobState, entry: DueEntry, now: number): void {
    const due = [entry.slot];
    let next = nextSlot(state.def, entry.slot);
    while (next !== null && next <= now && due.length < MAX_SLOTS) {
      due.push(next);
      next = nextSlot(state.def, next);
    }
    if (next !== null && next <= now) next = nextSlot(state.def, now);
    this.#queue(state, next);
    if (!this.isLeader()) return;
    const { run, missed } = selectDueSlots(due, state.def, now);
    this.#reportMissed(state, missed, missed.length);
    for (const slot of run) {
      void this.#track(this.#dispatch(state, slot, slot === due.at(-1) ? 'schedule' : 'catch-up'));
    }
  }

  /**
   * A slot is due on the leader: the job's overlap policy decides what happens when a run of it
   * is still going on (here or on another instance), then the slot is claimed and run.
   */
  async #dispatch(
    state: JobState,
    slot: number,
    trigger: RunTrigger,
    attempt = 1,
    runId = createRunId(this.#clock.now()),
  ): Promise<void> {
    const name = state.def.name;
    // Leadership is checked again right before claiming: a leader that was paused past its lease
    // (its timers firing late) finds out here, and leaves the slot to the new leader. A job
    // removed meanwhile (`removeJob` racing with a due slot) runs no more.
    if (this.#stopping || !this.isLeader() || state.removed) return;
    try {
      if (state.paused) {
        this.#emitSkipped(state, slot, 'paused');
        return;
      }
      // Only runs elsewhere keep it busy: read them again, one may have ended since the heartbeat.
      if (state.running.size === 0 && state.remoteRunning.size > 0)
        await recheckRemoteRuns(this.#history!, state, new Set(this.getActiveWorkers()));
      const busy = state.busy || this.#admission.held(name);
      if (busy && trigger === 'catch-up' && state.def.overlap !== 'allow') {
        // Slots caught up after an outage run one after the other, whatever the overlap policy.
        await this.#bufferSlot(state, slot, state.def.bufferLimit);
        return;
      }
      if (busy) {
        switch (state.def.overlap) {
          case 'allow':
            break;
          case 'skip':
            await this.#recordSkipped(state, slot, trigger);
            return;
          case 'buffer-one':
          case 'buffer-all':
            await this.#bufferSlot(state, slot);
            return;
          case 'cancel-other':
            await this.#cancelRunning(state, false);
            await this.#bufferSlot(state, slot);
            return;
          case 'terminate-other':
            await this.#cancelRunning(state, true);
            break;
        }
      }
      // `skip`: admitted like a manual run, so a `runJob()` starting meanwhile cannot overlap it.
      const admitted = state.def.overlap === 'skip' ? this.#admission.tryEnter(name) : undefined;
      if (state.def.overlap === 'skip' && !admitted) {
        await this.#recordSkipped(state, slot, trigger);
        return;
      }
      await this.#claimAndRun(state, slot, trigger, runId, admitted);
    } catch (error) {
      this.#reportError('dispatch', error, name);
      if (isSchedulerError(error) && error.retriable) {
        this.#later(attempt, () => {
          if (this.#clock.now() - slot > Math.max(state.def.catchUpWindow, ON_TIME_TOLERANCE_MS)) {
            this.#reportMissed(state, [slot], 1);
            return Promise.resolve();
          }
          return this.#dispatch(state, slot, trigger, attempt + 1, runId);
        });
      }
    }
  }

  /**
   * Tries `work` again after a back-off (1 s, 2 s, 4 s … 30 s) while this instance still leads:
   * a slot or a catch-up the store could not take during an outage is not dropped.
   */
  #later(attempt: number, work: () => Promise<void>): void {
    const delay = Math.min(30_000, 1000 * 2 ** (attempt - 1));
    const signal = this.#stopController?.signal;
    void this.#track(
      this.#clock.sleep(delay, signal).then(
        () => (this.#stopping || !this.isLeader() ? undefined : work()),
        () => undefined,
      ),
    );
  }

  /**
   * Claims slot `slot` of the job with a create-only write and starts it if the claim won. A
   * lost claim means another instance has it; if that instance is gone, the run is recovered.
   */
  async #claimAndRun(
    state: JobState,
    slot: number,
    trigger: RunTrigger,
    runId = createRunId(this.#clock.now()),
    admitted?: () => void,
  ): Promise<void> {
    try {
      await this.#claimAndStart(state, slot, trigger, runId, admitted);
    } finally {
      // Started runs are in `state.running` by now; anything else gave up its admission.
      admitted?.();
    }
  }

  async #claimAndStart(
    state: JobState,
    slot: number,
    trigger: RunTrigger,
    runId: string,
    admitted: (() => void) | undefined,
  ): Promise<void> {
    const history = this.#history!;
    const name = state.def.name;
    const claim = await this.#claims.run(() =>
      history.claim({
        job: name,
        slot,
        runId,
        trigger,
        workerId: this.#workerId,
        epoch: this.getEpoch(),
        startedAt: this.#clock.now(),
      }),
    );
    if (
      !claim.claimed &&
      claim.existing?.record.runId === runId &&
      claim.existing.record.status === 'running'
    ) {
      // Our own earlier attempt won, but its answer was lost in an outage: this run is ours.
      void this.#track(this.#execute(state, claim.existing, admitted));
      return;
    }
    if (!claim.claimed) {
      const holder = claim.existing?.record.workerId ?? null;
      if (holder !== this.#workerId) {
        this.#events.emit('plg:scheduler:job-lock_failed', {
          jobName: name,
          slot: new Date(slot).toISOString(),
          holder,
          workerId: this.#workerId,
        });
      }
      if (claim.existing) await this.#recoverIfOrphaned(state, claim.existing);
      return;
    }
    if (state.def.maxRuns > 0 && !(await this.#takeRun(state))) {
      await history.finish(claim.run, { status: 'skipped' });
      this.#emitSkipped(state, slot, 'max-runs');
      return;
    }
    // Not awaited: the caller (timer, catch-up sweep, buffer drain) goes on while the job runs.
    void this.#track(this.#execute(state, claim.run, admitted));
  }

  /** Counts one scheduled run against `maxRuns` in the shared document; false once exhausted. */
  async #takeRun(state: JobState): Promise<boolean> {
    let taken = false;
    state.document = await this.#documents!.update(state.def.name, (doc) => {
      if (doc.runsTaken >= state.def.maxRuns) return false;
      doc.runsTaken++;
      taken = true;
      return true;
    });
    if (!taken || state.document.runsTaken >= state.def.maxRuns) this.#schedule(state, this.#clock.now());
    return taken;
  }

  async #recordSkipped(state: JobState, slot: number, trigger: RunTrigger): Promise<void> {
    const skipped = await this.#history!.claim({
      job: state.def.name,
      slot,
      trigger,
      status: 'skipped',
      workerId: this.#workerId,
      epoch: this.getEpoch(),
      startedAt: this.#clock.now(),
    });
    if (!skipped.claimed) return;
    state.counters.skippedOverlap++;
    this.#emitSkipped(state, slot, 'overlap');
  }

  /**
   * Reports slots not run because of `catchUp`/`catchUpWindow`: one `job-skipped { reason:
   * 'missed' }` per slot, or, for a gap of more than `MAX_MISSED_EVENTS` slots, one summary event
   * for the newest with `count` (all of them) and `firstSlot` (the oldest). Counted in
   * `missedBeyondCatchUp`.
   */
  #reportMissed(
    state: JobState,
    missed: readonly number[],
    count: number,
    first: number | null = missed[0] ?? null,
  ): void {
    // A gap can be seen twice here (a late timer and the catch-up of a re-election): once is enough.
    const fresh = missed.filter((slot) => slot > state.missedThrough);
    if (count === 0 || fresh.length === 0) return;
    state.missedThrough = fresh.at(-1)!;
    if (count <= missed.length) {
      state.counters.missed += fresh.length;
      for (const slot of fresh) this.#emitSkipped(state, slot, 'missed');
      return;
    }
    state.counters.missed += count;
    this.#events.emit('plg:scheduler:job-skipped', {
      jobName: state.def.name,
      slot: new Date(missed.at(-1)!).toISOString(),
      reason: 'missed',
      workerId: this.#workerId,
      count,
      firstSlot: new Date(first ?? missed[0]!).toISOString(),
    });
  }

  #emitSkipped(
    state: JobState,
    slot: number,
    reason: SchedulerEvents['plg:scheduler:job-skipped']['reason'],
  ): void {
    this.#events.emit('plg:scheduler:job-skipped', {
      jobName: state.def.name,
      slot: new Date(slot).toISOString(),
      reason,
      workerId: this.#workerId,
    });
  }

  /**
   * Keeps the slot in the job's shared buffer until the running run ends: `buffer-one` keeps
   * only the newest waiting slot, `buffer-all` up to `bufferLimit` (the oldest beyond it are
   * recorded skipped). The buffer is in the store, so a new leader finds it.
   */
  async #bufferSlot(
    state: JobState,
    slot: number,
    limit = state.def.overlap === 'buffer-all' ? state.def.bufferLimit : 1,
  ): Promise<void> {
    const dropped: number[] = [];
    state.document = await this.#documents!.update(state.def.name, (doc) => {
      if (doc.buffer.includes(slot)) return false;
      doc.buffer.push(slot);
      while (doc.buffer.length > limit) dropped.push(doc.buffer.shift()!);
      return true;
    });
    this.#events.emit('plg:scheduler:job-buffered', {
      jobName: state.def.name,
      slot: new Date(slot).toISOString(),
      waiting: state.buffer.length,
      workerId: this.#workerId,
    });
    for (const old of dropped) await this.#recordSkipped(state, old, 'schedule');
    await this.#drainBuffer(state);
  }

  /** Starts the oldest buffered slot once no run of the job is going on anywhere (leader only). */
  async #drainBuffer(state: JobState): Promise<void> {
    const busy = state.busy || this.#admission.held(state.def.name);
    if (!this.isLeader() || busy || state.draining || state.buffer.length === 0 || this.#stopping) return;
    // One drain at a time per job: two would each take a slot, and one would find the job busy.
    state.draining = true;
    try {
      let slot: number | undefined;
      state.document = await this.#documents!.update(state.def.name, (doc) => {
        slot = doc.buffer.shift();
        return slot !== undefined;
      });
      if (slot === undefined) return;
      if (state.busy || this.#admission.held(state.def.name) || !this.isLeader()) {
        // Something started meanwhile: the slot goes back to the head of the queue.
        const back = slot;
        state.document = await this.#documents!.update(state.def.name, (doc) => {
          doc.buffer.unshift(back);
          return true;
        });
        return;
      }
      // A slot that waited (caught up behind a running run, or in an overlap buffer) is late:
      // recorded `catch-up` like every slot claimed past its time, `schedule` when still on time.
      const late = this.#clock.now() - fireTime(state.def, slot) > ON_TIME_TOLERANCE_MS;
      await this.#claimAndRun(state, slot, late ? 'catch-up' : 'schedule');
    } finally {
      state.draining = false;
    }
  }

  /**
   * Aborts the job's running runs: here through their controllers, elsewhere through a cancel
   * request the running instance reads within a heartbeat. `terminate` also records a remote
   * run `cancelled` at once (its holder's later writes are then refused) instead of waiting.
   */
  async #cancelRunning(state: JobState, terminate: boolean): Promise<void> {
    const reason = new SchedulerError(`Run cancelled by a newer slot of job '${state.def.name}'`, {
      code: 'JOB_CANCELLED',
      operation: terminate ? 'terminate-other' : 'cancel-other',
      metadata: { jobName: state.def.name },
    });
    for (const run of state.running.values()) run.controller.abort(reason);
    for (const remote of state.remoteRunning.values()) {
      await this.#markers!.requestCancel(remote.workerId, remote.runId);
      if (!terminate) continue;
      const handle = await this.#history!.read(remote.key);
      if (handle?.record.status === 'running') {
        await this.#history!.finish(handle, { status: 'cancelled', error: reason }).catch(
          (error: unknown) => {
            if (!isPreconditionFailed(error)) throw error;
          },
        );
      }
      state.removeRemoteRun(remote.runId);
    }
  }

  /**
   * A slot found `running` under an instance that is no longer alive was orphaned by a crash:
   * it is recorded `abandoned`, or claimed again for another attempt with `recovery: 'rerun'`.
   * Only the leader decides, and only about instances the coordinator no longer sees.
   */
  async #recoverIfOrphaned(state: JobState, existing: RunHandle): Promise<void> {
    const record = existing.record;
    if (record.status !== 'running' || !this.#coordinator || !this.isLeader()) return;
    if (record.workerId === this.#workerId && state.running.has(record.runId)) return;
    if (this.#holderAlive(record)) return;
    const history = this.#history!;
    const action = state.def.recovery;
    try {
      if (action === 'rerun') {
        const reclaimed = await history.reclaim(existing, {
          workerId: this.#workerId,
          epoch: this.getEpoch(),
        });
        state.counters.abandoned++;
        this.#emitAbandoned(record, action);
        void this.#track(this.#execute(state, reclaimed));
        return;
      }
      await history.finish(existing, {
        status: 'abandoned',
        error: new SchedulerError(`Instance ${record.workerId} stopped while running this slot`, {
          code: 'JOB_CANCELLED',
          operation: 'recover',
          metadata: { workerId: record.workerId, runId: record.runId },
        }),
      });
      state.counters.abandoned++;
      this.#emitAbandoned(record, action);
    } catch (error) {
      if (!isPreconditionFailed(error)) this.#reportError('recover', error, state.def.name);
    }
  }

  #emitAbandoned(record: RunHandle['record'], action: 'abandon' | 'rerun'): void {
    this.#events.emit('plg:scheduler:job-abandoned', {
      jobName: record.job,
      slot: record.slot,
      runId: record.runId,
      previousWorkerId: record.workerId,
      action,
    });
  }

  /** Runs a claimed record through the executor, records the outcome and emits the events. */
  async #execute(state: JobState, handle: RunHandle, admitted?: () => void): Promise<RunOutcome<unknown>> {
    const def = state.def;
    const record = handle.record;
    const controller = new AbortController();
    const scheduledTime = record.slot ? Date.parse(record.slot) : Date.parse(record.startedAt);
    state.addRun({
      runId: record.runId,
      controller,
      slot: record.slot,
      epoch: record.epoch ?? 0,
    });
    // Registered as running: from here `state.running` keeps other runs out, not the admission.
    admitted?.();
    state.counters.lastRunAt = this.#clock.now();
    const context: JobContext = {
      ...def.context,
      jobName: def.name,
      slot: record.slot,
      scheduledTime,
      startTime: this.#clock.now(),
      runId: record.runId,
      executionId: record.runId,
      attempt: record.attempts,
      epoch: record.epoch ?? 0,
      signal: controller.signal,
      idempotencyKey: `${encodeKeySegment(def.name)}:${record.slot ?? record.runId}`,
      trigger: record.trigger,
      workerId: this.#workerId,
    };
    const database = this.#database;
    // A run started away from the leader (or on a leader handing over) announces itself, so the
    // leader's overlap policy sees it.
    const marker = markerOf(record, this.#workerId);
    const marked = !this.isLeader() || this.#resigning;
    if (marked)
      await this.#markers
        ?.markActive(marker)
        .catch((error: unknown) => this.#reportError('marker', error, def.name));
    let outcome: RunOutcome<unknown>;
    try {
      // A re-run after a crash continues the attempt count of the run it takes over.
      const offset = record.attempts - 1;
      outcome = await this.#executor.run(
        (ctx) => def.action(database, offset === 0 ? ctx : { ...ctx, attempt: ctx.attempt + offset }, this),
        {
          retries: def.retries,
          timeout: def.timeout,
          signal: controller.signal,
          context,
          ...(def.backoff ? { backoff: def.backoff } : {}),
        },
      );
    } finally {
      state.removeRun(record.runId);
    }
    if (this.#markedForHandOver.delete(record.runId) || marked)
      await this.#markers
        ?.clearActive(marker)
        .catch((error: unknown) => this.#reportError('marker', error, def.name));
    // Recording yields to the event loop first: slots due now are claimed and started before
    // runs that just ended are written, which keeps a burst of due slots on time.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const base = eventBase(context);
    const error = outcome.status === 'completed' ? undefined : toError(outcome);
    state.counters.record(outcome, this.#clock.now());
    await this.#record(handle, {
      status: outcome.status,
      ...(outcome.status === 'completed' && this.#options.persistJobs ? { result: outcome.result } : {}),
      ...(error ? { error } : {}),
      attempts: record.attempts - 1 + outcome.attempts.length,
      durationMs: outcome.durationMs,
      finishedAt: outcome.finishedAt,
    });
    if (outcome.status === 'completed') {
      this.#events.emit('plg:scheduler:job-completed', {
        ...base,
        status: 'completed',
        result: outcome.result,
        duration: outcome.durationMs,
        attempts: outcome.attempts.length,
      });
    } else {
      this.#events.emit('plg:scheduler:job-failed', {
        ...base,
        status: outcome.status,
        error: error!,
        duration: outcome.durationMs,
        attempts: outcome.attempts.length,
        attempt: outcome.attempts.length,
      });
    }
    await this.#countFailures(state, outcome).catch((countError: unknown) =>
      this.#reportError('pause', countError, def.name),
    );
    await this.#drainBuffer(state).catch((drainError: unknown) =>
      this.#reportError('buffer', drainError, def.name),
    );
    return outcome;
  }

  /**
   * Writes a run's final state. A store outage does not leave it `running`: the write is tried
   * again with back-off until it lands, is refused because the run was taken over (fenced), or
   * the scheduler stops (then the next leader records the run `abandoned`).
   */
  async #record(handle: RunHandle, outcome: FinishInput): Promise<void> {
    const history = this.#history!;
    for (let attempt = 1; ; attempt++) {
      try {
        await history.finish(handle, outcome);
        return;
      } catch (error) {
        this.#reportError('finish', error, handle.record.job);
        if (!isSchedulerError(error) || !error.retriable || attempt >= 12) return;
        const signal = this.#stopController?.signal;
        if (signal?.aborted) return;
        const waited = await this.#clock.sleep(Math.min(30_000, 1000 * 2 ** (attempt - 1)), signal).then(
          () => true,
          () => false,
        );
        if (!waited) return;
      }
    }
  }

  /**
   * `pauseOnFailure: N`: consecutive failed runs are counted in the shared document (a write per
   * failure, none per success unless a streak ends); the Nth pauses the job with a note.
   */
  async #countFailures(state: JobState, outcome: RunOutcome<unknown>): Promise<void> {
    const limit = state.def.pauseOnFailure;
    if (limit === 0 || outcome.status === 'cancelled') return;
    const failed = outcome.status !== 'completed';
    if (!failed && (state.document?.consecutiveFailures ?? 0) === 0) return;
    const wasPaused = state.paused;
    state.document = await this.#documents!.update(state.def.name, (doc) => {
      if (!failed) {
        if (doc.consecutiveFailures === 0) return false;
        doc.consecutiveFailures = 0;
        return true;
      }
      doc.consecutiveFailures++;
      if (doc.consecutiveFailures >= limit && !doc.paused) {
        doc.paused = true;
        doc.pausedNote = `Paused after ${doc.consecutiveFailures} consecutive failed runs; last error: ${outcome.error?.message ?? outcome.status}`;
      }
      return true;
    });
    if (state.paused && !wasPaused) {
      this.#schedule(state, this.#clock.now());
      this.#events.emit('plg:scheduler:job-paused', {
        jobName: state.def.name,
        note: state.document.pausedNote ?? '',
        workerId: this.#workerId,
      });
    }
  }

  /**
   * Admits one run of a `skip` job on this instance (see `RunAdmission`), or throws
   * `JOB_ALREADY_RUNNING` when a run of it is running or being started here.
   */
  #admit(state: JobState, operation: string): () => void {
    const name = state.def.name;
    const release = state.running.size === 0 ? this.#admission.tryEnter(name) : undefined;
    if (release) return release;
    throw new SchedulerError(`Job '${name}' is already running on this instance`, {
      code: 'JOB_ALREADY_RUNNING',
      operation,
      metadata: {
        jobName: name,
        runId: [...state.running.keys()][0] ?? null,
        workerId: this.#workerId,
      },
      suggestion: "Wait for the run to finish, or set overlap: 'allow' on the job.",
    });
  }

  /** Refuses a manual run while the job runs on an instance that is still alive. */
  async #refuseIfRunning(state: JobState, history: HistoryStore): Promise<void> {
    const name = state.def.name;
    const local = [...state.running.keys()][0];
    let elsewhere: { runId: string; workerId: string | null } | undefined;
    if (!local) {
      const page = await history.query(name, { status: 'running', limit: 5 });
      const alive = new Set(this.getActiveWorkers());
      const found = page.runs.find((run) => run.workerId !== null && alive.has(run.workerId));
      if (found) elsewhere = { runId: found.runId, workerId: found.workerId };
    }
    if (!local && !elsewhere) return;
    const where = local ? 'on this instance' : `on instance ${elsewhere!.workerId}`;
    throw new SchedulerError(`Job '${name}' is already running ${where}`, {
      code: 'JOB_ALREADY_RUNNING',
      operation: 'runJob',
      metadata: {
        jobName: name,
        runId: local ?? elsewhere!.runId,
        workerId: local ? this.#workerId : elsewhere!.workerId,
      },
      suggestion: "Wait for the run to finish, or set overlap: 'allow' on the job.",
    });
  }

  // ── Leadership ──────────────────────────────────────────────────────────────────────────────

  /**
   * This instance has just become leader: slots that passed while nobody led are caught up
   * under each job's policy (a claim per slot; slots that already ran lose their claim and
   * nothing runs twice), orphaned runs are recovered, and `runOnStart` jobs run once.
   */
  async #onPromoted(): Promise<void> {
    // Runs still going elsewhere (a predecessor handing over marks its own) count for overlap
    // before anything is dispatched.
    await this.#followRemoteRuns().catch((error: unknown) => this.#reportError('maintenance', error));
    const work: Array<() => Promise<void>> = [];
    const now = this.#clock.now();
    // Every job is looked at once (its runs may have been orphaned whenever), those due lately
    // first: their catch-up is the one that cannot wait.
    const jobs = [...this.#jobs.values()].filter((state) => state.def.cron && state.def.enabled);
    const recent = jobs.filter((state) => recentlyDue(state.def, now));
    const rest = jobs.filter((state) => !recentlyDue(state.def, now));
    for (const state of [...recent, ...rest]) work.push(() => this.#catchUp(state));
    if (!this.#ranOnStart) {
      this.#ranOnStart = true;
      for (const state of this.#jobs.values()) {
        if (state.def.runOnStart && state.def.enabled) {
          work.push(async () => {
            const history = this.#history!;
            const claim = await history.claim({
              job: state.def.name,
              runId: createRunId(this.#clock.now()),
              trigger: 'run-on-start',
              workerId: this.#workerId,
              epoch: this.getEpoch(),
              startedAt: this.#clock.now(),
            });
            if (claim.claimed) void this.#track(this.#execute(state, claim.run));
          });
        }
      }
    }
    await runWithConcurrency(work, SWEEP_CONCURRENCY);
  }

  /**
   * Catch-up of one job on promotion. The job's newest stored runs tell what happened before:
   * a job with no history is new to this store and has missed nothing; otherwise the slots
   * after its newest recorded slot, inside `catchUpWindow`, are claimed under the policy. A
   * newest slot still `running` under a vanished instance is recovered.
   */
  async #catchUp(state: JobState, attempt = 1): Promise<void> {
    const name = state.def.name;
    try {
      const history = this.#history!;
      const page = await history.query(name, { limit: 3 });
      await this.#recoverRuns(state, page.runs);
      for (const run of page.runs) {
        // Runs still going on another live instance (a demoted leader's, a manual one) count for
        // overlap; those `#recoverRuns` just took for orphans (the same test) do not.
        if (run.status === 'running' && this.#holderAlive(run)) {
          state.addRemoteRun({ runId: run.runId, key: run.key, workerId: run.workerId! });
        }
      }
      const newest = page.runs.find((run) => run.slot !== null);
      // After the newest scheduled run in the store; a job without one (new to this store, or
      // only run by hand) has missed the slots since this instance registered it, no earlier.
      const after = newest
        ? Date.parse(newest.slot!)
        : Math.min(state.since, state.document?.since ?? Infinity);
      const plan = catchUpPlan(state.def, this.#clock.now(), after);
      if (this.#stopping || !this.isLeader()) return;
      this.#reportMissed(state, plan.missed, plan.missedCount, plan.firstMissed);
      for (const slot of plan.run) {
        if (this.#stopping || !this.isLeader()) return;
        await this.#dispatch(state, slot, 'catch-up');
      }
      await this.#drainBuffer(state);
    } catch (error) {
      this.#reportError('catch-up', error, name);
      if (isSchedulerError(error) && error.retriable)
        this.#later(attempt, () => this.#catchUp(state, attempt + 1));
    }
  }

  /** Recovers the `running` records among `runs` whose instance is gone (see `#recoverIfOrphaned`). */
  async #recoverRuns(state: JobState, runs: readonly RunRecord[]): Promise<void> {
    for (const run of runs) {
      if (run.status !== 'running' || this.#holderAlive(run)) continue;
      const handle = await this.#history!.read(run.key);
      if (handle) await this.#recoverIfOrphaned(state, handle);
    }
  }

  /**
   * Whether the instance holding a `running` record may still be running it: another instance
   * the coordinator sees alive — except the leader this one took over from, for runs it claimed
   * under an older epoch: its lease ran out or was given up, so its runs are orphans even while
   * its last heartbeat still looks fresh. A leader that released its lease (a graceful stop) is
   * the exception: it heartbeats on while it drains its runs, and they are its own until it is gone.
   */
  #holderAlive(record: RunRecord): boolean {
    if (record.workerId === null || record.workerId === this.#workerId) return false;
    if (
      record.workerId === this.#previousLeader &&
      (record.epoch ?? 0) < this.getEpoch() &&
      !this.#coordinator?.tookOverByRelease(record.workerId)
    )
      return false;
    return this.getActiveWorkers().includes(record.workerId);
  }

  /** Whether an instance seen alive at the last heartbeat is gone (noted as follower too). */
  #noteDepartures(): boolean {
    const active = new Set(this.getActiveWorkers());
    const departed = [...this.#lastActive].some((workerId) => !active.has(workerId));
    this.#lastActive = active;
    return departed;
  }

  /**
   * When instances leave the cluster, the leader looks again at the jobs that were due lately,
   * for runs those instances left `running`: a holder that died just before a promotion still
   * looked alive then, and a run whose final write failed stays `running` until recovered.
   */
  async #recoverDeparted(): Promise<void> {
    const now = this.#clock.now();
    const work: Array<() => Promise<void>> = [];
    for (const state of this.#jobs.values()) {
      if (!state.def.cron || !recentlyDue(state.def, now)) continue;
      work.push(async () => {
        const page = await this.#history!.query(state.def.name, { limit: 10, status: 'running' });
        await this.#recoverRuns(state, page.runs);
      });
    }
    await runWithConcurrency(work, SWEEP_CONCURRENCY);
  }

  /**
   * Every heartbeat: flush statistics, take up job changes made on other instances, act on
   * cancel requests for runs here; the leader also follows runs elsewhere, drains buffers and
   * applies retention every `cleanupInterval`.
   */
  async #maintenanceLoop(stop: AbortSignal): Promise<void> {
    while (!stop.aborted) {
      await this.#clock.sleep(this.#options.heartbeatInterval, stop).catch(() => undefined);
      if (stop.aborted) return;
      await this.#maintain().catch((error: unknown) => this.#reportError('maintenance', error));
    }
  }

  async #maintain(): Promise<void> {
    // Statistics are batched in history (every 10 runs of a job, or at its next run after a
    // minute); here only deltas left waiting long (a job that stopped running) are written.
    await this.#history
      ?.flushStatistics({ pendingForMs: STATS_MAX_PENDING_MS })
      .catch((error: unknown) => this.#reportError('statistics', error));
    await this.#syncDocuments();
    if ([...this.#jobs.values()].some((state) => state.running.size > 0)) {
      for (const runId of await this.#markers!.takeCancelRequests(this.#workerId)) {
        for (const state of this.#jobs.values()) {
          state.running.get(runId)?.controller.abort(
            new SchedulerError(`Run ${runId} cancelled by the leader`, {
              code: 'JOB_CANCELLED',
              operation: 'cancel',
            }),
          );
        }
      }
    }
    const departed = this.#noteDepartures();
    if (!this.isLeader()) return;
    if (departed) await this.#recoverDeparted();
    await this.#followRemoteRuns();
    for (const state of this.#jobs.values()) await this.#drainBuffer(state);
    await this.#applyRetention();
  }

  /** Takes up job documents other instances wrote: overrides, pause, buffer, removal. */
  async #syncDocuments(): Promise<void> {
    const corrupted = (error: SchedulerError) =>
      this.#reportError('syncJob', error, error.metadata?.jobName as string | undefined);
    for (const doc of await this.#documents!.changed(corrupted)) {
      const state = this.#jobs.get(doc.name);
      if (state) this.#applyDocument(state, doc);
    }
  }

  #applyDocument(state: JobState, doc: JobDocument): void {
    const before = JSON.stringify(state.document?.overrides ?? {});
    state.document = doc;
    if (JSON.stringify(doc.overrides) !== before) {
      try {
        const config = { ...state.config, ...doc.overrides } as JobConfig;
        state.def = normalizeJob(state.def.name, config, this.#options, 'syncJob');
      } catch (error) {
        this.#reportError('syncJob', error, state.def.name);
      }
    }
    if (this.#started) this.#schedule(state, this.#clock.now());
  }

  /** Refreshes which runs execute on other instances: `active/` markers and known remote records. */
  async #followRemoteRuns(): Promise<void> {
    await followRemoteRuns({
      history: this.#history!,
      markers: this.#markers!,
      jobs: this.#jobs,
      alive: new Set(this.getActiveWorkers()),
      workerId: this.#workerId,
      onError: (error, jobName) => this.#reportError('marker', error, jobName),
    });
  }

  /** A leader about to hand over marks its runs active (see `markRunsForHandOver`). */
  async #markForHandOver(): Promise<void> {
    this.#resigning = true;
    const onError = (error: unknown, jobName: string) => this.#reportError('marker', error, jobName);
    await markRunsForHandOver(this.#markers!, this.#jobs, this.#workerId, this.#markedForHandOver, onError);
  }

  async #applyRetention(): Promise<void> {
    const now = this.#clock.now();
    if (this.#options.historyRetention === 0 || this.#options.cleanupInterval === 0) return;
    if (this.#lastCleanupAt !== undefined && now - this.#lastCleanupAt < this.#options.cleanupInterval)
      return;
    this.#lastCleanupAt = now;
    try {
      const olderThan = now - this.#options.historyRetention;
      const result = await this.#history!.cleanup({ olderThan });
      this.#events.emit('plg:scheduler:history-cleanup', {
        deleted: result.deleted,
        partitions: result.partitions,
        olderThan: new Date(olderThan).toISOString(),
      });
    } catch (error) {
      this.#reportError('cleanup', error);
    }
  }

  // ── Plumbing ────────────────────────────────────────────────────────────────────────────────

  #job(name: string, operation: string): JobState {
    const state = this.#jobs.get(name);
    if (state) return state;
    throw new SchedulerError(`Job not found: ${name}`, {
      code: 'JOB_NOT_FOUND',
      operation,
      metadata: { jobName: name, availableJobs: [...this.#jobs.keys()].slice(0, 50) },
      suggestion: 'Check the name against listJobs(), or add the job with addJob().',
    });
  }

  #ensureStore(): Promise<ObjectStore> {
    if (this.#store) return Promise.resolve(this.#store);
    this.#storeReady ??= (async () => {
      const store = await this.#openStore();
      this.#store = store;
      return store;
    })().finally(() => {
      this.#storeReady = undefined;
    });
    return this.#storeReady;
  }

  /** Drops the store and what was built on it, so the next use opens it again. */
  #forgetStore(): void {
    this.#store = undefined;
    this.#history = undefined;
    this.#documents = undefined;
    this.#markers = undefined;
    this.#storeSource = undefined;
  }

  /**
   * Which store: an explicit `store`, then an explicit `connectionString`, then the host
   * database's own bucket (s3db.js: its key prefix plus `keyPrefix`), then the embedded default.
   */
  async #openStore(): Promise<ObjectStore> {
    const clock = this.#clock;
    const host = readHostStorage(this.#database, this.#options.keyPrefix);
    if (this.#options.store) {
      this.#storeSource = 'given';
      return openStore(this.#options.store, { clock, prefix: this.#options.keyPrefix });
    }
    if (this.#given.connectionString) {
      this.#storeSource = 'given';
      return connect(this.#options.connectionString, { clock });
    }
    if (host && host.kind !== 'unsupported') {
      this.#storeSource = 'host';
      return openHostStore(host, clock);
    }
    this.#storeSource = 'default';
    return connect(this.#options.connectionString, { clock });
  }

  /**
   * The memory store is process-local: in a host database whose storage other processes share,
   * each process would run every slot. That is refused; a plain single-process start on it is
   * announced once through the logger.
   */
  #checkProcessLocal(store: ObjectStore): void {
    if (!isProcessLocal(store)) return;
    // Read again: the host may have been installed after the store was opened.
    const host = readHostStorage(this.#database, this.#options.keyPrefix);
    if (host && host.kind !== 'memory') {
      throw new SchedulerError(
        `The scheduler would run on the process-local memory store (${store.description}) while its host database keeps its data in ${host.describe}: every process would run every slot`,
        {
          code: 'STORE_UNSAFE',
          operation: 'start',
          metadata: { store: store.description, host: host.describe },
          suggestion:
            host.kind === 's3'
              ? "Remove the memory 'store'/'connectionString' option so the scheduler uses the database's bucket, or pass connectionString: 's3://key:secret@bucket/prefix?endpoint=…'."
              : "This host backend cannot be shared by the scheduler: pass connectionString: 's3://key:secret@bucket/prefix?endpoint=…' (or a 'store') that every process reaches.",
        },
      );
    }
    if (this.#storeSource !== 'given' || this.#given.connectionString) {
      if (this.#toldProcessLocal) return;
      this.#toldProcessLocal = true;
      this.#options.logger?.warn(
        `[s3-scheduler] running on the embedded store ${store.description}: it lives in this process only, so instances in other processes do not share its jobs' runs. For several processes, pass connectionString: 's3://…' or install the plugin into an s3db.js database on S3.`,
      );
    }
  }

  async #ensureHistory(): Promise<HistoryStore> {
    if (this.#history) return this.#history;
    const store = await this.#ensureStore();
    this.#documents ??= new JobDocuments(
      store,
      () => this.#clock.now(),
      (error) => this.#reportError('syncJob', error, error.metadata?.jobName as string | undefined),
    );
    this.#markers ??= new RunMarkers(store);
    this.#history ??= new HistoryStore({
      store,
      clock: this.#clock,
      prefix:
        this.#options.historyResource === 'plg:scheduler:job-history'
          ? 'history/'
          : `${encodeKeySegment(this.#options.historyResource)}/`,
      onError: (error) => this.#reportError('history', error),
    });
    return this.#history;
  }

  #createCoordinator(store: ObjectStore): Coordinator {
    const coordinator = new Coordinator({
      store,
      workerId: this.#workerId,
      clock: this.#clock,
      heartbeatInterval: this.#options.heartbeatInterval,
      ...(this.#options.leaseDuration === undefined ? {} : { leaseMs: this.#options.leaseDuration }),
      ...(this.#options.leaseCheckInterval === undefined
        ? {}
        : { leaseCheckInterval: this.#options.leaseCheckInterval }),
      coldStartObservationWindow: this.#options.coldStartObservationWindow,
      // The cold-start window waits for the heartbeats of instances in other processes; on a
      // process-local store there are none, so unless asked for, the embedded default leads at once.
      skipColdStart: this.#options.skipColdStart || (!this.#given.coldStart && isProcessLocal(store)),
    });
    coordinator.on('coordinator-elected', (payload) => {
      if (payload.workerId === this.#workerId) {
        this.#previousLeader = payload.previousWorkerId ?? this.#lastSeenLeader;
      }
      this.#lastSeenLeader = payload.workerId;
      this.#events.emit('plg:scheduler:coordinator-elected', payload);
    });
    coordinator.on('coordinator-demoted', (payload) =>
      this.#events.emit('plg:scheduler:coordinator-demoted', payload),
    );
    coordinator.on('coordinator-promoted', (payload) => {
      this.#events.emit('plg:scheduler:coordinator-promoted', payload);
      if (!this.#stopping) void this.#track(this.#onPromoted());
    });
    coordinator.on('coordinator-error', (payload) => this.#reportError('coordinator', payload.error));
    return coordinator;
  }

  #createExecutor(): Executor<JobContext> {
    return new Executor<JobContext>({
      clock: this.#clock,
      maxConcurrent: this.#options.maxConcurrentJobs,
      onAttemptStart: ({ attempt, startedAt, context }) => {
        if (!context) return;
        this.#events.emit('plg:scheduler:job-started', {
          ...eventBase(context),
          attempt,
          startTime: startedAt,
        });
      },
      onRetry: ({ attempt, delayMs, error, context }) => {
        if (!context) return;
        this.#events.emit('plg:scheduler:job-retry', {
          ...eventBase(context),
          attempt,
          delay: delayMs,
          error: Object.assign(new Error(error?.message ?? 'failed'), {
            name: error?.name ?? 'Error',
            code: error?.code,
          }),
        });
      },
      onTimeout: ({ attempt, timeoutMs, context }) => {
        if (!context) return;
        this.#events.emit('plg:scheduler:job-timeout', {
          ...eventBase(context),
          attempt,
          timeout: timeoutMs,
        });
      },
      onCallbackError: (error) => this.#reportError('callback', error),
    });
  }

  #track<T>(work: Promise<T>): Promise<T> {
    this.#inflight.add(work);
    void work.finally(() => this.#inflight.delete(work)).catch(() => undefined);
    return work;
  }

  #reportError(operation: string, error: unknown, jobName?: string): void {
    const asError = error instanceof Error ? error : new Error(String(error));
    if (this.#events.has('plg:scheduler:error')) {
      this.#events.emit('plg:scheduler:error', {
        operation,
        error: asError,
        ...(jobName ? { jobName } : {}),
      });
    } else {
      const code = isSchedulerError(error) ? ` [${error.code}]` : '';
      this.#options.logger?.warn(
        `[s3-scheduler] ${operation}${jobName ? ` '${jobName}'` : ''}${code}: ${asError.message}`,
      );
    }
  }
}
