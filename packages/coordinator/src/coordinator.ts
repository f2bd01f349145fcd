import { type Clock, createNonce, createWorkerId, SchedulerError, systemClock } from '@s3-scheduler/core';
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
  /** Leader lease. Default 3 × `heartbeatInterval`, so renewals (every lease / 3) are one per heartbeat. */
  leaseMs?: number;
  /** Extra wait beyond a dead leader's lease before taking over. Default lease / 10 within 100 ms–2 s. */
  marginMs?: number;
  /**
   * How often the designated successor (the follower first in line) checks the leader lease with a
   * HEAD, so it takes over within about this long after a graceful `stop()`. Reads only; the other
   * followers read the lease once per heartbeat as before. At most `heartbeatInterval`; equal to it
   * turns the checks off. Default 500, or `heartbeatInterval` when that is shorter.
   */
  leaseCheckInterval?: number;
}

const KNOWN_OPTIONS = [
  'store',
  'workerId',
  'clock',
  'heartbeatInterval',
  'coldStartObservationWindow',
  'skipColdStart',
  'leaseMs',
  'marginMs',
  'leaseCheckInterval',
] as const;

/** The leader lease is the lock of this name. */
export const LEADER_LOCK = 'leader';
/** A worker whose heartbeat doc has not changed for this many intervals is not active. */
const STALE_AFTER_HEARTBEATS = 3;
/** The leader deletes worker docs unchanged for this many intervals (crashed workers). */
const FORGET_AFTER_HEARTBEATS = 10;
/**
 * A leader lease that does not decode, or claims more than this many of our own leases, counts as
 * held by nobody known for that long, then is taken over (with an epoch above every earlier one).
 * Every instance of a cluster normally has the same lease, so a real leader is never cut short.
 */
