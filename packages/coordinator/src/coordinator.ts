import {
  type Clock,
  checkKnownKeys,
  checkNumber,
  createNonce,
  createWorkerId,
  exponentialBackoff,
  invalidOption,
  SchedulerError,
  systemClock,
} from '@s3-scheduler/core';
import { LockClient, type LockHandle, lockKey } from '@s3-scheduler/lock';
import { decodeKeySegment, listAll, type ObjectStore, withResolvedOutcomes } from '@s3-scheduler/storage';
import mittModule, { type Emitter, type Handler } from 'mitt';
import type { CoordinatorEvents, DemotionReason } from './events.js';
import { WORKERS_PREFIX, type WorkerRecord, workerKey } from './worker-record.js';

export interface CoordinatorOptions {
  /** Relative keys `workers/…` and `locks/leader.json` are used; pass a `PrefixedStore` to share a bucket. */
  store: ObjectStore;
  /** Unique per process. Default `createWorkerId()` (host name, pid and random bits). */
  workerId?: string;
  /** Default: the system clock. */
  clock?: Clock;
  /** Heartbeat period in ms: worker docs, leader renewals and observations. Default 30000. */
  heartbeatInterval?: number;
  /** No bid before this many ms after `start()`, while the instance observes. Default 15000. */
  coldStartObservationWindow?: number;
  /** Bid at once after `start()` (tests, single instance). Default false. */
  skipColdStart?: boolean;
  /**
   * Leader lease (ms): how long a crashed leader's lease holds the cluster up, and so most of the
   * failover time. The leader renews it every `renewFraction` of it. Default 12000, or
   * 3 × `heartbeatInterval` when that is shorter. Idle cost and failover for a given lease are in
   * the README.
   */
  leaseMs?: number;
  /**
   * The leader renews its lease this fraction of it after the last renewal while the store answers
   * fast (one write per renewal when idle): from 0.25 to 0.9. Default 0.75 (every 9 s of a 12 s
   * lease). Renewals come sooner, down to a quarter lease, while the store is slow: at least 4 times
   * the slowest of the last 8 write latencies is left when one is sent; and at most every half lease
   * for the first 3 renewals of a term and the 3 after a failed one.
   */
  renewFraction?: number;
  /** Extra wait beyond a dead leader's lease before taking over. Default lease / 10 within 100 ms–2 s. */
  marginMs?: number;
  /**
   * How often (ms) the designated successor (the follower first in line) reads the leader lease,
   * timed just after the leader's renewals, so it sees the last renewal of a crashed leader within
   * about this long, and a hand-over or release too. Reads only; the other followers read the lease
   * once per heartbeat. At most `heartbeatInterval`; equal to it turns the checks off. Default: the
   * leader's renewal period (half the lease), or `heartbeatInterval` when that is shorter.
   */
  leaseCheckInterval?: number;
  /**
   * What the leader publishes in its lease besides its standby and live workers: called at each
   * renewal, it returns a small JSON object (or `undefined`) that followers read with
   * `getLeaseData()` at no request of their own. Keys `standby` and `workers` are the
   * coordinator's; one that throws publishes nothing that renewal.
   */
  leaseData?: () => Record<string, unknown> | undefined;
}

const KNOWN_OPTIONS = [
  'store',
  'workerId',
  'clock',
  'heartbeatInterval',
  'coldStartObservationWindow',
  'skipColdStart',
  'leaseMs',
  'renewFraction',
  'marginMs',
  'leaseCheckInterval',
  'leaseData',
] as const;

/** The leader lease is the lock of this name. */
export const LEADER_LOCK = 'leader';
/** A worker whose heartbeat doc has not changed for this many intervals is not active. */
const STALE_AFTER_HEARTBEATS = 3;
/** The leader deletes worker docs unchanged for this many intervals (crashed workers). */
const FORGET_AFTER_HEARTBEATS = 10;
/** Default `leaseMs` (when 3 heartbeats are longer): failover p50 about 11 s, max about 20 s. */
const DEFAULT_LEASE_MS = 12_000;
/** Default `renewFraction`: one write per three quarters of the lease when idle and fast. */
const DEFAULT_RENEW_FRACTION = 0.75;
/** A successor reads this long after the leader's expected renewal, so the write has landed. */
const CHECK_AFTER_RENEWAL_MS = 500;
/** The leader publishes the live worker ids in its lease up to this many (beyond, followers list). */
const MAX_PUBLISHED_WORKERS = 200;
/** During a hand-over, the two instances involved read each other's answer this often (ms, at most). */
const HANDOVER_POLL_MS = 200;
/** The first wait (ms) before a round that failed while the lease was free runs again (at most H/8). */
const BID_RETRY_MS = 1_000;
/** A stopping leader offers its lease to at most this many workers in line (passing over stopping ones). */
const MAX_HANDOVER_OFFERS = 3;
/**
 * A leader lease that does not decode, or claims more than this many of our own leases, counts as
 * held by nobody known for that long, then is taken over (with an epoch above every earlier one).
 * Every instance of a cluster normally has the same lease, so a real leader is never cut short.
 */
const MAX_LEASE_FACTOR = 10;
/**
 * A lease up to this long is never taken for absurd, whatever this instance's own lease: the
 * instances of one cluster may be configured differently (a rolling change of `leaseMs`, or one
 * set by hand), and cutting a real leader short would make two leaders. The plugin refuses
 * leases above it.
 */
