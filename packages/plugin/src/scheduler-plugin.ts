import { Coordinator } from '@s3-scheduler/coordinator';
import {
  type Clock,
  createRunId,
  createWorkerId,
  isSchedulerError,
  SchedulerError,
} from '@s3-scheduler/core';
import { Executor, type RunOutcome } from '@s3-scheduler/executor';
import { HistoryStore, type RunHandle } from '@s3-scheduler/history';
import {
  connect,
  encodeKeySegment,
  isPreconditionFailed,
  type ObjectStore,
  openStore,
} from '@s3-scheduler/storage';
import { DueHeap } from './due-heap.js';
import { EventHub } from './event-hub.js';
import type { RunEventBase, SchedulerEvents } from './events.js';
import { type HistoryEntry, toHistoryEntry } from './history-entry.js';
import { checkJobName, normalizeJob } from './job-options.js';
import { JobState, type JobStatus } from './job-state.js';
import { type ResolvedPluginOptions, resolvePluginOptions } from './plugin-options.js';
import { selectDueSlots } from './slot-selection.js';
import type { JobConfig, JobContext, RunTrigger, SchedulerPluginOptions } from './types.js';

/** The scheduler re-reads the wall clock at least this often, so a clock jump is noticed. */
const MAX_TIMER_SLEEP_MS = 60_000;
/** Due slots examined at once after a long pause; older ones are counted as missed. */
const MAX_DUE_SLOTS = 1000;
/** Claims sent at once while sweeping every job (promotion, catch-up). */
const SWEEP_CONCURRENCY = 16;

/** What `runJob` resolves with. */
export interface RunJobResult {
  runId: string;
  jobName: string;
  status: 'completed' | 'failed' | 'timeout' | 'cancelled';
  result?: unknown;
  error?: { name: string; message: string; code?: string };
  attempts: number;
  durationMs: number;
}

/**
 * A distributed cron scheduler on an S3-compatible bucket. Every instance given the same store
 * and jobs cooperates: one leader fires scheduled slots, each slot is claimed by a create-only
 * write so it runs at most once even if two instances believe they lead, and every run leaves
 * a record in the partitioned history.
 */
export class SchedulerPlugin {
  readonly #options: ResolvedPluginOptions;
  readonly #clock: Clock;
  readonly #events = new EventHub<SchedulerEvents>();
  readonly #jobs = new Map<string, JobState>();
  readonly #heap = new DueHeap();
  readonly #inflight = new Set<Promise<unknown>>();
  #workerId: string;
  #database: unknown;
  #store: ObjectStore | undefined;
  #storeReady: Promise<ObjectStore> | undefined;
  #history: HistoryStore | undefined;
  #executor: Executor<JobContext>;
  #coordinator: Coordinator | undefined;
  #started = false;
  #stopping = false;
  #stopController: AbortController | undefined;
  #wake: AbortController | undefined;
  #loops: Promise<void>[] = [];
  #ranOnStart = false;
  #lastCleanupAt: number | undefined;

  constructor(options: SchedulerPluginOptions = {}) {
    this.#options = resolvePluginOptions(options);
    this.#clock = this.#options.clock;
    this.#workerId = this.#options.workerId ?? createWorkerId();
    this.#database = this.#options.database;
    this.#executor = this.#createExecutor();
    const jobs = options.jobs ?? {};
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
        new JobState(normalizeJob(name, config, this.#options, 'validateConfiguration'), config),
      );
    }
  }

  // ── Host integration ────────────────────────────────────────────────────────────────────────

  /** Called by `db.usePlugin(plugin)`: remembers the host, passed as each action's first argument. */
  async install(database?: unknown): Promise<this> {
    if (database !== undefined) this.#database = database;
    return this;
  }

  /** Alias of `install` for hosts that call `setup`. */
  async setup(database?: unknown): Promise<this> {
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
    this.#events.on(type, handler);
    return this;
  }

  off<K extends keyof SchedulerEvents>(type: K, handler?: (payload: SchedulerEvents[K]) => unknown): this {
    this.#events.off(type, handler);
    return this;
  }

  once<K extends keyof SchedulerEvents>(type: K, handler: (payload: SchedulerEvents[K]) => unknown): this {
    this.#events.once(type, handler);
    return this;
  }

  // ── Lifecycle ───────────────────────────────────────────────────────────────────────────────

