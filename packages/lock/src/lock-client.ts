import {
  type Clock,
  createNonce,
  createWorkerId,
  isSchedulerError,
  SchedulerError,
  showValue,
  systemClock,
} from '@s3-scheduler/core';
import {
  encodeKeySegment,
  isPreconditionFailed,
  type ObjectStore,
  withResolvedOutcomes,
} from '@s3-scheduler/storage';
import { firstRenewalMs, type HandleContext, LockHandle } from './lock-handle.js';
import {
  corrupted,
  decodeLockRecord,
  encodeLockRecord,
  type LockRecord,
  salvageToken,
} from './lock-record.js';
import { checkDuration, checkKnownOptions, defaultMarginMs } from './options.js';

export interface LockClientOptions {
  /** Where locks live, at `locks/<encoded name>.json` relative to this store. */
  store: ObjectStore;
  /** Default: the system clock. Tests pass a `ManualClock`. */
  clock?: Clock;
  /** Identity written as `owner`. Default: a new `createWorkerId('lock')` per client. */
  owner?: string;
  /**
   * How much longer than a holder's lease an observer waits before taking it over. Default: a
   * tenth of that lease, clamped to 100 ms–2 s.
   */
  marginMs?: number;
  /**
   * The longest lease this client believes. A lease stored with a longer `leaseMs` (an absurd
   * value such as 1e300), or a lock object that does not decode at all (corrupted, wrong shape),
   * counts as held for `maxLeaseMs` from when this client first saw it, then is taken over with a
   * token above every earlier one; such objects are reported as `problem` by `inspect`. Must be at
   * least every lease any holder of these locks uses. Default 24 h.
   */
  maxLeaseMs?: number;
}

export interface AcquireOptions {
  /** Length of the lease. Default 30000. */
  leaseMs?: number;
  /** Keep trying this long (ms) while someone else holds the lock. Default 0: one attempt. */
  wait?: number;
  /** Renew every `renewMs` in the background until release or loss. Default true. */
  autoRenew?: boolean;
  /**
   * Renewal period in ms, below `leaseMs`. Default `leaseMs / 3` (two more chances before the
   * lease runs out). A longer period costs fewer writes and leaves less time to retry a failed
   * renewal; the holder steps down at the deadline either way.
   */
  renewMs?: number;
  /** Stops waiting (rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** What `inspect` tells about a lock, as this client observes it. */
export interface LockInfo {
  name: string;
  key: string;
  owner: string;
  token: number;
  state: 'held' | 'released';
  leaseMs: number;
  acquiredAt: number;
  renewedAt: number;
  /** The holder's renewal period (ms), when its record says. */
  renewMs?: number;
  /** The owner the holder is handing over to (graceful hand-over), if any. */
  successor?: string;
  /** What the holder published with `LockHandle.setData`, if anything. */
  data?: Record<string, unknown>;
  etag: string;
  /** True when `acquire` could take it now: released, or unchanged past lease + margin. */
  available: boolean;
  /** How long this client has seen the current version unchanged, on its monotonic clock. */
  observedForMs: number;
  /** Milliseconds until it becomes available if nothing changes (0 when available). */
  availableInMs: number;
  /**
   * True when the stored object is a write of this client whose answer it never got (an acquire or
   * renewal that failed with an unknown outcome, e.g. a timeout after the server applied it), or
   * got only after the lease it wrote had run out: the lease is this client's, and `acquire` takes
   * it over at once instead of waiting it out.
   */
  ownWrite?: boolean;
  /**
   * Set when the stored object is not a sane lease (`STORE_CORRUPTED`): it does not decode (then
   * `owner` is `''`, `token` the best known) or its `leaseMs` exceeds `maxLeaseMs`. It still counts
   * as held for `maxLeaseMs`.
   */
  problem?: SchedulerError;
}

interface Observation {
  etag: string;
  since: number;
}

const CLIENT_OPTIONS = ['store', 'clock', 'owner', 'marginMs', 'maxLeaseMs'] as const;
const ACQUIRE_OPTIONS = ['leaseMs', 'wait', 'autoRenew', 'renewMs', 'signal'] as const;
const DEFAULT_LEASE_MS = 30_000;
const DEFAULT_MAX_LEASE_MS = 24 * 3_600_000;
/** Unknown-outcome writes remembered per lock (a few failed renewals in a row, then a bid). */
const MAX_UNKNOWN_WRITES = 8;

/** The key of a lock, relative to the client's store. */
export function lockKey(name: string): string {
  return `locks/${encodeKeySegment(name)}.json`;
}

/**
 * The key of a lock's fencing record: the highest token handed out, written before each take-over,
 * so a lock object that gets corrupted or deleted never brings tokens back down.
 */
export function fenceKey(name: string): string {
  return `fences/${encodeKeySegment(name)}.json`;
}

/**
 * Lease locks with fencing tokens on an object store: one JSON object per lock, create-only to
 * acquire, compare-and-swap on the ETag to take over, renew and release. Expiry of someone
 * else's lease is judged only by this client's monotonic clock, from the moment it first saw the
 * current ETag; wall clocks are never compared across machines.
 */
export class LockClient {
  readonly owner: string;
  readonly store: ObjectStore;
  readonly clock: Clock;
  readonly #marginMs: number | undefined;
  readonly maxLeaseMs: number;
  /** Highest token seen per lock key (a floor for the next one, whatever happens to the object). */
  readonly #highest = new Map<string, number>();
  readonly #observations = new Map<string, Observation>();
  /**
   * Per lock key, the bodies of this client's lease writes that hold nothing for it: their outcome
   * is unknown (the request failed without saying whether it applied), or they were answered only
   * after their lease had run out. Finding one stored means the lease is this client's to take back.
   */
  readonly #unknownWrites = new Map<string, string[]>();
  readonly #context: HandleContext;