const MAX_LEASE_FACTOR = 10;
/** Default `leaseCheckInterval`: a graceful hand-over in well under a second. */
const DEFAULT_LEASE_CHECK_INTERVAL = 500;
const LEADER_KEY = lockKey(LEADER_LOCK);

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
  /** Owner named by the lease as last read (holding, expired or released), if any. */
  #leaseOwner: string | undefined;
  /** ETag of the lease as last read (`null`: no lease object), to tell a changed lease from a HEAD. */
  #leaseEtag: string | null | undefined;
  /** Monotonic time of the last read of the lease (GET or HEAD). */
  #leaseReadAt = Number.NEGATIVE_INFINITY;
  /** After a failed check, no more until the next full round (not one error per check in an outage). */
  #leaseChecksPaused = false;
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
      throw invalid('store', undefined, 'Pass { store } with an ObjectStore, such as new MemoryStore().');
    }
    for (const key of Object.keys(options)) {
      if (!(KNOWN_OPTIONS as readonly string[]).includes(key)) {
        throw new SchedulerError(`Unknown coordinator option '${key}'`, {
          code: 'UNKNOWN_OPTION',
          operation: 'Coordinator',
          metadata: { option: key, known: KNOWN_OPTIONS },
          suggestion: `Use one of: ${KNOWN_OPTIONS.join(', ')}.`,
        });
      }
    }
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
        'Use 1–128 characters, or leave it out for createWorkerId().',
      );
    }
    this.heartbeatInterval = duration('heartbeatInterval', options.heartbeatInterval ?? 30_000, 1);
    this.coldStartObservationWindow = duration(
      'coldStartObservationWindow',
      options.coldStartObservationWindow ?? 15_000,
      0,
    );
    if (options.skipColdStart !== undefined && typeof options.skipColdStart !== 'boolean') {
      throw invalid('skipColdStart', options.skipColdStart, 'Pass true or false.');
    }
    this.skipColdStart = options.skipColdStart ?? false;
    this.leaseMs = duration('leaseMs', options.leaseMs ?? 3 * this.heartbeatInterval, 1);
    const marginMs = options.marginMs === undefined ? undefined : duration('marginMs', options.marginMs, 0);
    this.leaseCheckInterval = duration(
      'leaseCheckInterval',
      options.leaseCheckInterval ?? Math.min(DEFAULT_LEASE_CHECK_INTERVAL, this.heartbeatInterval),
      1,
    );
    if (this.leaseCheckInterval > this.heartbeatInterval) {
      throw invalid(
        'leaseCheckInterval',
        options.leaseCheckInterval,
        `Pass at most heartbeatInterval (${this.heartbeatInterval} ms); equal to it turns the checks off.`,
      );
    }
    this.#store = withResolvedOutcomes(options.store, { clock: this.#clock });
    this.#locks = new LockClient({
      store: this.#store,
      clock: this.#clock,
      owner: this.workerId,
      // A lease claiming more than this (corrupted, or absurd like 1e300) is taken over after it.
      maxLeaseMs: MAX_LEASE_FACTOR * this.leaseMs,
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
    for (const id of this.#liveWorkers()) active.add(id);
    return [...active].sort(compareIds);
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
   * Gives leadership up at once (releases the lease if held, so the successor takes over within
   * about `leaseCheckInterval`) and stops bidding, but keeps heartbeating, with `draining: true`
   * in the worker record, until `stop()`: the others still see this instance alive, so what it
   * is finishing is not taken for orphaned work. Idempotent; a no-op before `start()`.
   */
  async resign(): Promise<void> {
    if (!this.#loop || this.#draining) return;
    this.#draining = true;
    // The heartbeat first: the successor lists workers before it bids, so it sees this one fresh.
    await this.#writeHeartbeat().catch((error: unknown) => this.#error(error));
    const handle = this.#handle;
    if (handle) await handle.release().catch((error: unknown) => this.#error(error));
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
    this.#leaderAvailableAt = undefined;
    this.#leaseOwner = undefined;
    this.#leaseEtag = undefined;
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
      const events = [coldStartEnds, this.#leaderAvailableAt, (this.#freeSince ?? -Infinity) + interval];
      const pending = events.filter((at): at is number => at !== undefined && at > lastRoundAt);
      const roundAt = Math.min(nextHeartbeat, ...pending);
      const checkAt = this.#watchesLease(now) ? this.#leaseReadAt + this.leaseCheckInterval : Infinity;
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
    if (!this.#leader || this.#leader.workerId === this.workerId) return false;
    return this.#smallerCandidates().length === 0;
  }

  /**
   * HEAD on the lease; only when its ETag changed, the full read (and a bid if it was released).
   * Unchanged means the leader has neither renewed nor released since the last read, which is the
   * common case: a renewal comes once per heartbeat, a release once per term.
   */
  async #checkLease(at: number): Promise<void> {
    this.#leaseReadAt = at;
    try {
      const info = await this.#store.head(LEADER_KEY);
      if ((info?.etag ?? null) === this.#leaseEtag) return;
      await this.#observeLease(this.#clock.monotonic(), true);
    } catch (error) {
      this.#leaseChecksPaused = true;
      this.#error(error);
    }
  }

  /** One round: heartbeat (unless leading), observe workers and the lease, and maybe bid. */
  async #round(now: number, heartbeat: boolean, mayBid: boolean): Promise<void> {
    try {
      if (heartbeat && !this.isLeader()) await this.#writeHeartbeat();
      if (heartbeat || !this.isLeader()) await this.#observeWorkers();
      if (this.isLeader()) {
        if (heartbeat) await this.#forgetDeadWorkers();
        return;
      }
      await this.#observeLease(now, mayBid);
    } catch (error) {
      this.#error(error);
    }
  }

  async #writeHeartbeat(): Promise<void> {
    const record: WorkerRecord = {
      workerId: this.workerId,
      startedAt: this.#startedAt,
      lastHeartbeat: this.#clock.now(),
      epoch: this.getEpoch(),
      nonce: createNonce(),
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
    if (info?.problem && info.etag !== this.#leaseEtag) this.#error(info.problem);
    this.#leaseEtag = info?.etag ?? null;
    this.#leaseOwner = info?.owner;
    if (info?.problem && !info.available) {
      // Nobody known leads under a corrupted lease: wait it out, then bid as for an expired one.
      this.#freeSince = undefined;
      this.#leaderAvailableAt = this.#clock.monotonic() + info.availableInMs;
      this.#epoch = Math.max(this.#epoch, info.token);
      this.#leader = null;
      return;
    }
    if (info && info.state === 'held' && !info.available) {
      this.#freeSince = undefined;
      this.#leaderAvailableAt = this.#clock.monotonic() + info.availableInMs;
      this.#follow(info.owner, info.token);
      return;
    }
    // Free: never taken, released, or unchanged past its lease plus margin (its holder is gone).
    this.#leaderAvailableAt = undefined;
    if (info) this.#epoch = Math.max(this.#epoch, info.token);
    if (this.#leader) this.#leader = null;
    this.#freeSince ??= now;
    if (!mayBid || this.#stopping || this.#draining) return;
    const smaller = this.#smallerCandidates();
    const waitedLongEnough = this.#clock.monotonic() - this.#freeSince >= this.heartbeatInterval;
    if (smaller.length > 0 && !waitedLongEnough) return;
    this.#predecessor = info ? { workerId: info.owner, released: info.state === 'released' } : undefined;
    const handle = await this.#locks.acquire(LEADER_LOCK, { leaseMs: this.leaseMs, autoRenew: true });
    if (handle) this.#promote(handle);
    else await this.#observeLease(this.#clock.monotonic(), false);
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
    this.#freeSince = undefined;
    this.#leaderAvailableAt = undefined;
    const predecessor = this.#predecessor;
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
      (this.#stopping || this.#draining) && lost === 'released' ? 'stopped' : lost;
    this.#emit('coordinator-demoted', {
      workerId: this.workerId,
      epoch: handle.token,
      reason,
      timestamp: this.#clock.now(),
      error,
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

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function duration(option: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value === Infinity) {
    throw invalid(option, value, `Pass ${option} as a finite number of milliseconds ≥ ${min}.`);
  }
  return value;
}

function invalid(option: string, value: unknown, suggestion: string): SchedulerError {
  return new SchedulerError(`Invalid coordinator option '${option}': ${String(value)}`, {
    code: 'INVALID_OPTION',
    operation: 'Coordinator',
    metadata: { option, value },
    suggestion,
  });
}
