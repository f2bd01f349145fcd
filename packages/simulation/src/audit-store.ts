import type { Clock } from '@s3-scheduler/core';
import { DEFAULT_LAYOUT } from '@s3-scheduler/plugin';
import type { DeleteOptions, ListOptions, ObjectStore, PutOptions, ReadOptions } from '@s3-scheduler/storage';

/** Where the plugin keeps its objects (its default `keyPrefix`). */
export const PLUGIN_PREFIX = DEFAULT_LAYOUT.prefix;
const LOCK_KEY = DEFAULT_LAYOUT.inBucket(DEFAULT_LAYOUT.leaderLock);
const RUNS_PREFIX = DEFAULT_LAYOUT.inBucket(DEFAULT_LAYOUT.historyKeys.runsRoot);

/** The state of one slot claim as the store accepted it, write after write. */
export interface AuditedRun {
  key: string;
  job: string;
  slot: string;
  slotMs: number;
  status: string;
  workerId: string | null;
  runId: string;
  epoch: number | null;
  attempts: number;
  trigger: string;
  /** Wall time (shared clock) at which the claim was accepted. */
  claimedAt: number;
  /** Wall time of the last accepted write. */
  updatedAt: number;
  /** Statuses this record went through, in order. */
  statuses: string[];
}

/** One leader term as the lock object recorded it. */
export interface AuditedTerm {
  token: number;
  owner: string;
  at: number;
}

/**
 * Sits right above the memory store, under the fault injector, and sees every write the store
 * *accepted* (including those whose response was then lost). It checks the safety invariants at
 * the moment of acceptance: one claim per slot, fencing tokens that only grow and belong to one
 * owner, and run records that only move along the lifecycle, so no write from a fenced-out
 * leader or run holder can slip in unnoticed.
 */
export class AuditStore implements ObjectStore {
  readonly description: string;
  readonly runs = new Map<string, AuditedRun>();
  /** Runs whose last accepted state is `running`. */
  readonly running = new Set<AuditedRun>();
  /** `<job>|<slot ms>` of every claimed slot. */
  readonly claimedSlots = new Set<string>();
  readonly terms: AuditedTerm[] = [];
  readonly violations: string[] = [];
  /** The first accepted claim of each job (wall time): from then on the job has history. */
  readonly firstClaimAt = new Map<string, number>();
  /** Claims accepted under an epoch older than the current lease token (late but harmless). */
  staleEpochClaims = 0;
  acceptedWrites = 0;
  checks = 0;
  #maxToken = 0;
  #tokenOwner = '';

  constructor(
    readonly inner: ObjectStore,
    readonly clock: Clock,
  ) {
    this.description = inner.description;
  }

  get maxToken(): number {
    return this.#maxToken;
  }

  get(key: string, options?: ReadOptions) {
    return this.inner.get(key, options);
  }

  head(key: string, options?: ReadOptions) {
    return this.inner.head(key, options);
  }

  list(prefix: string, options?: ListOptions) {
    return this.inner.list(prefix, options);
  }

  async put(key: string, body: Uint8Array | string, options: PutOptions = {}) {
    const result = await this.inner.put(key, body, options);
    this.acceptedWrites++;
    if (key === LOCK_KEY) this.#lockWritten(body, options);
    else if (key.startsWith(RUNS_PREFIX) && key.endsWith('.s')) this.#runWritten(key, body, options);
    return result;
  }

  async delete(key: string, options?: DeleteOptions) {
    await this.inner.delete(key, options);
    if (key === LOCK_KEY) this.#violation(`the leader lock was deleted (its fencing counter would reset)`);
  }