  constructor(options: LockClientOptions) {
    if (typeof options !== 'object' || options === null || typeof options.store?.put !== 'function') {
      throw new SchedulerError('LockClient needs a store', {
        code: 'INVALID_OPTION',
        operation: 'LockClient',
        metadata: { option: 'store' },
        suggestion: 'Pass { store } with an ObjectStore, such as new MemoryStore().',
      });
    }
    checkKnownOptions('LockClient', options, CLIENT_OPTIONS);
    this.clock = options.clock ?? systemClock;
    // Outcome-unknown writes (409, 5xx, lost responses) are settled by re-reading: every body
    // written here carries a fresh nonce, so equal bytes identify our own write.
    this.store = withResolvedOutcomes(options.store, { clock: this.clock });
    this.owner = options.owner ?? createWorkerId('lock');
    if (typeof this.owner !== 'string' || this.owner === '') {
      throw new SchedulerError(`'owner' must be a non-empty string, got ${showValue(options.owner)}`, {
        code: 'INVALID_OPTION',
        operation: 'LockClient',
        metadata: { option: 'owner', value: options.owner },
        suggestion: 'Leave owner out to get a unique id, or pass a unique non-empty string.',
      });
    }
    this.#marginMs =
      options.marginMs === undefined
        ? undefined
        : checkDuration('LockClient', 'marginMs', options.marginMs, 0);
    this.maxLeaseMs = checkDuration(
      'LockClient',
      'maxLeaseMs',
      options.maxLeaseMs ?? DEFAULT_MAX_LEASE_MS,
      1,
      Number.MAX_SAFE_INTEGER,
    );
    this.#context = {
      store: this.store,
      clock: this.clock,
      observe: (key, etag) => this.#observe(key, etag, this.clock.monotonic()),
      unknownOutcome: (key, body) => this.#noteUnknownWrite(key, body),
    };
  }

  /** Margin this client adds to a lease of `leaseMs` before it takes that lease over. */
  marginFor(leaseMs: number): number {
    return this.#marginMs ?? defaultMarginMs(leaseMs);
  }