const MAX_SANE_LEASE_MS = 600_000;
/** The leader lease's key, relative to the coordinator's store. */
export const LEADER_KEY = lockKey(LEADER_LOCK);

interface SeenWorker {
  etag: string;
  /** Monotonic time at which this observer first saw `etag`. */
  since: number;
}

// mitt ships ESM at runtime but CommonJS-style typings, which NodeNext reads as a namespace.
const mitt = mittModule as unknown as typeof mittModule.default;

const ABORTED = (() => {
  const controller = new AbortController();
  controller.abort(
    new SchedulerError('This instance is not the leader', {
      code: 'NOT_LEADER',
      operation: 'signal',
      suggestion: 'Wait for coordinator-promoted before starting leader-only work.',
    }),
  );
  return controller.signal;
})();

/**
 * Leader election over an object store. Every instance heartbeats `workers/<id>.json`; after a
 * cold-start observation window the live candidate with the smallest id bids for the `leader`
 * lease lock (anyone bids once the lease has been free for a further heartbeat, so a dead or silent
 * smallest id cannot wedge the cluster). The lease's fencing token is the epoch: it changes only
 * when the leader changes. While leading, the lease renewal replaces the worker heartbeat, so every
 * instance writes once per heartbeat interval when idle. Between heartbeats, the follower first in
 * line checks the lease (HEAD) every `leaseCheckInterval`, so it takes over within about that long
 * after the leader's `stop()` released it: reads only, and from one instance per cluster.
 */
export class Coordinator {
  readonly workerId: string;
  readonly heartbeatInterval: number;
  readonly coldStartObservationWindow: number;
  readonly skipColdStart: boolean;
  readonly leaseMs: number;
  readonly renewFraction: number;
  /** The leader renews its lease every this many ms while the store is fast (`renewFraction` of the lease). */
  readonly renewMs: number;
  readonly leaseCheckInterval: number;
  readonly #store: ObjectStore;
  readonly #clock: Clock;
  readonly #locks: LockClient;
  readonly #emitter: Emitter<CoordinatorEvents> = mitt<CoordinatorEvents>();
  readonly #workers = new Map<string, SeenWorker>();
  #handle: LockHandle | undefined;
  #leader: { workerId: string; epoch: number } | null = null;
  #epoch = 0;
  /** Monotonic time at which the observed leader lease becomes available to take over. */
  #leaderAvailableAt: number | undefined;
  /** Monotonic time since which the lease has been seen free (released, expired or missing). */
  #freeSince: number | undefined;
  /** Rounds in a row that failed while the lease was free, and when the next one runs (`#retrySoon`). */
  #failedBids = 0;
  #retryAt: number | undefined;
  /** Owner named by the lease as last read (holding, expired or released), if any. */
  #leaseOwner: string | undefined;
  /** ETag of the lease as last read (`null`: no lease object), to tell a changed lease from a HEAD. */
  #leaseEtag: string | null | undefined;
  /** Monotonic time of the last read of the lease (GET or HEAD). */
  #leaseReadAt = Number.NEGATIVE_INFINITY;
  /** After a failed check, no more until the next full round (not one error per check in an outage). */
  #leaseChecksPaused = false;
  /** Monotonic time of the successor's next lease check (just after the leader's next renewal). */
  #nextCheckAt = Number.NEGATIVE_INFINITY;
  /** Set while `handOver()` runs, so the release's demotion says it was a hand-over. */
  #handingOver = false;
  /**
   * What the leader published in its lease as last read: its standby (the follower that watches the
   * lease) and the workers it sees alive, so followers need not list `workers/` themselves.
   */
  #published: { standby?: string; workers?: string[] } | undefined;
  /** The lease's `data` as last read while someone held it (`leaseData` returned it there). */
  #leaseData: Record<string, unknown> | undefined;
  readonly #extraLeaseData: (() => Record<string, unknown> | undefined) | undefined;
  /** While leading: the standby named in the lease (the follower that reads it between heartbeats). */
  #standby: string | undefined;
  /** While leading and handing over: the worker offered the lease. */
  #offeredTo: string | undefined;
  /** A hand-over offered to this instance and accepted: watch the lease closely until this ends. */
  #accepting: { epoch: number; until: number } | undefined;
  #coldStartEnds = 0;
  #startedAt = 0;
  #stop: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #stopping = false;
  /** After `resign()`: heartbeats go on (marked draining), but this instance neither leads nor bids. */
  #draining = false;
  /** Whose lease this instance saw free last before bidding, and whether it was released (not expired). */
  #predecessor: { workerId: string; released: boolean } | undefined;