  /**
   * Connects to the store (probing it), joins the cluster and starts firing slots when this
   * instance leads. Throws `STORE_UNSAFE`, `BUCKET_NOT_FOUND`, `ACCESS_DENIED` or
   * `INVALID_CONNECTION_STRING` from the store. Idempotent; may be called again after `stop()`.
   */
  async start(): Promise<void> {
    if (this.#started || !this.#options.enabled) return;
    const store = await this.#ensureStore();
    await this.#ensureHistory();
    this.#started = true;
    this.#stopping = false;
    this.#ranOnStart = false;
    this.#stopController = new AbortController();
    const now = this.#clock.now();
    for (const state of this.#jobs.values()) this.#schedule(state, now);
    if (this.#options.enableCoordinator) {
      this.#coordinator = this.#createCoordinator(store);
      await this.#coordinator.start();
    } else {
      void this.#track(this.#onPromoted());
    }
    const signal = this.#stopController.signal;
    this.#loops = [this.#timerLoop(signal), this.#maintenanceLoop(signal)];
    this.#events.emit('scheduler_started', { workerId: this.#workerId, jobs: this.#jobs.size });
  }

  /**
   * Stops firing slots, hands leadership over at once (release, not expiry), waits up to
   * `stopTimeout` for running jobs, then cancels what still runs. The plugin can start again.
   */
  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#stopping = true;
    this.#stopController?.abort();
    this.#wake?.abort();
    await Promise.all(this.#loops);
    this.#loops = [];
    const coordinator = this.#coordinator;
    this.#coordinator = undefined;
    await coordinator?.stop().catch((error: unknown) => this.#reportError('stop', error));
    let { drained } = await this.#executor.drain({ deadline: this.#options.stopTimeout });
    if (!drained) {
      for (const state of this.#jobs.values()) state.cancelAll('the scheduler is stopping');
      ({ drained } = await this.#executor.drain({ deadline: 5_000 }));
    }
    await Promise.allSettled([...this.#inflight]);
    await this.#history?.flushStatistics().catch((error: unknown) => this.#reportError('stop', error));
    this.#heap.clear();
    this.#started = false;
    this.#stopping = false;
    this.#events.emit('scheduler_stopped', { workerId: this.#workerId, drained });
  }

  // ── Jobs ────────────────────────────────────────────────────────────────────────────────────

  async addJob(name: string, config: JobConfig): Promise<void> {
    checkJobName(name, 'addJob');
    if (this.#jobs.has(name)) {
      throw new SchedulerError(`Job already exists: ${name}`, {
        code: 'JOB_EXISTS',
        operation: 'addJob',
        metadata: { jobName: name, existingJobs: [...this.#jobs.keys()].slice(0, 50) },
        suggestion: 'Use updateJob() to change it, or removeJob() first.',
      });
    }
    const state = new JobState(normalizeJob(name, config, this.#options, 'addJob'), config);
    this.#jobs.set(name, state);
    if (this.#started) this.#schedule(state, this.#clock.now());
  }

  async removeJob(name: string): Promise<void> {
    const state = this.#job(name, 'removeJob');
    state.removed = true;
    this.#jobs.delete(name);
    this.#rearm();
  }

  /** Changes a job: every option may be updated; the schedule takes effect from now. */
  async updateJob(name: string, updates: Partial<JobConfig>): Promise<void> {
    const state = this.#job(name, 'updateJob');
    if (typeof updates !== 'object' || updates === null) {
      throw new SchedulerError(`updateJob('${name}') needs an object of changes`, {
        code: 'INVALID_OPTION',
        operation: 'updateJob',
        metadata: { jobName: name, value: typeof updates },
        suggestion: "Pass the options to change, such as { schedule: '0 4 * * *' }.",
      });
    }
    const config = { ...state.config, ...updates } as JobConfig;
    state.replace(normalizeJob(name, config, this.#options, 'updateJob'), config);
    if (this.#started) this.#schedule(state, this.#clock.now());
  }

  async enableJob(name: string): Promise<void> {
    await this.updateJob(name, { enabled: true });
  }

  async disableJob(name: string): Promise<void> {
    await this.updateJob(name, { enabled: false });
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
    checkJobName(name, 'getJobHistory');
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
    const state = this.#job(name, 'runJob');
    const history = await this.#ensureHistory();
    if (state.def.overlap === 'skip') await this.#refuseIfRunning(state, history);
    const runId = createRunId(this.#clock.now());
    const claim = await history.claim({
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
    const outcome = await this.#execute(state, claim.run);
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
    state.generation++;
    state.nextAt = state.def.cron && state.def.enabled ? (state.def.cron.next(now)?.getTime() ?? null) : null;
    if (state.nextAt !== null)
      this.#heap.push({ at: state.nextAt, job: state.def.name, generation: state.generation });
    this.#rearm();
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
        this.#onDue(this.#jobs.get(entry.job)!, entry.at, now);
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
  #onDue(state: JobState, at: number, now: number): void {
    const cron = state.def.cron!;
    const due = [at];
    let next = cron.next(at)?.getTime() ?? null;
    while (next !== null && next <= now && due.length < MAX_DUE_SLOTS) {
      due.push(next);
      next = cron.next(next)?.getTime() ?? null;
    }
    if (next !== null && next <= now) next = cron.next(now)?.getTime() ?? null;
    state.nextAt = next;
    if (next !== null) this.#heap.push({ at: next, job: state.def.name, generation: state.generation });
    if (!this.isLeader()) return;
    const { run, missed } = selectDueSlots(due, state.def, now);
    for (const slot of missed) {
      state.counters.missed++;
      this.#events.emit('plg:scheduler:job-skipped', {
        jobName: state.def.name,
        slot: new Date(slot).toISOString(),
        reason: 'missed',
        workerId: this.#workerId,
      });
    }
    for (const slot of run) {
      void this.#track(this.#claimAndRun(state, slot, slot === due.at(-1) ? 'schedule' : 'catch-up'));
    }
  }

  /**
   * Claims slot `slot` of the job with a create-only write and runs it if the claim won. A lost
   * claim means another instance has it; if that instance is gone, the run is recovered.
   */
  async #claimAndRun(state: JobState, slot: number, trigger: RunTrigger): Promise<void> {
    const history = this.#history!;
    const name = state.def.name;
    const slotIso = new Date(slot).toISOString();
    try {
      if (state.def.overlap === 'skip' && state.running.size > 0) {
        const skipped = await history.claim({
          job: name,
          slot,
          trigger,
          status: 'skipped',
          workerId: this.#workerId,
          epoch: this.getEpoch(),
          startedAt: this.#clock.now(),
        });
        if (skipped.claimed) {
          state.counters.skippedOverlap++;
          this.#events.emit('plg:scheduler:job-skipped', {
            jobName: name,
            slot: slotIso,
            reason: 'overlap',
            workerId: this.#workerId,
          });
        }
        return;
      }
      const claim = await history.claim({
        job: name,
        slot,
        trigger,
        workerId: this.#workerId,
        epoch: this.getEpoch(),
        startedAt: this.#clock.now(),
      });
      if (!claim.claimed) {
        const holder = claim.existing?.record.workerId ?? null;
        if (holder !== this.#workerId) {
          this.#events.emit('plg:scheduler:job-lock_failed', {
            jobName: name,
            slot: slotIso,
            holder,
            workerId: this.#workerId,
          });
        }
        if (claim.existing) await this.#recoverIfOrphaned(state, claim.existing);
        return;
      }
      await this.#execute(state, claim.run);
    } catch (error) {
      this.#reportError('claim', error, name);
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
    if (record.workerId !== this.#workerId && this.getActiveWorkers().includes(record.workerId ?? '')) return;
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
        await this.#execute(state, reclaimed);
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
  async #execute(state: JobState, handle: RunHandle): Promise<RunOutcome<unknown>> {
    const def = state.def;
    const record = handle.record;
    const controller = new AbortController();
    const scheduledTime = record.slot ? Date.parse(record.slot) : Date.parse(record.startedAt);
    state.running.set(record.runId, controller);
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
    let outcome: RunOutcome<unknown>;
    try {
      outcome = await this.#executor.run((ctx) => def.action(database, ctx, this), {
        retries: def.retries,
        timeout: def.timeout,
        signal: controller.signal,
        context,
        ...(def.backoff ? { backoff: def.backoff } : {}),
      });
    } finally {
      state.running.delete(record.runId);
    }
    const base = eventBase(context);
    const error = outcome.status === 'completed' ? undefined : toError(outcome);
    state.counters.record(outcome, this.#clock.now());
    if (this.#history) {
      await this.#history
        .finish(handle, {
          status: outcome.status,
          ...(outcome.status === 'completed' && this.#options.persistJobs ? { result: outcome.result } : {}),
          ...(error ? { error } : {}),
          attempts: record.attempts - 1 + outcome.attempts.length,
          durationMs: outcome.durationMs,
          finishedAt: outcome.finishedAt,
        })
        .catch((finishError: unknown) => this.#reportError('finish', finishError, def.name));
    }
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
    return outcome;
  }

  /** Refuses a manual run while the job runs here, or on an instance that is still alive. */
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
    const work: Array<() => Promise<void>> = [];
    for (const state of this.#jobs.values()) {
      if (state.def.cron && state.def.enabled) work.push(() => this.#catchUp(state));
    }
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
  async #catchUp(state: JobState): Promise<void> {
    const name = state.def.name;
    try {
      const history = this.#history!;
      const page = await history.query(name, { limit: 10 });
      if (page.runs.length === 0) return;
      const newest = page.runs.find((run) => run.slot !== null);
      if (newest?.status === 'running') {
        const handle = await history.readRun(name, { slot: newest.slot! });
        if (handle) await this.#recoverIfOrphaned(state, handle);
      }
      const now = this.#clock.now();
      const after = newest ? Date.parse(newest.slot!) : Number.NEGATIVE_INFINITY;
      for (const slot of catchUpSlots(state, now, after)) await this.#claimAndRun(state, slot, 'catch-up');
    } catch (error) {
      this.#reportError('catch-up', error, name);
    }
  }

  /** Flushes statistics every heartbeat; the leader also applies retention every `cleanupInterval`. */
  async #maintenanceLoop(stop: AbortSignal): Promise<void> {
    while (!stop.aborted) {
      await this.#clock.sleep(this.#options.heartbeatInterval, stop).catch(() => undefined);
      if (stop.aborted) return;
      await this.#history
        ?.flushStatistics()
        .catch((error: unknown) => this.#reportError('statistics', error));
      const now = this.#clock.now();
      if (!this.isLeader() || this.#options.historyRetention === 0 || this.#options.cleanupInterval === 0)
        continue;
      if (this.#lastCleanupAt !== undefined && now - this.#lastCleanupAt < this.#options.cleanupInterval)
        continue;
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
      const options = { clock: this.#clock };
      const store = this.#options.store
        ? await openStore(this.#options.store, { ...options, prefix: this.#options.keyPrefix })
        : await connect(this.#options.connectionString, options);
      this.#store = store;
      return store;
    })().finally(() => {
      this.#storeReady = undefined;
    });
    return this.#storeReady;
  }

  async #ensureHistory(): Promise<HistoryStore> {
    if (this.#history) return this.#history;
    const store = await this.#ensureStore();
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
      coldStartObservationWindow: this.#options.coldStartObservationWindow,
      skipColdStart: this.#options.skipColdStart,
    });
    coordinator.on('coordinator-elected', (payload) =>
      this.#events.emit('plg:scheduler:coordinator-elected', payload),
    );
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

function eventBase(context: JobContext): RunEventBase {
  return {
    jobName: context.jobName,
    runId: context.runId,
    slot: context.slot,
    scheduledTime: context.scheduledTime,
    trigger: context.trigger,
    workerId: context.workerId,
    epoch: context.epoch,
  };
}

/** The error of a run that did not complete, as an `Error` users can read `.message` from. */
function toError(outcome: RunOutcome<unknown>): Error {
  if (outcome.cause instanceof Error) return outcome.cause;
  const captured = outcome.error;
  return Object.assign(new Error(captured?.message ?? outcome.status), {
    name: captured?.name ?? 'Error',
    ...(captured?.code ? { code: captured.code } : {}),
  });
}

/** Slots a new leader catches up, per the job's policy: after `after`, inside the window. */
function catchUpSlots(state: JobState, now: number, after: number): number[] {
  const { cron, catchUp, catchUpWindow } = state.def;
  if (!cron || catchUp === 'none' || catchUpWindow === 0) return [];
  const from = Math.max(after, now - catchUpWindow - 1);
  if (catchUp === 'latest') {
    const latest = cron.prev(now + 1)?.getTime();
    return latest !== undefined && latest > from ? [latest] : [];
  }
  const slots: number[] = [];
  let slot = cron.next(from)?.getTime();
  while (slot !== undefined && slot <= now) {
    slots.push(slot);
    if (slots.length > MAX_DUE_SLOTS) slots.shift();
    slot = cron.next(slot)?.getTime();
  }
  return slots;
}

async function runWithConcurrency(work: Array<() => Promise<void>>, limit: number): Promise<void> {
  let index = 0;
  const worker = async () => {
    while (index < work.length) await work[index++]!();
  };
  await Promise.all(Array.from({ length: Math.min(limit, work.length) }, worker));
}