  /**
   * Takes the lock, or returns `null` when someone else holds it and `wait` ran out. A lock held
   * by another holder only becomes available once this client has seen it unchanged for its lease
   * plus the margin, so a first attempt without `wait` returns `null` for a live lock and also for
   * one whose holder just crashed. A handle returned is held (its `signal` has not fired): when the
   * store answers the acquiring write only after the lease it wrote ran out, one conditional renewal
   * is sent at once, and the attempt counts as lost (`null` without `wait`) unless it succeeds in
   * time; that lease is then taken back at once by the next `acquire` (see `LockInfo.ownWrite`).
   */
  async acquire(name: string, options: AcquireOptions = {}): Promise<LockHandle | null> {
    checkName(name, 'acquire');
    checkKnownOptions('acquire', options, ACQUIRE_OPTIONS);
    const leaseMs = checkDuration(
      'acquire',
      'leaseMs',
      options.leaseMs ?? DEFAULT_LEASE_MS,
      1,
      this.maxLeaseMs,
    );
    const wait = checkDuration('acquire', 'wait', options.wait ?? 0, 0);
    const autoRenew = options.autoRenew ?? true;
    const renewMs = checkDuration('acquire', 'renewMs', options.renewMs ?? leaseMs / 3, 1, leaseMs - 1);
    const { signal } = options;
    const giveUpAt = this.clock.monotonic() + wait;
    // While waiting, poll often enough to notice a release soon, and exactly at expiry.
    const pollMs = Math.max(1, Math.round(leaseMs / 4));
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      const attempt = await this.#tryAcquire(name, leaseMs, autoRenew, renewMs);
      if (attempt instanceof LockHandle) return attempt;
      const now = this.clock.monotonic();
      if (now >= giveUpAt) return null;
      const wakeAt = Math.min(giveUpAt, attempt.availableAt, now + pollMs);
      await this.clock.sleep(wakeAt - now, signal);
    }
  }

  /**
   * Runs `fn` while holding the lock (auto-renewed), then releases it. Throws `LOCK_TIMEOUT` when
   * the lock could not be taken within `wait`, and `LOCK_NOT_HELD` when the lease was lost while
   * `fn` ran (its result is then not trustworthy; `fn` should watch `handle.signal`).
   */
  async withLock<T>(
    name: string,
    fn: (handle: LockHandle) => Promise<T> | T,
    options: Omit<AcquireOptions, 'autoRenew'> = {},
  ): Promise<T> {
    const handle = await this.acquire(name, { ...options, autoRenew: true });
    if (!handle) {
      throw new SchedulerError(`Lock '${name}' is held by another holder`, {
        code: 'LOCK_TIMEOUT',
        operation: 'withLock',
        metadata: { name, wait: options.wait ?? 0 },
        suggestion: 'Retry later, or pass a longer { wait } in milliseconds.',
      });
    }
    let result: T;
    try {
      result = await fn(handle);
    } finally {
      const lost = handle.signal.aborted ? handle.signal.reason : undefined;
      await handle.release().catch(() => undefined);
      if (lost !== undefined) {
        // biome-ignore lint/correctness/noUnsafeFinally: losing the lease outranks the result.
        throw lost;
      }
    }
    return result;
  }

  /** Reads a lock without changing it; `null` when it has never been taken. */
  async inspect(name: string): Promise<LockInfo | null> {
    checkName(name, 'inspect');
    const key = lockKey(name);
    const current = await this.store.get(key);
    if (!current) return null;
    const seenAt = this.clock.monotonic();
    const { record, problem } = this.#decode(current.body, key);
    const observation = this.#observe(key, current.etag, seenAt);
    const availableAt = this.#availableAt(record, observation);
    const now = this.clock.monotonic();
    return {
      name,
      key,
      ...record,
      etag: current.etag,
      available: now >= availableAt,
      observedForMs: now - observation.since,
      availableInMs: Math.max(0, availableAt - now),
      ...(this.#isOwnWrite(key, current.body) ? { ownWrite: true } : {}),
      ...(problem ? { problem } : {}),
    };
  }

  /**
   * Decodes a stored lock. One that does not decode, or whose lease exceeds `maxLeaseMs`, becomes
   * a lease of `maxLeaseMs` held by nobody known, with the best token known, plus the problem.
   */
  #decode(body: Uint8Array, key: string): { record: LockRecord; problem?: SchedulerError } {
    let record: LockRecord;
    try {
      record = decodeLockRecord(body, key);
    } catch (error) {
      const token = Math.max(salvageToken(body) ?? 0, this.#highest.get(key) ?? 0);
      const problem = isSchedulerError(error) ? error : corrupted(key, 'unreadable', error);
      return {
        record: {
          owner: '',
          token,
          nonce: '',
          leaseMs: this.maxLeaseMs,
          state: 'held',
          acquiredAt: 0,
          renewedAt: 0,
        },
        problem,
      };
    }
    this.#highest.set(key, Math.max(record.token, this.#highest.get(key) ?? 0));
    if (record.leaseMs <= this.maxLeaseMs) return { record };
    return {
      record: { ...record, leaseMs: this.maxLeaseMs },
      problem: corrupted(key, `leaseMs ${record.leaseMs} exceeds maxLeaseMs ${this.maxLeaseMs}`),
    };
  }

  /** The highest token in the lock's fencing record (0 when none, or when it does not decode). */
  async #fencedToken(name: string): Promise<number> {
    const fence = await this.store.get(fenceKey(name));
    return fence ? (salvageToken(fence.body) ?? 0) : 0;
  }

  /** One round: create, or take over a released or expired lease; else when to look again. */
  async #tryAcquire(
    name: string,
    leaseMs: number,
    autoRenew: boolean,
    renewMs: number,
  ): Promise<LockHandle | { availableAt: number }> {
    const key = lockKey(name);
    // A lost race means someone else wrote in between: read again, a couple of times at most.
    for (let round = 0; round < 3; round++) {
      const current = await this.store.get(key);
      const seenAt = this.clock.monotonic();
      let previous: LockRecord | undefined;
      let trusted = false;
      if (current) {
        const decoded = this.#decode(current.body, key);
        previous = decoded.record;
        trusted = decoded.problem === undefined;
        const availableAt = this.#availableAt(previous, this.#observe(key, current.etag, seenAt));
        // This client's own write, believed failed, landed: nobody else holds it, so it is taken
        // over now (a new token, as for any take-over) rather than waited out (simulation seed 220).
        const own = this.#isOwnWrite(key, current.body);
        if (this.clock.monotonic() < availableAt && !own) return { availableAt };
      }
      // A sound lease carries the last token; a missing or corrupted one cannot be trusted with it,
      // so the fencing record (and every token this client has seen) sets the floor.
      let token = Math.max(previous?.token ?? 0, this.#highest.get(key) ?? 0) + 1;
      if (!trusted) token = Math.max(token, (await this.#fencedToken(name)) + 1);
      // The fence first: should the lease object be lost later, no token is ever handed out twice.
      await this.store.put(fenceKey(name), JSON.stringify({ token, nonce: createNonce() }), {
        contentType: 'application/json',
      });
      const acquiredAt = this.clock.now();
      const body = encodeLockRecord({
        owner: this.owner,
        token,
        nonce: createNonce(),
        leaseMs,
        state: 'held',
        acquiredAt,
        renewedAt: acquiredAt,
        // When the first renewal comes (a new tenure renews within half a lease, see LockHandle).
        renewMs: autoRenew ? firstRenewalMs(leaseMs, renewMs) : renewMs,
      });
      const sentAt = this.clock.monotonic();
      let etag: string;
      try {
        ({ etag } = await this.store.put(
          key,
          body,
          current ? { ifMatch: current.etag } : { ifNoneMatch: '*' },
        ));
      } catch (error) {
        if (isPreconditionFailed(error)) continue;
        // It may have applied all the same (`ResolvingStore` could not settle it): remembered,
        // so that finding it stored later is known for this client's own lease.
        this.#noteUnknownWrite(key, body);
        throw error;
      }
      this.#observe(key, etag, this.clock.monotonic());
      this.#highest.set(key, Math.max(token, this.#highest.get(key) ?? 0));
      this.#unknownWrites.delete(key);
      let written = { etag, sentAt };
      if (this.clock.monotonic() >= sentAt + leaseMs) {
        // Answered only after the lease it wrote had run out (a slow or hanging store): a handle
        // made from it would be lost before anyone could use it. The lease is still this client's
        // unless someone took it over since, which a conditional renewal tells at once.
        const record = { owner: this.owner, token, leaseMs, acquiredAt, renewMs };
        const renewed = await this.#renewLate(key, record, etag, body);
        if (!renewed) return { availableAt: this.clock.monotonic() };
        written = renewed;
      }
      return new LockHandle(this.#context, {
        name,
        key,
        owner: this.owner,
        token,
        leaseMs,
        acquiredAt,
        etag: written.etag,
        sentAt: written.sentAt,
        autoRenew,
        renewMs,
      });
    }
    return { availableAt: this.clock.monotonic() };
  }

  /**
   * One renewal of a lease whose acquire was answered after it ran out: a compare-and-swap on the
   * ETag that write got, so it succeeds only if nobody took the lease over meanwhile (then the
   * fencing is intact: same token, and nobody else held it). The lease is held from the renewal's
   * send time, so it counts only if answered within `leaseMs` of that. `null` when it was taken
   * over (412) or this answer came late too; the write left stored is then remembered as this
   * client's own, so the next `acquire` takes it back at once rather than waiting it out.
   */
  async #renewLate(
    key: string,
    record: Pick<LockRecord, 'owner' | 'token' | 'leaseMs' | 'acquiredAt' | 'renewMs'>,
    etag: string,
    lateBody: string,
  ): Promise<{ etag: string; sentAt: number } | null> {
    const body = encodeLockRecord({
      ...record,
      nonce: createNonce(),
      state: 'held',
      renewedAt: this.clock.now(),
    });
    const sentAt = this.clock.monotonic();
    let renewed: string;
    try {
      ({ etag: renewed } = await this.store.put(key, body, { ifMatch: etag }));
    } catch (error) {
      if (isPreconditionFailed(error)) return null;
      // The late write, or this renewal if it applied: either is this client's and holds nothing.
      this.#noteUnknownWrite(key, lateBody);
      this.#noteUnknownWrite(key, body);
      throw error;
    }
    this.#observe(key, renewed, this.clock.monotonic());
    if (this.clock.monotonic() < sentAt + record.leaseMs) return { etag: renewed, sentAt };
    this.#noteUnknownWrite(key, body);
    return null;
  }

  /** A lease write to `key` holds nothing for this client (see `#unknownWrites`). The last few are kept. */
  #noteUnknownWrite(key: string, body: string): void {
    const bodies = this.#unknownWrites.get(key) ?? [];
    bodies.push(body);
    this.#unknownWrites.set(key, bodies.slice(-MAX_UNKNOWN_WRITES));
  }

  /** Whether `stored` is one of this client's writes to `key` whose outcome it never learnt. */
  #isOwnWrite(key: string, stored: Uint8Array): boolean {
    const bodies = this.#unknownWrites.get(key);
    if (!bodies) return false;
    const text = new TextDecoder().decode(stored);
    return bodies.includes(text);
  }

  #availableAt(record: LockRecord, observation: Observation): number {
    if (record.state === 'released') return Number.NEGATIVE_INFINITY;
    return observation.since + record.leaseMs + this.marginFor(record.leaseMs);
  }

  /** Remembers when this client first saw each ETag: the start of an observer's expiry count. */
  #observe(key: string, etag: string, at: number): Observation {
    const known = this.#observations.get(key);
    if (known && known.etag === etag) return known;
    const observation = { etag, since: at };
    this.#observations.set(key, observation);
    return observation;
  }
}

function checkName(name: unknown, operation: string): asserts name is string {
  if (typeof name !== 'string' || name === '') {
    throw new SchedulerError(`A lock name must be a non-empty string, got ${showValue(name)}`, {
      code: 'INVALID_OPTION',
      operation,
      metadata: { option: 'name', value: name },
      suggestion: "Name the lock, for example acquire('nightly-report').",
    });
  }
}