  constructor(options: CoordinatorOptions) {
    if (typeof options !== 'object' || options === null || typeof options.store?.put !== 'function') {
      throw invalid(
        'store',
        typeof options === 'object' && options !== null ? options.store : options,
        'an ObjectStore (an object with get, put, head, delete and list)',
        'Pass { store } with an ObjectStore, such as new MemoryStore() or new S3Store({ … }).',
      );
    }
    checkKnownKeys(options, KNOWN_OPTIONS, { operation: 'Coordinator', option: 'options' });
    this.#clock = options.clock ?? systemClock;
    this.workerId = options.workerId ?? createWorkerId();
    if (
      typeof this.workerId !== 'string' ||
      this.workerId === '' ||
      this.workerId.length > 128 ||
      decodeKeySegment(workerKey(this.workerId).slice(WORKERS_PREFIX.length, -'.json'.length)) !==
        this.workerId
    ) {
      throw invalid(
        'workerId',
        options.workerId,
        'a string of 1–128 characters',
        'Use 1–128 characters (letters, digits, "_" and "-" keep keys short), or leave it out for createWorkerId().',
      );
    }
    this.heartbeatInterval = duration('heartbeatInterval', options.heartbeatInterval ?? 30_000, 1);
    this.coldStartObservationWindow = duration(
      'coldStartObservationWindow',
      options.coldStartObservationWindow ?? 15_000,
      0,
    );
    if (options.skipColdStart !== undefined && typeof options.skipColdStart !== 'boolean') {
      throw invalid(
        'skipColdStart',
        options.skipColdStart,
        'true or false',
        'Pass true or false, or leave it out (false).',
      );
    }
    this.skipColdStart = options.skipColdStart ?? false;
    this.leaseMs = duration(
      'leaseMs',
      options.leaseMs ?? Math.min(DEFAULT_LEASE_MS, 3 * this.heartbeatInterval),
      2,
      MAX_SANE_LEASE_MS,
    );
    this.renewFraction = checkNumber(
      options.renewFraction ?? DEFAULT_RENEW_FRACTION,
      { operation: 'Coordinator', option: 'renewFraction' },
      { min: 0.25, max: 0.9 },
    );
    this.renewMs = Math.round(this.leaseMs * this.renewFraction);
    const marginMs = options.marginMs === undefined ? undefined : duration('marginMs', options.marginMs, 0);
    this.leaseCheckInterval = duration(
      'leaseCheckInterval',
      options.leaseCheckInterval ?? Math.min(this.renewMs, this.heartbeatInterval),
      1,
    );
    if (this.leaseCheckInterval > this.heartbeatInterval) {
      throw invalid(
        'leaseCheckInterval',
        options.leaseCheckInterval,
        `at most heartbeatInterval (${this.heartbeatInterval} ms)`,
        `Pass a value from 1 to ${this.heartbeatInterval} ms (equal to heartbeatInterval turns the checks off), ` +
          `or leave it out for the default (${Math.min(this.renewMs, this.heartbeatInterval)} ms).`,
      );
    }
    if (options.leaseData !== undefined && typeof options.leaseData !== 'function') {
      throw invalid(
        'leaseData',
        options.leaseData,
        'a function returning a small JSON object',
        'Pass leaseData: () => ({ … }), or leave it out.',
      );
    }
    this.#extraLeaseData = options.leaseData;
    this.#store = withResolvedOutcomes(options.store, { clock: this.#clock });
    this.#locks = new LockClient({
      store: this.#store,
      clock: this.#clock,
      owner: this.workerId,
      // A lease claiming more than this (corrupted, or absurd like 1e300) is taken over after it.
      maxLeaseMs: Math.max(MAX_LEASE_FACTOR * this.leaseMs, MAX_SANE_LEASE_MS),
      ...(marginMs === undefined ? {} : { marginMs }),
    });
  }

  on<K extends keyof CoordinatorEvents>(type: K, handler: Handler<CoordinatorEvents[K]>): void {
    this.#emitter.on(type, handler);
  }

  off<K extends keyof CoordinatorEvents>(type: K, handler?: Handler<CoordinatorEvents[K]>): void {
    this.#emitter.off(type, handler);
  }

  /** True while this instance provably holds the leader lease (checked against its deadline now). */
  isLeader(): boolean {
    return this.#handle?.held === true;
  }

  /** The leader's worker id as last observed, or `null` when there is none. */
  getLeader(): string | null {
    if (this.isLeader()) return this.workerId;
    // A lease still naming this instance after it stepped down is not a leader anyone can use.
    const observed = this.#leader?.workerId ?? null;
    return observed === this.workerId ? null : observed;
  }

  /** The epoch of the current (or last known) leader term; 0 before any leader was seen. */
  getEpoch(): number {
    return this.isLeader() ? this.#handle!.token : this.#epoch;
  }

  get epoch(): number {
    return this.getEpoch();
  }

  /**
   * The current term's `AbortSignal` while leading: it fires (with `LOCK_NOT_HELD`) the moment
   * leadership can no longer be proven, before anyone else can be elected. Not leading: an
   * already-aborted signal (`NOT_LEADER`), so leader-only work started with it stops at once.
   */
  get signal(): AbortSignal {
    const handle = this.#handle;
    return handle && !handle.signal.aborted ? handle.signal : ABORTED;
  }

  /** Worker ids seen alive (heartbeat changed within 3 intervals, or holding the lease), sorted. */
  getActiveWorkers(): string[] {
    const active = new Set<string>();
    if (this.#loop) active.add(this.workerId);
    const leader = this.getLeader();
    if (leader) active.add(leader);
    const published = this.isLeader() ? undefined : this.#published?.workers;
    for (const id of published ?? this.#liveWorkers()) active.add(id);
    return [...active].sort(compareIds);
  }

  /**
   * What the leader published with `leaseData`, as this follower last read the lease (the standby
   * reads it after each renewal, the other followers once per heartbeat); `undefined` while
   * leading, when no leader is known, or when the leader published none.
   */
  getLeaseData(): Record<string, unknown> | undefined {
    return this.isLeader() || !this.#leader ? undefined : this.#leaseData;
  }

  /** Starts heartbeating and observing; resolves after the first heartbeat round. Idempotent. */
  async start(): Promise<void> {
    if (this.#loop) return;
    this.#stopping = false;
    this.#stop = new AbortController();
    this.#startedAt = this.#clock.now();
    const startedMono = this.#clock.monotonic();
    this.#coldStartEnds = this.skipColdStart ? startedMono : startedMono + this.coldStartObservationWindow;
    const first = this.#round(startedMono, true, this.skipColdStart);
    this.#loop = first.then(() => this.#run(startedMono, this.#stop!.signal));
    await first;
  }

  /**
   * Graceful hand-over, for a leader about to stop, with no moment without a leader worth the
   * name and never two at once. The leader offers the lease to the live worker first in line (a
   * renewal naming it) and keeps leading; that successor sees the offer at its next lease check
   * (within `leaseCheckInterval`), answers in its worker doc and watches the lease closely; the
   * leader sees the answer, releases, and the successor takes the lease within about 200 ms plus
   * two requests. A successor that is stopping too (draining, or gone) is passed over for the next
   * live worker in line, which reads the lease only once per heartbeat: the leader then leads on
   * for up to `heartbeatInterval` more. Resolves `true` once released to a successor that is ready
   * (`coordinator-demoted` with reason `handed-over` has fired), `false` when this instance does
   * not lead, has no live successor that is not stopping, or no answer came in time (the lease is
   * still held then; `stop()` or `resign()` releases it as usual). Never throws; store failures
   * are emitted as `coordinator-error`.
   */
  async handOver(): Promise<boolean> {
    const handle = this.#handle;
    if (!handle?.held || !this.#loop) return false;
    if (!(await this.#awaitSuccessor(handle))) return false;
    this.#handingOver = true;
    try {
      return await handle.release();
    } catch (error) {
      this.#error(error);
      return false;
    } finally {
      this.#handingOver = false;
    }
  }

  /**
   * Offers the lease to the live worker first in line and waits (leading on) until it answers
   * that it is ready. One that is stopping too (draining, or gone) is passed over for the next in
   * line, so a leader and its successor stopping together leave the lease to a third instance
   * with no gap, rather than releasing it to nobody (the others would then take over only after
   * about a heartbeat). `true` when a successor answered. Waits for an answer at most two
   * `leaseCheckInterval`s from the standby (it reads the lease that often), and one
   * `heartbeatInterval` more from another worker (it reads the lease once per heartbeat).
   */
  async #awaitSuccessor(handle: LockHandle): Promise<boolean> {
    // A fresh view of who is alive: the last listing may be a heartbeat old.
    await this.#observeWorkers().catch((error: unknown) => this.#error(error));
    const candidates = this.#liveWorkers()
      .filter((id) => id !== this.workerId)
      .sort(compareIds);
    const standby = this.#standby ?? candidates[0];
    try {
      for (const successor of candidates.slice(0, MAX_HANDOVER_OFFERS)) {
        if (!handle.held) return false;
        const answer = await this.#offer(handle, successor, successor === standby);
        if (answer === 'ready') return true;
        if (answer === 'silent') return false; // alive but no answer: release, as before
      }
      return false;
    } catch (error) {
      this.#error(error);
      return false;
    } finally {
      this.#offeredTo = undefined;
    }
  }

  /**
   * Offers the lease to `successor` (a renewal naming it, and naming it standby) unless its worker
   * doc says it is draining or it is gone, then reads that doc every 200 ms for its answer.
   */
  async #offer(
    handle: LockHandle,
    successor: string,
    watchesLease: boolean,
  ): Promise<'ready' | 'stopping' | 'silent'> {
    const key = workerKey(successor);
    const before = await this.#store.get(key);
    if (!before || readAnswer(before.body).draining) return 'stopping';
    this.#offeredTo = successor;
    this.#publishView(handle);
    await handle.handOver(successor);
    const waitMs =
      2 * this.leaseCheckInterval + CHECK_AFTER_RENEWAL_MS + (watchesLease ? 0 : this.heartbeatInterval);
    const giveUpAt = this.#clock.monotonic() + waitMs;
    const poll = Math.min(HANDOVER_POLL_MS, this.leaseCheckInterval);
    let etag = before.etag;
    while (handle.held && this.#clock.monotonic() < giveUpAt) {
      await this.#clock.sleep(poll);
      const seen = await this.#store.head(key);
      if (!seen) return 'stopping'; // it stopped: nobody to wait for
      if (seen.etag === etag) continue;
      etag = seen.etag;
      const answer = await this.#store.get(key);
      if (!answer) return 'stopping';
      const { accepts, draining } = readAnswer(answer.body);
      if (accepts === handle.token) return 'ready';
      if (draining) return 'stopping'; // it is stopping too (a whole deployment going down)
    }
    return 'silent';
  }

  /**
   * Gives leadership up (for a graceful stop) and stops bidding, but keeps heartbeating, with
   * `draining: true` in the worker record, until `stop()`: the others still see this instance
   * alive, so what it is finishing is not taken for orphaned work. While leading, it first hands
   * over like `handOver()` (leading on until the successor is ready: at most two
   * `leaseCheckInterval`s, plus a `heartbeatInterval` when the successor first in line is stopping
   * too), then releases the lease. Idempotent; a no-op before `start()`.
   */
  async resign(): Promise<void> {
    if (!this.#loop || this.#draining) return;
    const handle = this.#handle;
    const ready = handle?.held ? await this.#awaitSuccessor(handle) : false;
    this.#draining = true;
    // The heartbeat first: the successor lists workers before it bids, so it sees this one fresh.
    await this.#writeHeartbeat().catch((error: unknown) => this.#error(error));
    if (!handle) return;
    this.#handingOver = ready;
    try {
      await handle.release();
    } catch (error) {
      this.#error(error);
    } finally {
      this.#handingOver = false;
    }
  }

  /** True while `resign()` has been called and `stop()` not yet. */
  get draining(): boolean {
    return this.#draining;
  }

  /**
   * True when this instance took leadership over from `workerId` after that instance released the
   * lease (a graceful stop: it may still be finishing runs, heartbeating as draining), rather than
   * after its lease expired (crashed or cut off).
   */
  tookOverByRelease(workerId: string): boolean {
    return this.#predecessor?.workerId === workerId && this.#predecessor.released;
  }

  /**
   * Stops: releases the leader lease if held (the successor, checking the lease every
   * `leaseCheckInterval`, takes over within about that long, with the next epoch) and deletes this
   * worker's heartbeat doc. Never throws for store failures; they are emitted as `coordinator-error`.
   */
  async stop(): Promise<void> {
    if (!this.#loop) return;
    this.#stopping = true;
    this.#stop?.abort();
    await this.#loop;
    this.#loop = undefined;
    this.#draining = false;
    const handle = this.#handle;
    if (handle) await handle.release().catch((error: unknown) => this.#error(error));
    await this.#store.delete(workerKey(this.workerId)).catch((error: unknown) => this.#error(error));
    this.#workers.clear();
    this.#leader = null;
    this.#freeSince = undefined;
    this.#retryAt = undefined;
    this.#failedBids = 0;
    this.#leaderAvailableAt = undefined;
    this.#leaseOwner = undefined;
    this.#leaseEtag = undefined;
    this.#leaseData = undefined;
  }

  async #run(startedMono: number, signal: AbortSignal): Promise<void> {
    const interval = this.heartbeatInterval;
    const coldStartEnds = this.#coldStartEnds;
    let nextHeartbeat = startedMono + interval;
    let lastRoundAt = startedMono;
    while (!signal.aborted) {
      const now = this.#clock.monotonic();
      // Wake for the next heartbeat, the end of cold start, the moment the observed lease becomes
      // free, and the moment anyone may bid for a free lease; whichever comes first. In between, the
      // successor only checks the lease. A moment counts until a round has started at or after it:
      // one that fell due while the last round waited on a slow store runs at once rather than being
      // dropped. The heartbeat always counts (it is never before the last round), so the loop always
      // has a wake-up ahead of it.
      // Only the instance first in line wakes when the observed lease runs out; the others read
      // it at their heartbeat rounds (they bid only after a further heartbeat anyway).
      const firstInLine = this.#isStandby();
      const availableAt = firstInLine ? this.#leaderAvailableAt : undefined;
      const events = [coldStartEnds, availableAt, (this.#freeSince ?? -Infinity) + interval, this.#retryAt];
      const pending = events.filter((at): at is number => at !== undefined && at > lastRoundAt);
      const roundAt = Math.min(nextHeartbeat, ...pending);
      if (this.#accepting && now >= this.#accepting.until) this.#accepting = undefined;
      let checkAt = this.#watchesLease(now) ? this.#nextCheckAt : Infinity;
      if (this.#accepting) checkAt = Math.min(checkAt, this.#leaseReadAt + HANDOVER_POLL_MS);
      try {
        await this.#clock.sleep(Math.max(0, Math.min(roundAt, checkAt) - now), signal);
      } catch {
        return;
      }
      const at = this.#clock.monotonic();
      if (at < roundAt) {
        await this.#checkLease(at);
        continue;
      }
      const heartbeat = at >= nextHeartbeat;
      if (heartbeat) nextHeartbeat = Math.max(nextHeartbeat + interval, at + 1);
      lastRoundAt = at;
      this.#leaseChecksPaused = false;
      await this.#round(at, heartbeat, at >= coldStartEnds);
    }
  }

  /**
   * Whether this instance checks the lease between rounds: a follower past cold start, while a
   * leader holds the lease, when it is first in line to succeed it (no live worker with a smaller
   * id other than the leader). Only that one follower reads often, so reads do not grow with the
   * cluster and a release does not start a stampede of bids.
   */
  #watchesLease(now: number): boolean {
    if (this.leaseCheckInterval >= this.heartbeatInterval || this.#leaseChecksPaused) return false;
    if (this.#stopping || this.#draining || this.isLeader() || now < this.#coldStartEnds) return false;
    // No leader known (a cluster starting, a lease just freed): every follower looks, briefly.
    if (!this.#leader) return true;
    if (this.#leader.workerId === this.workerId) return false;
    return this.#isStandby();
  }

  /**
   * Whether this follower is the one that watches the lease: the standby the leader names in it,
   * or, when the lease names none (an older leader), the live worker first in line.
   */
  #isStandby(): boolean {
    const standby = this.#published?.standby;
    return standby !== undefined ? standby === this.workerId : this.#smallerCandidates().length === 0;
  }

  /**
   * The leader names its standby (the live worker first in line) and the live workers in its lease,
   * sent with the next renewal at no extra request, so followers need not list `workers/`.
   */
  #publishView(handle: LockHandle): void {
    const live = this.#liveWorkers()
      .filter((id) => id !== this.workerId)
      .sort(compareIds);
    // During a hand-over, the worker offered the lease is the standby (it may not be first in line).
    const standby = this.#offeredTo ?? live[0];
    this.#standby = standby;
    const view = {
      ...(standby === undefined ? {} : { standby }),
      ...(live.length <= MAX_PUBLISHED_WORKERS ? { workers: [this.workerId, ...live].sort(compareIds) } : {}),
    };
    const extra = this.#extraLeaseData;
    // Called at each write. A throwing `leaseData` must not cost the view: it goes out alone.
    const safeExtra = () => {
      try {
        return extra?.();
      } catch {
        return undefined;
      }
    };
    handle.setData(extra ? () => ({ ...safeExtra(), ...view }) : view);
  }

  /**
   * One read of the lease (a GET: a HEAD would be followed by a GET after nearly every renewal),
   * and a bid if it was released, expired or handed over to this instance.
   */
  async #checkLease(at: number): Promise<void> {
    try {
      await this.#observeLease(at, true);
    } catch (error) {
      this.#leaseChecksPaused = true;
      this.#error(error);
      this.#retrySoon(at >= this.#coldStartEnds);
    }
  }

  /**
   * When the successor reads next: just after the leader's next renewal as its record announces
   * it (`renewedAt + renewMs`, on the leader's wall clock), so a crashed leader's last renewal is
   * seen within about `CHECK_AFTER_RENEWAL_MS` and the lease is taken over about one lease after
   * the crash. Clock skew only moves the reads: they stay between half and one
   * `leaseCheckInterval` apart, so cost and the failover bound hold whatever the clocks say.
   */
  #scheduleCheck(now: number, changed: boolean, renewedAt?: number, renewMs?: number): void {
    const interval = this.leaseCheckInterval;
    let delay = interval;
    if (changed && renewedAt !== undefined && renewMs !== undefined) {
      const untilRenewal = renewedAt + renewMs + CHECK_AFTER_RENEWAL_MS - this.#clock.now();
      delay = Math.min(interval, Math.max(interval / 2, untilRenewal));
    }
    this.#nextCheckAt = now + delay;
  }

  /** One round: heartbeat (unless leading), observe workers and the lease, and maybe bid. */
  async #round(now: number, heartbeat: boolean, mayBid: boolean): Promise<void> {
    try {
      if (heartbeat && !this.isLeader()) await this.#writeHeartbeat();
      // A follower lists workers only when the leader's lease does not tell who is alive.
      const told = this.#leader !== null && this.#published?.workers !== undefined;
      if (this.isLeader() ? heartbeat : !told) await this.#observeWorkers();
      if (this.isLeader()) {
        if (heartbeat) {
          this.#publishView(this.#handle!);
          await this.#forgetDeadWorkers();
        }
        return;
      }
      // The successor's own checks read the lease often enough; a round adds nothing to them,
      // unless it is the moment the observed lease runs out.
      const expired = this.#leaderAvailableAt !== undefined && now >= this.#leaderAvailableAt;
      if (this.#leader && this.#watchesLease(now) && this.#nextCheckAt > now && !expired) return;
      await this.#observeLease(now, mayBid);
      this.#failedBids = 0;
    } catch (error) {
      this.#error(error);
      this.#retrySoon(mayBid);
    }
  }

  /**
   * After a round that failed while the lease is free (the bid, or the reads before it, refused by
   * the store: a 500, a 503, a timeout), the next round comes after a short back-off rather than a
   * heartbeat later: with a heartbeat per attempt, a run of refused bids left the cluster without a
   * leader for minutes (simulation seed 316 of the fresh range: four refused bids, 555 s).
   * Back-off: `heartbeatInterval / 8` (at most 1 s) doubling up to half a heartbeat.
   */
  #retrySoon(mayBid: boolean): void {
    if (!mayBid || this.isLeader() || this.#freeSince === undefined || this.#stopping || this.#draining) {
      this.#failedBids = 0;
      return;
    }
    this.#failedBids++;
    const initialMs = Math.min(BID_RETRY_MS, this.heartbeatInterval / 8);
    this.#retryAt =
      this.#clock.monotonic() +
      exponentialBackoff(this.#failedBids, { initialMs, maxMs: this.heartbeatInterval / 2 });
  }

  async #writeHeartbeat(acceptsHandOver?: number): Promise<void> {
    const record: WorkerRecord = {
      workerId: this.workerId,
      startedAt: this.#startedAt,
      lastHeartbeat: this.#clock.now(),
      epoch: this.getEpoch(),
      nonce: createNonce(),
      ...(acceptsHandOver === undefined ? {} : { acceptsHandOver }),
      ...(this.#draining ? { draining: true } : {}),
    };
    await this.#store.put(workerKey(this.workerId), JSON.stringify(record), {
      contentType: 'application/json',
    });
  }

  /** Lists heartbeat docs; a doc is live while its ETag keeps changing (observer's own clock). */
  async #observeWorkers(): Promise<void> {
    const seen = new Set<string>();
    for await (const object of listAll(this.#store, WORKERS_PREFIX)) {
      const at = this.#clock.monotonic();
      const segment = object.key.slice(WORKERS_PREFIX.length, -'.json'.length);
      const id = object.key.endsWith('.json') ? decodeKeySegment(segment) : undefined;
      if (id === undefined) continue;
      seen.add(id);
      const known = this.#workers.get(id);
      if (!known || known.etag !== object.etag) this.#workers.set(id, { etag: object.etag, since: at });
    }
    for (const id of this.#workers.keys()) if (!seen.has(id)) this.#workers.delete(id);
  }

  #liveWorkers(): string[] {
    const now = this.#clock.monotonic();
    const staleAfter = STALE_AFTER_HEARTBEATS * this.heartbeatInterval;
    return [...this.#workers].filter(([, seen]) => now - seen.since < staleAfter).map(([id]) => id);
  }

  /**
   * Live workers ahead of this one in line for the lease. The lease's owner is never counted: it
   * leads, or it released the lease (it is stopping), or its lease expired (it is gone).
   */
  #smallerCandidates(): string[] {
    return this.#liveWorkers().filter((id) => id < this.workerId && id !== this.#leaseOwner);
  }

  /** Reads the leader lease, follows the leader it names, or bids when it is free. */
  async #observeLease(now: number, mayBid: boolean): Promise<void> {
    this.#leaseReadAt = now;
    const info = await this.#locks.inspect(LEADER_LOCK);
    const changed = (info?.etag ?? null) !== this.#leaseEtag;
    this.#scheduleCheck(now, changed, info?.renewedAt, info?.renewMs);
    if (info?.problem && changed) this.#error(info.problem);
    this.#leaseEtag = info?.etag ?? null;
    this.#leaseOwner = info?.owner;
    this.#published = info?.state === 'held' ? readPublished(info.data) : undefined;
    this.#leaseData = info?.state === 'held' ? info.data : undefined;
    if (info?.problem && !info.available) {
      // Nobody known leads under a corrupted lease: wait it out, then bid as for an expired one.
      this.#freeSince = undefined;
      this.#leaderAvailableAt = this.#clock.monotonic() + info.availableInMs;
      this.#epoch = Math.max(this.#epoch, info.token);
      this.#leader = null;
      return;
    }
    // A lease this instance wrote while it took the write for failed (a bid or renewal whose answer
    // was lost or timed out after the server applied it) is its own: taken back at once below,
    // not followed and waited out while nobody leads (simulation seed 220).
    const ownWrite = info?.ownWrite === true && info.state === 'held' && !this.#handle;
    if (info && info.state === 'held' && !info.available && !ownWrite) {
      this.#freeSince = undefined;
      this.#leaderAvailableAt = this.#clock.monotonic() + info.availableInMs;
      this.#follow(info.owner, info.token);
      if (info.successor === this.workerId && !this.#stopping && !this.#draining)
        await this.#acceptHandOver(info.token);
      return;
    }
    // Free: never taken, released, or unchanged past its lease plus margin (its holder is gone).
    // An expired lease has been free since it ran out as this instance saw it, not since this read:
    // a follower reading once per heartbeat would otherwise wait a heartbeat more before bidding
    // (simulation seed 216, with the standby dead: 90 s without a leader, bound 89 s).
    const ranOut = this.#leaderAvailableAt;
    this.#leaderAvailableAt = undefined;
    if (info) this.#epoch = Math.max(this.#epoch, info.token);
    if (this.#leader) this.#leader = null;
    this.#freeSince ??= ranOut !== undefined && ranOut <= now ? ranOut : now;
    if (!mayBid || this.#stopping || this.#draining) return;
    // Bidding order needs a fresh view of who is alive (followers do not list while led); it also
    // shows a predecessor that is draining as alive before this instance takes over.
    await this.#observeWorkers();
    const smaller = this.#smallerCandidates();
    const waitedLongEnough = this.#clock.monotonic() - this.#freeSince >= this.heartbeatInterval;
    const handedToMe = this.#accepting !== undefined && info?.token === this.#accepting.epoch;
    if (smaller.length > 0 && !waitedLongEnough && !handedToMe && !ownWrite) return;
    // Taking back its own lease, the predecessor is still the one this instance's first bid replaced.
    if (!ownWrite)
      this.#predecessor = info ? { workerId: info.owner, released: info.state === 'released' } : undefined;
    const handle = await this.#locks.acquire(LEADER_LOCK, {
      leaseMs: this.leaseMs,
      renewMs: this.renewMs,
      autoRenew: true,
    });
    // The lock client hands out held handles only (a bid answered after its lease ran out is
    // renewed first, or counts as lost). Checked all the same: promoting a handle whose signal has
    // already fired would announce a term that no demotion ever ends (simulation seed 309).
    if (handle?.held) this.#promote(handle);
    else {
      if (handle) void handle.release().catch(() => undefined);
      await this.#observeLease(this.#clock.monotonic(), false);
    }
  }

  /**
   * The leader offers its lease to this instance: answer in the worker doc (which the leader reads
   * closely) and read the lease closely until the release, so the hand-over leaves no real gap.
   */
  async #acceptHandOver(epoch: number): Promise<void> {
    const now = this.#clock.monotonic();
    if (this.#accepting?.epoch === epoch && now < this.#accepting.until) return;
    this.#accepting = { epoch, until: now + 2 * this.leaseCheckInterval + CHECK_AFTER_RENEWAL_MS };
    await this.#writeHeartbeat(epoch);
  }

  #follow(workerId: string, epoch: number): void {
    const previous = this.#leader;
    this.#epoch = Math.max(this.#epoch, epoch);
    if (previous && previous.workerId === workerId && previous.epoch === epoch) return;
    this.#leader = { workerId, epoch };
    this.#emit('coordinator-elected', {
      workerId,
      epoch,
      previousWorkerId: previous?.workerId ?? null,
      timestamp: this.#clock.now(),
    });
  }

  #promote(handle: LockHandle): void {
    if (this.#stopping || this.#draining) {
      void handle.release().catch(() => undefined);
      return;
    }
    this.#handle = handle;
    this.#accepting = undefined;
    this.#freeSince = undefined;
    this.#leaderAvailableAt = undefined;
    const predecessor = this.#predecessor;
    if (predecessor && !predecessor.released && predecessor.workerId !== this.workerId) {
      // Its lease expired: it is gone (or paused) until its worker doc changes again. Its doc was
      // not written while it led, but this instance may have first listed it only now (followers
      // go by the lease's list), which would count it live for three more heartbeats: it was
      // then named standby in the lease, nobody watched the lease, and a second leader loss took
      // 30–40 s to be noticed (failover bench on RGW, a kill about 75 s after the previous one).
      const known = this.#workers.get(predecessor.workerId);
      if (known)
        this.#workers.set(predecessor.workerId, { etag: known.etag, since: Number.NEGATIVE_INFINITY });
    }
    this.#publishView(handle);
    if (predecessor?.released && predecessor.workerId !== this.workerId) {
      // It released the lease a moment ago: alive, draining (its worker doc was not written while
      // it led, so it looks stale here). It counts as live from now on, and stays so while its
      // draining heartbeats keep coming; gone once its doc is deleted or stops changing.
      const known = this.#workers.get(predecessor.workerId);
      this.#workers.set(predecessor.workerId, { etag: known?.etag ?? '', since: this.#clock.monotonic() });
    }
    handle.signal.addEventListener('abort', () => this.#demote(handle), { once: true });
    this.#follow(this.workerId, handle.token);
    this.#emit('coordinator-promoted', {
      workerId: this.workerId,
      epoch: handle.token,
      timestamp: this.#clock.now(),
    });
  }

  #demote(handle: LockHandle): void {
    if (this.#handle !== handle) return;
    this.#handle = undefined;
    const error = handle.signal.reason as SchedulerError;
    const lost = (error?.metadata?.reason as DemotionReason | undefined) ?? 'expired';
    const reason: DemotionReason =
      this.#handingOver && lost === 'released'
        ? 'handed-over'
        : (this.#stopping || this.#draining) && lost === 'released'
          ? 'stopped'
          : lost;
    // A hand-over or a stop is what was asked for, not a failure: no error to report.
    const voluntary = reason === 'handed-over' || reason === 'stopped';
    this.#emit('coordinator-demoted', {
      workerId: this.workerId,
      epoch: handle.token,
      reason,
      timestamp: this.#clock.now(),
      ...(voluntary ? {} : { error }),
    });
  }

  /** The leader forgets worker docs that have not changed for many intervals (crashed workers). */
  async #forgetDeadWorkers(): Promise<void> {
    const now = this.#clock.monotonic();
    for (const [id, seen] of this.#workers) {
      if (id === this.workerId || now - seen.since < FORGET_AFTER_HEARTBEATS * this.heartbeatInterval)
        continue;
      await this.#store.delete(workerKey(id), { ifMatch: seen.etag });
      this.#workers.delete(id);
    }
  }

  #emit<K extends keyof CoordinatorEvents>(type: K, payload: CoordinatorEvents[K]): void {
    try {
      this.#emitter.emit(type, payload);
    } catch (error) {
      // A listener's bug must not stop coordination.
      if (type !== 'coordinator-error') this.#error(error);
    }
  }

  #error(error: unknown): void {
    this.#emit('coordinator-error', { workerId: this.workerId, error, timestamp: this.#clock.now() });
  }
}

