import { checkFunction, createWorkerId, SchedulerError } from '@s3-scheduler/core';
import type { Executor } from '@s3-scheduler/executor';
import { EventHub } from './event-hub.js';
import type { SchedulerEvents } from './events.js';
import type { HistoryEntry } from './jobs/history-entry.js';
import { toHistoryEntry } from './jobs/history-entry.js';
import { JobControls } from './jobs/job-controls.js';
import { describeJob } from './jobs/job-description.js';
import { checkJobName } from './jobs/job-options.js';
import { JobRegistry } from './jobs/job-registry.js';
import type { JobState, JobStatus } from './jobs/job-state.js';
import { type SchedulerJobStatistics, withAliases } from './jobs/job-statistics.js';
import { jobStatus } from './jobs/job-status.js';
import { joinCluster } from './leader/cluster.js';
import { LeaderTerm } from './leader/leader-term.js';
import { Maintenance } from './leader/maintenance.js';
import { Promotion } from './leader/promotion.js';
import { Recovery } from './leader/recovery.js';
import { Lifecycle } from './lifecycle.js';
import { Observability } from './observability/observability.js';
import { type ResolvedPluginOptions, resolvePluginOptions } from './plugin-options.js';
import { OperatorBridge } from './requests/request-processor.js';
import { createExecutor } from './runs/create-executor.js';
import { Dispatcher } from './runs/dispatcher.js';
import { JobRunner } from './runs/job-runner.js';
import { ManualRuns } from './runs/manual-runs.js';
import { markRunsForHandOver } from './runs/remote-runs.js';
import { RunAdmission } from './runs/run-admission.js';
import { RunBuffer } from './runs/run-buffer.js';
import { RunRecorder } from './runs/run-recorder.js';
import { Skips } from './runs/skips.js';
import { Runtime } from './runtime.js';
import { SlotTimer } from './schedule/slot-timer.js';
import { SchedulerStore } from './store/scheduler-store.js';
import type {
  BackfillResult,
  JobConfig,
  JobContext,
  JobDescription,
  RunJobResult,
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

/**
 * A distributed cron scheduler on an S3-compatible bucket. Every instance given the same store
 * and jobs cooperates: one leader fires scheduled slots, each slot is claimed by a create-only
 * write so it runs at most once even if two instances believe they lead, and every run leaves
 * a record in the partitioned history.
 *
 * This class is the facade: it checks arguments and hands each call to the module that owns it
 * (see CONTRIBUTING.md, "The plugin's modules").
 */
export class SchedulerPlugin<Db = unknown> {
  readonly #options: ResolvedPluginOptions;
  readonly #lifecycle = new Lifecycle();
  /** Whether the user gave cold-start options (decides the default for a process-local store). */
  readonly #coldStartGiven: boolean;
  readonly #runtime: Runtime;
  readonly #leader = new LeaderTerm();
  readonly #store: SchedulerStore;
  readonly #executor: Executor<JobContext>;
  readonly #timer: SlotTimer;
  readonly #dispatcher: Dispatcher;
  readonly #recovery: Recovery;
  readonly #promotion: Promotion;
  readonly #maintenance: Maintenance;
  readonly #manual: ManualRuns;
  readonly #controls: JobControls;
  /** The leader's side of operator requests and the job catalog (see requests/), per start. */
  #operator: OperatorBridge | undefined;
  #loops: Promise<void>[] = [];

  constructor(options: SchedulerPluginOptions<Db> = {}) {
    this.#options = resolvePluginOptions(options);
    const clock = this.#options.clock;
    this.#coldStartGiven =
      options?.coldStartObservationWindow !== undefined || options?.skipColdStart !== undefined;
    const jobs = new JobRegistry(this.#options);
    // Logs and OpenTelemetry, fed by the events, the store and each attempt (see observability/).
    const observability = new Observability(this.#options);
    const events = new EventHub<SchedulerEvents>();
    events.tap(observability.tap, observability.wants);
    this.#store = new SchedulerStore(
      this.#options,
      clock,
      { connectionString: options?.connectionString !== undefined },
      () => this.#runtime.database,
      (operation, error, jobName) => this.#runtime.reportError(operation, error, jobName),
      (store) => observability.instrumentStore(store),
    );
    const runtime = new Runtime(
      this.#options,
      clock,
      this.#options.workerId ?? createWorkerId(),
      events,
      jobs,
      this.#store,
      this.#leader,
      this,
    );
    this.#runtime = runtime;
    this.#executor = createExecutor(runtime);
    this.#timer = new SlotTimer(clock, jobs, (state, entry, now) =>
      this.#dispatcher.onDue(state, entry, now),
    );
    const skips = new Skips(runtime);
    const admission = new RunAdmission();
    this.#dispatcher = new Dispatcher(runtime, {
      timer: this.#timer,
      runner: new JobRunner(runtime, this.#executor, (runId, fn) => observability.inSpan(runId, fn)),
      recorder: new RunRecorder(runtime),
      buffer: new RunBuffer(runtime),
      skips,
      admission,
      onLost: (state, existing) => this.#recovery.recoverIfOrphaned(state, existing),
    });
    this.#recovery = new Recovery(runtime, (state, handle) => this.#dispatcher.start(state, handle));
    this.#promotion = new Promotion(runtime, this.#dispatcher, this.#recovery, skips);
    this.#maintenance = new Maintenance(
      runtime,
      this.#timer,
      this.#dispatcher,
      this.#recovery,
      (signal, sweep) => this.#operator?.leaderHeartbeat(signal, sweep),
    );
    this.#manual = new ManualRuns(runtime, this.#dispatcher, admission);
    this.#controls = new JobControls(runtime, this.#timer);
    const given = this.#options.jobs;
    if (typeof given !== 'object' || given === null) {
      throw new SchedulerError("'jobs' must be an object keyed by job name", {
        code: 'INVALID_OPTION',
        operation: 'new SchedulerPlugin()',
        metadata: { option: 'jobs', value: typeof given },
        suggestion: "Pass jobs: { daily_cleanup: { schedule: '0 3 * * *', action } }.",
      });
    }
    for (const [name, config] of Object.entries(given))
      jobs.add(name, config as JobConfig, 'new SchedulerPlugin()');
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
    this.#runtime.database = database;
    // A store opened before the host was known (a call such as `updateJob` before `usePlugin`)
    // was the embedded default: the host's storage replaces it at the next start.
    if (!this.#leader.started && this.#store.source === 'default' && !this.#store.opening)
      this.#store.forget();
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
    return this.#runtime.workerId;
  }

  /** True while this instance fires scheduled slots (always, without a coordinator). */
  get isCoordinator(): boolean {
    return this.isLeader();
  }

  isLeader(): boolean {
    return this.#leader.isLeader();
  }

  getLeader(): string | null {
    return this.#leader.getLeader(this.workerId);
  }

  getEpoch(): number {
    return this.#leader.epoch;
  }

  getActiveWorkers(): string[] {
    return this.#leader.getActiveWorkers(this.workerId);
  }

  get isStarted(): boolean {
    return this.#leader.started;
  }

  // ── Events ──────────────────────────────────────────────────────────────────────────────────

  on<K extends keyof SchedulerEvents>(type: K, handler: (payload: SchedulerEvents[K]) => unknown): this {
    checkFunction(handler, { operation: 'on', option: 'handler' });
    this.#runtime.events.on(type, handler);
    return this;
  }

  off<K extends keyof SchedulerEvents>(type: K, handler?: (payload: SchedulerEvents[K]) => unknown): this {
    this.#runtime.events.off(type, handler);
    return this;
  }

  once<K extends keyof SchedulerEvents>(type: K, handler: (payload: SchedulerEvents[K]) => unknown): this {
    checkFunction(handler, { operation: 'once', option: 'handler' });
    this.#runtime.events.once(type, handler);
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
    const runtime = this.#runtime;
    const store = await this.#store.ensureStore();
    this.#store.checkProcessLocal(store);
    await this.#store.ensureHistory();
    this.#operator = new OperatorBridge(
      store,
      this,
      () => runtime.jobs.values(),
      runtime.clock,
      (operation, error, jobName) => runtime.reportError(operation, error, jobName),
    );
    // The leader's own job document writes are not announced: followers follow its digest.
    this.#store.documents.announceWrites = () => !this.#leader.isLeader();
    await this.#maintenance.syncDocuments();
    const stop = this.#leader.open();
    this.#promotion.reset();
    try {
      const now = runtime.clock.now();
      for (const state of runtime.jobs.values()) {
        state.register(now);
        this.#timer.schedule(state, now);
      }
      const onPromoted = () => {
        // A new leader lists job documents at its first heartbeat, and operator requests now,
        // whatever the change signal says (a change may have gone unannounced).
        this.#maintenance.promoted();
        this.#operator?.leaderHeartbeat();
        void runtime.track(this.#promotion.onPromoted());
      };
      if (this.#options.enableCoordinator) {
        const coordinator = joinCluster(runtime, store, this.#coldStartGiven, {
          onElected: (workerId, previous) => this.#recovery.noteElected(workerId, previous),
          onPromoted: () => {
            if (!this.#leader.stopping) onPromoted();
          },
        });
        this.#leader.useCoordinator(coordinator);
        await coordinator.start();
      } else {
        onPromoted();
      }
      this.#loops = [this.#timer.run(stop), this.#maintenance.run(stop)];
    } catch (error) {
      // Nothing of a failed start may stay behind (a coordinator renewing its lease above all).
      await this.#stop();
      throw error;
    }
    runtime.events.emit('scheduler_started', { workerId: runtime.workerId, jobs: runtime.jobs.size });
  }

  async #stop(): Promise<void> {
    const runtime = this.#runtime;
    if (!this.#leader.started) return;
    const coordinator = this.#leader.coordinator;
    // A leader goes on firing slots until its successor is ready, then releases (a hand-over with
    // no gap); this instance then heartbeats on, marked draining, while its runs finish, so the
    // successor sees it alive and does not take them for orphans.
    // Its runs are marked active first, so the successor's overlap policy sees them (issue 15).
    if (coordinator?.isLeader()) {
      this.#leader.beginResign();
      await markRunsForHandOver(
        this.#store.markers,
        runtime.jobs,
        runtime.workerId,
        this.#leader.markedForHandOver,
        (error, jobName) => runtime.reportError('marker', error, jobName),
      );
    }
    await coordinator?.resign().catch((error: unknown) => runtime.reportError('stop', error));
    this.#leader.beginStop();
    this.#timer.rearm();
    await Promise.all(this.#loops);
    this.#loops = [];
    let { drained } = await this.#executor.drain({ deadline: this.#options.stopTimeout });
    if (!drained) {
      for (const state of runtime.jobs.values()) state.cancelAll('the scheduler is stopping');
      ({ drained } = await this.#executor.drain({ deadline: 5_000 }));
    }
    await runtime.settle();
    await this.#operator?.idle();
    this.#operator = undefined;
    this.#leader.forgetCoordinator();
    await coordinator?.stop().catch((error: unknown) => runtime.reportError('stop', error));
    await this.#store.historyIfOpen
      ?.flushStatistics()
      .catch((error: unknown) => runtime.reportError('stop', error));
    this.#timer.clear();
    this.#leader.close();
    runtime.events.emit('scheduler_stopped', { workerId: runtime.workerId, drained });
  }

  // ── Jobs ────────────────────────────────────────────────────────────────────────────────────

  async addJob(name: string, config: JobConfig<Db>): Promise<void> {
    checkJobName(name, 'addJob');
    await this.#controls.add(name, config as JobConfig);
  }

  async removeJob(name: string): Promise<void> {
    checkJobName(name, 'removeJob');
    this.#controls.remove(this.#runtime.jobs.get(name, 'removeJob'));
  }

  /**
   * Changes a job; the schedule takes effect from now. Every option but `action` is stored in
   * the job's shared document, so the leader takes the change up wherever it runs (within a
   * heartbeat); a new `action` applies to this instance only (code cannot be stored).
   */
  async updateJob(name: string, updates: Partial<JobConfig<Db>>): Promise<void> {
    updates = checkUpdateArguments(name, updates) as Partial<JobConfig<Db>>;
    const state = this.#runtime.jobs.get(name, 'updateJob');
    if (typeof updates !== 'object' || updates === null) {
      throw new SchedulerError(`updateJob('${name}') needs an object of changes`, {
        code: 'INVALID_OPTION',
        operation: 'updateJob',
        metadata: { jobName: name, value: typeof updates },
        suggestion: "Pass the options to change, such as { schedule: '0 4 * * *' }.",
      });
    }
    await this.#controls.update(state, updates as Partial<JobConfig>);
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
    await this.#controls.pause(this.#runtime.jobs.get(name, 'pauseJob'), note);
  }

  /** Ends a pause (from `pauseJob()` or `pauseOnFailure`) and resets the failure streak. */
  async resumeJob(name: string): Promise<void> {
    checkJobName(name, 'resumeJob');
    await this.#controls.resume(this.#runtime.jobs.get(name, 'resumeJob'));
  }

  /**
   * Runs the job's past slots in `[from, to]` that never ran, on this instance, oldest first
   * (slots after now are left to the schedule, so `to` is capped at now): each
   * slot is claimed like a scheduled one, so a slot that already ran (or that another backfill
   * takes) is not run again. `overlap: 'allow'` runs them side by side (bounded by
   * `maxConcurrentJobs`); otherwise one after the other.
   */
  async backfill(
    name: string,
    options: { from: Date | string | number; to: Date | string | number; overlap?: 'allow' | 'buffer-all' },
  ): Promise<BackfillResult> {
    options = checkBackfillArguments(name, options);
    const state = this.#runtime.jobs.get(name, 'backfill');
    const from = parseInstant(options?.from, 'from', 'backfill');
    const to = parseInstant(options?.to, 'to', 'backfill');
    return this.#manual.backfill(
      state,
      { from, to, ...(options.overlap === undefined ? {} : { overlap: options.overlap }) },
      { from: options?.from, to: options?.to },
    );
  }

  /**
   * Everything about one job: definition, DST policy, the next `count` run times, recent runs
   * of every instance, runs going on now (where, under which epoch), counters, pause and buffer.
   */
  async describe(name: string, options: { count?: number; recent?: number } = {}): Promise<JobDescription> {
    options = checkDescribeArguments(name, options);
    return describeJob(this.#runtime, this.#runtime.jobs.get(name, 'describe'), options);
  }

  /** Every job with its status, as an array. */
  listJobs(): JobStatus[] {
    return [...this.#runtime.jobs.values()].map((state) => this.#status(state));
  }

  /**
   * The job's definition and this instance's view of its runs, or `null` for a job not defined
   * (the spec checks for a job this way). A name that is not a non-blank string of at most 1,024
   * characters throws `INVALID_JOB`, as in every other method.
   */
  getJobStatus(name: string): JobStatus | null {
    checkJobName(name, 'getJobStatus');
    const state = this.#runtime.jobs.find(name);
    return state ? this.#status(state) : null;
  }

  /** Every job's status, keyed by job name. */
  getAllJobsStatus(): Record<string, JobStatus> {
    return Object.fromEntries(
      [...this.#runtime.jobs.entries()].map(([name, state]) => [name, this.#status(state)]),
    );
  }

  #status(state: JobState): JobStatus {
    return jobStatus(state, this.#leader.started, this.#runtime.clock.now());
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
    const history = await this.#store.ensureHistory();
    const page = await history.query(name, {
      limit: Math.min(options.limit ?? 100, 1000),
      ...(options.status === undefined ? {} : { status: options.status as 'completed' }),
      ...(options.before === undefined ? {} : { before: options.before }),
      ...(options.after === undefined ? {} : { after: options.after }),
    });
    for (const error of page.errors) this.#runtime.reportError('getJobHistory', error, name);
    return page.runs.map(toHistoryEntry);
  }

  /**
   * Per-job statistics kept in the store (all instances), without scanning history: the shape of
   * `getJobStatus().statistics`, whose names (`totalRuns`, `avgDuration`, …) are aliases here.
   */
  async getJobStatistics(name: string): Promise<SchedulerJobStatistics> {
    checkJobName(name, 'getJobStatistics');
    this.#runtime.jobs.get(name, 'getJobStatistics');
    const history = await this.#store.ensureHistory();
    return withAliases(await history.statistics(name));
  }

  /**
   * Runs a job now, on this instance, whether or not it is enabled or leading, and resolves
   * with the run's outcome (a failure resolves too; it never rejects for the action's error).
   * With `overlap: 'skip'`, a job already running here or on a live instance is refused with
   * `JOB_ALREADY_RUNNING`, naming where it runs.
   */
  async runJob(name: string): Promise<RunJobResult> {
    checkJobName(name, 'runJob');
    return this.#manual.runJob(this.#runtime.jobs.get(name, 'runJob'));
  }
}
