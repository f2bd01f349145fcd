import { addRun, type CountedRun, emptyDelta, type StatsDelta, toStatistics } from '@s3-scheduler/history';
import type { JobConfig, NormalizedJob } from '../types.js';
import type { JobDocument } from './job-document.js';
import { type JobStatusStatistics, withAliases } from './job-statistics.js';

/** `getJobStatus()`: the definition plus this instance's view of the job's runs. */
export interface JobStatus {
  name: string;
  enabled: boolean;
  schedule: string | null;
  description: string;
  timezone: string;
  /** When this instance last started a run of the job (ISO), `null` before. */
  lastRun: string | null;
  /**
   * When the job fires next (ISO; later than its slot with `jitter`); `null` when it will not
   * (disabled, paused, manual-only, past `endAt`). Known before `start()` too.
   */
  nextRun: string | null;
  isRunning: boolean;
  /** Paused by `pauseJob()` or by `pauseOnFailure`; `pausedNote` says why. */
  paused: boolean;
  pausedNote: string | null;
  /** This instance's runs, in the shape of `getJobStatistics()` (which counts every instance's). */
  statistics: JobStatusStatistics;
}

/** Counters of the runs this instance executed: `getJobStatus()` reads them without I/O. */
export class RunCounters {
  /** The runs this instance finished, summed the way the history sums them for every instance. */
  runs: StatsDelta = emptyDelta();
  skippedOverlap = 0;
  missed = 0;
  abandoned = 0;
  lastRunAt: number | null = null;

  /** Counts a run this instance executed, ended as `run` says. */
  record(run: CountedRun): void {
    // Summed in place: `runs` is this instance's own running sum (read through `statistics`).
    addRun(this.runs, run);
  }

  statistics(job: string): JobStatusStatistics {
    const delta = {
      ...this.runs,
      skipped: this.skippedOverlap,
      abandoned: this.runs.abandoned + this.abandoned,
    };
    return {
      ...withAliases(toStatistics(job, delta, null)),
      skippedOverlap: this.skippedOverlap,
      missed: this.missed,
    };
  }
}

const EMPTY_LOCAL: ReadonlyMap<string, LocalRun> = new Map();
const EMPTY_REMOTE: ReadonlyMap<string, RemoteRun> = new Map();

/** A run of this job executing on this instance. */
export interface LocalRun {
  runId: string;
  /**
   * Cancels the run (its attempt's signal aborts with a `JOB_CANCELLED` whose cause is `reason`).
   * A function, not an AbortController: most runs are never cancelled, and a controller per run
   * was a measurable part of a burst's cost.
   */
  abort: (reason: unknown) => void;
  slot: string | null;
  epoch: number;
}

/** A run of this job executing on another instance, as far as this instance knows. */
export interface RemoteRun {
  runId: string;
  /** The history key of its record. */
  key: string;
  workerId: string;
}

/** One registered job: its definition, its place in the timer heap and its running runs. */
export class JobState {
  #generation = 0;
  #nextAt: number | null = null;
  #nextSlot: number | null = null;
  #removed = false;
  #draining = false;
  /** Claims of this job in flight here (`beginClaim`). */
  #claims = 0;
  // Created on first use: most jobs run nothing most of the time, and 100,000 idle jobs should
  // not carry 200,000 empty maps.
  #running: Map<string, LocalRun> | undefined;
  #remoteRunning: Map<string, RemoteRun> | undefined;
  /** Slots whose claim is to be tried again, with the leader epoch they are owed in. */
  #owed: Map<number, number> | undefined;
  /**
   * Slots being dispatched on this instance right now (`beginDispatch`): nearly always one at a
   * time, kept in a field (a set that empties after every run is reallocated for the next).
   */
  #dispatchingOne = Number.NaN;
  #dispatchingMore: Set<number> | undefined;
  #counters: RunCounters | undefined;
  /**
   * When this instance registered the job (start, or `addJob` later): a job with no scheduled run
   * in the store has missed, at most, the slots since then.
   */
  #since = Number.POSITIVE_INFINITY;
  /** The newest slot this instance reported missed: none is reported twice. */
  #missedThrough = Number.NEGATIVE_INFINITY;
  #def: NormalizedJob;
  #config: JobConfig;
  /** The stored overrides `#def` was built with (JSON): a document with others is taken up. */
  #appliedOverrides = '{}';
  /** The shared runtime state (overrides, pause, buffer) as last read or written. */
  document: JobDocument | null = null;