  #violation(message: string): void {
    this.violations.push(`[t=${new Date(this.clock.now()).toISOString()}] ${message}`);
  }

  #lockWritten(body: Uint8Array | string, options: PutOptions): void {
    this.checks++;
    const record = parse(body) as { owner: string; token: number; state: string };
    if (options.ifMatch === undefined && options.ifNoneMatch === undefined) {
      this.#violation(`unconditional write of the leader lock by ${record.owner}`);
    }
    if (record.token < this.#maxToken) {
      this.#violation(
        `write of a fenced-out leader accepted: ${record.owner} wrote token ${record.token} (${record.state}) after token ${this.#maxToken} of ${this.#tokenOwner}`,
      );
    } else if (record.token === this.#maxToken && record.owner !== this.#tokenOwner) {
      this.#violation(`token ${record.token} written by ${record.owner} but held by ${this.#tokenOwner}`);
    } else if (record.token > this.#maxToken) {
      if (record.token !== this.#maxToken + 1) {
        this.#violation(`leader token jumped from ${this.#maxToken} to ${record.token}`);
      }
      this.#maxToken = record.token;
      this.#tokenOwner = record.owner;
      this.terms.push({ token: record.token, owner: record.owner, at: this.clock.now() });
    }
  }

  #runWritten(key: string, body: Uint8Array | string, options: PutOptions): void {
    this.checks++;
    const next = parse(body) as Omit<AuditedRun, 'key' | 'slotMs' | 'claimedAt' | 'updatedAt' | 'statuses'>;
    const now = this.clock.now();
    const previous = this.runs.get(key);
    if (options.ifNoneMatch === '*') {
      if (previous) {
        this.#violation(
          `second claim accepted for ${next.job} slot ${next.slot} (first by ${previous.workerId})`,
        );
        return;
      }
      if (next.epoch !== null && next.epoch < this.#maxToken) this.staleEpochClaims++;
      if (next.epoch !== null && next.epoch > this.#maxToken) {
        this.#violation(`claim of ${next.job} ${next.slot} under epoch ${next.epoch}, newer than any lease`);
      }
      if (!this.firstClaimAt.has(next.job)) this.firstClaimAt.set(next.job, now);
      const run: AuditedRun = {
        ...next,
        key,
        slotMs: Date.parse(next.slot),
        claimedAt: now,
        updatedAt: now,
        statuses: [next.status],
      };
      this.runs.set(key, run);
      this.claimedSlots.add(`${run.job}|${run.slotMs}`);
      if (run.status === 'running') this.running.add(run);
      return;
    }
    if (options.ifMatch === undefined || !previous) {
      this.#violation(`run record of ${next.job} ${next.slot} written without a claim or a condition`);
      return;
    }
    const problem = transitionProblem(previous, next);
    if (problem) {
      this.#violation(
        `fenced-out run write accepted on ${next.job} ${next.slot}: ${problem} (was ${previous.status} by ${previous.workerId} attempt ${previous.attempts}, now ${next.status} by ${next.workerId} attempt ${next.attempts})`,
      );
    }
    Object.assign(previous, {
      status: next.status,
      workerId: next.workerId,
      epoch: next.epoch,
      attempts: next.attempts,
      updatedAt: now,
    });
    previous.statuses.push(next.status);
    if (previous.status === 'running') this.running.add(previous);
    else this.running.delete(previous);
  }
}

/** What is wrong with moving a run record from `from` to `to`, if anything. */
function transitionProblem(
  from: AuditedRun,
  to: { status: string; workerId: string | null; runId: string; attempts: number },
): string | undefined {
  if (to.runId !== from.runId) return 'the run id changed';
  if (from.status === 'running') {
    if (to.status === 'running') {
      // A reclaim (recovery: 'rerun') takes the run over with the next attempt.
      if (to.workerId !== from.workerId && to.attempts !== from.attempts + 1)
        return 'taken over without a new attempt';
      return undefined;
    }
    if (to.status === 'abandoned') return undefined;
    // Any other final status is the holder finishing: it must still be the holder.
    if (to.workerId !== from.workerId) return 'finished by an instance that did not hold the run';
    return undefined;
  }
  if (from.status === 'abandoned' && to.status === 'running' && to.attempts === from.attempts + 1)
    return undefined;
  return `a '${from.status}' run is final`;
}

function parse(body: Uint8Array | string): unknown {
  return JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8'));
}