/** The leader's published view from its lease data; anything malformed is ignored, never obeyed. */
function readPublished(data: Record<string, unknown> | undefined): { standby?: string; workers?: string[] } {
  if (!data) return {};
  const standby = typeof data.standby === 'string' ? data.standby : undefined;
  const workers =
    Array.isArray(data.workers) && data.workers.every((id) => typeof id === 'string')
      ? (data.workers as string[])
      : undefined;
  return { ...(standby === undefined ? {} : { standby }), ...(workers === undefined ? {} : { workers }) };
}

/** What a worker doc says about a hand-over: the epoch it is ready to take over, and whether it drains. */
function readAnswer(body: Uint8Array): { accepts: number | undefined; draining: boolean } {
  try {
    const record = JSON.parse(new TextDecoder().decode(body)) as Partial<WorkerRecord>;
    const accepts = typeof record.acceptsHandOver === 'number' ? record.acceptsHandOver : undefined;
    return { accepts, draining: record.draining === true };
  } catch {
    return { accepts: undefined, draining: false };
  }
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function duration(option: string, value: unknown, min: number, max?: number): number {
  // The shared validation of @s3-scheduler/core: finite, within [min, max], shown truthfully.
  return checkNumber(
    value,
    { operation: 'Coordinator', option },
    { min, ...(max === undefined ? {} : { max }), unit: 'ms' },
  );
}

/** An `INVALID_OPTION` naming the option, the rule it breaks (`expected`) and what to pass instead. */
function invalid(option: string, value: unknown, expected: string, suggestion: string): SchedulerError {
  return invalidOption({ operation: 'Coordinator', option }, value, expected, suggestion);
}