  constructor(def: NormalizedJob, config: JobConfig) {
    this.#def = def;
    this.#config = config;
  }

  /** The job's definition: the code's configuration with stored overrides applied, normalized. */
  get def(): NormalizedJob {
    return this.#def;
  }

  /** The configuration given in code (or to `addJob`), before stored overrides. */
  get config(): JobConfig {
    return this.#config;
  }

  /** Bumped whenever the job is rescheduled: heap entries of older generations are stale. */
  get generation(): number {
    return this.#generation;
  }

  /** When the job's next slot fires (ms), or `null` when none is queued. */
  get nextAt(): number | null {
    return this.#nextAt;
  }

  /** The slot `nextAt` fires (they differ with `jitter`). */
  get nextSlot(): number | null {
    return this.#nextSlot;
  }

  /** Removed by `removeJob()`: it runs no more, and its heap entries are stale. */
  get removed(): boolean {
    return this.#removed;
  }

  /**
   * When this instance registered the job (start, or `addJob` later): a job with no scheduled run
   * in the store has missed, at most, the slots since then.
   */
  get since(): number {
    return this.#since;
  }

  /** The job is being rescheduled: entries of older generations go stale. */
  startGeneration(generation: number): void {
    this.#generation = generation;
  }

  /** The job's next slot and when it fires (both ms), or `null`s when none is queued. */
  setNext(slot: number | null, at: number | null): void {
    this.#nextSlot = slot;
    this.#nextAt = at;
  }

  markRemoved(): void {
    this.#removed = true;
  }

  /** This instance registers the job at `now` (start, `addJob`). */
  register(now: number): void {
    this.#since = now;
  }

  /** Takes up a definition built from the code's configuration and the stored `overrides`. */
  redefine(def: NormalizedJob, overrides: object): void {
    this.#def = def;
    this.#appliedOverrides = JSON.stringify(overrides);
  }

  /** Whether the definition was built with other overrides than `overrides` (a stored document's). */
  differsFrom(overrides: object): boolean {
    return JSON.stringify(overrides) !== this.#appliedOverrides;
  }

  /**
   * Begins taking a slot out of the shared buffer: false when a drain is under way already (two
   * would each take a slot, and one would find the job busy). End it with `endDrain`.
   */
  beginDrain(): boolean {
    if (this.#draining) return false;
    this.#draining = true;
    return true;
  }

  endDrain(): void {
    this.#draining = false;
  }

  /** A buffered slot is being taken out of the shared buffer right now. */
  get draining(): boolean {
    return this.#draining;
  }

  /**
   * A slot of this job past its overlap decision is being claimed here: its run may start any
   * moment. End it with `endClaim` once the run started or the claim came to nothing.
   */
  beginClaim(): void {
    this.#claims++;
  }

  endClaim(): void {
    this.#claims--;
  }

  get claiming(): boolean {
    return this.#claims > 0;
  }

  /**
   * Whether a run of this job may start here any moment, though none is registered yet: a claim
   * in flight or a buffer drain under way. A slot due meanwhile meets the overlap policy as if that
   * run were going on (on S3 a claim takes tens of ms; a slot due then ran alongside it).
   */
  get starting(): boolean {
    return this.#claims > 0 || this.#draining;
  }

  /**
   * Of `missed` (oldest first), the slots not reported missed yet; they count as reported from
   * now on (a gap can be seen twice: a late timer and the catch-up of a re-election).
   */
  takeUnreported(missed: readonly number[]): number[] {
    const fresh = missed.filter((slot) => slot > this.#missedThrough);
    if (fresh.length > 0) this.#missedThrough = fresh.at(-1)!;
    return fresh;
  }

  /** Runs executing on this instance, by run id, with the function that cancels them. */
  get running(): ReadonlyMap<string, LocalRun> {
    return this.#running ?? EMPTY_LOCAL;
  }

  /** Runs executing elsewhere (seen in history or through `active/` markers), by run id. */
  get remoteRunning(): ReadonlyMap<string, RemoteRun> {
    return this.#remoteRunning ?? EMPTY_REMOTE;
  }

  get counters(): RunCounters {
    this.#counters ??= new RunCounters();
    return this.#counters;
  }

  addRun(run: LocalRun): void {
    this.#running ??= new Map();
    this.#running.set(run.runId, run);
  }

  removeRun(runId: string): void {
    this.#running?.delete(runId);
  }

  addRemoteRun(run: RemoteRun): void {
    this.#remoteRunning ??= new Map();
    this.#remoteRunning.set(run.runId, run);
  }

  removeRemoteRun(runId: string): void {
    this.#remoteRunning?.delete(runId);
  }

  /**
   * Notes that slot `slot` (ms) will be claimed later in leader term `epoch` (its claim was
   * refused, or waits behind an earlier slot's): the job's later slots wait for it.
   */
  oweSlot(slot: number, epoch: number): void {
    this.#owed ??= new Map();
    this.#owed.set(slot, epoch);
  }

  /**
   * A dispatch of slot `slot` (ms) begins on this instance: false when one is under way already.
   * A new leader's catch-up and its timer can both reach the slot due around its promotion; the
   * second must neither claim it again nor, finding the job admitted by the first, record the
   * slot skipped for overlapping itself (s3db-host check: a hand-over's first slot was skipped
   * that way and never ran). End it with `endDispatch`.
   */
  beginDispatch(slot: number): boolean {
    if (slot === this.#dispatchingOne || this.#dispatchingMore?.has(slot)) return false;
    if (Number.isNaN(this.#dispatchingOne)) this.#dispatchingOne = slot;
    else {
      this.#dispatchingMore ??= new Set();
      this.#dispatchingMore.add(slot);
    }
    return true;
  }

  endDispatch(slot: number): void {
    if (slot === this.#dispatchingOne) this.#dispatchingOne = Number.NaN;
    else this.#dispatchingMore?.delete(slot);
  }

  /** The owed slot was claimed, given up or decided otherwise. */
  settleSlot(slot: number): void {
    this.#owed?.delete(slot);
  }

  /**
   * Whether a slot before `slot` is still owed in term `epoch`. Entries of earlier terms are
   * dropped: their retries stopped with the term, and the next leader's catch-up owns them.
   */
  owesBefore(slot: number, epoch: number): boolean {
    if (!this.#owed) return false;
    let owes = false;
    for (const [owed, term] of this.#owed) {
      if (term !== epoch) this.#owed.delete(owed);
      else if (owed < slot) owes = true;
    }
    return owes;
  }

  get paused(): boolean {
    return this.document?.paused ?? false;
  }

  get buffer(): number[] {
    return this.document?.buffer ?? [];
  }

  /** Whether a run of this job executes anywhere this instance can see. */
  get busy(): boolean {
    return this.running.size > 0 || this.remoteRunning.size > 0;
  }

  /** `updateJob`: a new definition, built from `config` and `overrides`, applies at once. */
  replace(def: NormalizedJob, config: JobConfig, overrides: object): void {
    this.#def = def;
    this.#config = config;
    this.#appliedOverrides = JSON.stringify(overrides);
  }

  cancelAll(reason: string): void {
    for (const run of this.running.values()) run.abort(new Error(reason));
  }

  /**
   * `nextAt` overrides when the job fires next: before `start()` nothing is queued yet, so the
   * plugin passes what it would queue.
   */
  status(nextAt: number | null = this.#nextAt): JobStatus {
    const counters = this.#counters ?? IDLE_COUNTERS;
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      name: this.def.name,
      enabled: this.def.enabled,
      schedule: this.def.schedule,
      description: this.def.description,
      timezone: this.def.timezone,
      lastRun: iso(counters.lastRunAt),
      nextRun: iso(nextAt),
      isRunning: this.busy,
      paused: this.paused,
      pausedNote: this.document?.pausedNote ?? null,
      statistics: counters.statistics(this.def.name),
    };
  }
}

const IDLE_COUNTERS = new RunCounters();
