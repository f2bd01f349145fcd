import { type Clock, createNonce, isSchedulerError, SchedulerError, showValue } from '@s3-scheduler/core';
import { isPreconditionFailed, type ObjectStore } from '@s3-scheduler/storage';
import { encodeLockRecord, type LockRecord } from './lock-record.js';

/** Why a handle stopped holding its lease (the `reason` in its error's metadata). */
export type LockLossReason = 'released' | 'taken-over' | 'expired' | 'release-failed';

/** What the client shares with the handles it creates. */
export interface HandleContext {
  store: ObjectStore;
  clock: Clock;
  /** Tells the client's observer about an ETag this holder wrote (judged from the response time). */
  observe(key: string, etag: string): void;
  /** Tells the client about a write of this holder whose outcome is unknown (it may have applied). */
  unknownOutcome(key: string, body: string): void;
}

export interface HandleInit {
  name: string;
  key: string;
  owner: string;
  token: number;
  leaseMs: number;
  acquiredAt: number;
  etag: string;
  /** Monotonic time at which the winning write was sent. */
  sentAt: number;
  autoRenew: boolean;
  /**
   * Renewal period of `autoRenew` (ms), below `leaseMs`, while the store answers fast; shorter
   * when it does not (see `LockHandle.nextRenewalMs`).
   */
  renewMs: number;
}

/** Renewal latencies (ms) remembered to plan the next renewal: the slowest of these counts. */
const LATENCY_SAMPLES = 8;
/**
 * A renewal is sent while at least this many times the slowest recent latency is left of the lease:
 * room for a slow answer, a retry after an error and another slow answer.
 */
const LATENCY_FACTOR = 4;
/**
 * Until this many writes were timed (a new tenure), and for this many renewals after a failed
 * one, renewals come at most every half lease: a slow store is not known to be fast yet, and a
 * store that just failed may fail again (simulation seeds 202 and 214, slow store).
 */
const CAUTIOUS_RENEWALS = 3;

/** The first renewal period of a tenure (`renewMs`, at most half the lease): what its acquire announces. */
export function firstRenewalMs(leaseMs: number, renewMs: number): number {
  return Math.min(renewMs, leaseMs / 2);
}

/**
 * A held lease. It is valid until `leaseMs` after the *send* time of its last successful write
 * (acquire or renew), on this process's monotonic clock: the server applied the write at some
 * point after that, and observers start counting only once they have seen it, so the holder's
 * view always ends first. `signal` aborts the moment that can no longer be proven.
 */
export class LockHandle {
  readonly name: string;
  readonly key: string;
  readonly owner: string;
  /** The fencing token of this tenure. Pass it to the resources you protect. */
  readonly token: number;
  readonly leaseMs: number;
  /** Wall-clock time of acquisition (informational). */
  readonly acquiredAt: number;
  readonly #context: HandleContext;
  readonly #controller = new AbortController();
  /** Stops the handle's timers (on loss or release). */
  readonly #timers = new AbortController();
  #etag: string;
  #sentAt: number;
  #renewing: Promise<void> | undefined;
  /** Renewals sent since the last known write whose outcome is unknown (they may have applied). */
  #unknown: Array<{ body: string; sentAt: number }> = [];
  #released = false;
  readonly #autoRenew: boolean;
  /** Renewal period (ms) of the auto-renew loop, written into the record for observers. */
  readonly renewMs: number;
  /** The owner asked to take over (graceful hand-over), written into every later record. */
  #successor: string | undefined;
  /** Published with every later write (`setData`); a function is called at each write. */
  #data: Record<string, unknown> | (() => Record<string, unknown> | undefined) | undefined;
  /** Durations (ms) of the last writes of this tenure (the acquire's, renewals, failed ones too). */
  readonly #latencies: number[] = [];
  /** Renewals still kept within half the lease (a new tenure, or after a failed renewal). */
  #cautious = CAUTIOUS_RENEWALS;

  constructor(context: HandleContext, init: HandleInit) {
    this.#context = context;
    this.name = init.name;
    this.key = init.key;
    this.owner = init.owner;
    this.token = init.token;
    this.leaseMs = init.leaseMs;
    this.acquiredAt = init.acquiredAt;
    this.#etag = init.etag;
    this.#sentAt = init.sentAt;
    this.#autoRenew = init.autoRenew;
    this.renewMs = init.renewMs;
    this.#noteLatency(context.clock.monotonic() - init.sentAt);
    void this.#watchDeadline();
    if (this.#autoRenew) void this.#renewLoop();
  }

  /** Aborts (with a `LOCK_NOT_HELD` `SchedulerError`) as soon as the lease cannot be proven held. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** True while the lease is provably held: not lost, not released, and before `deadline`. */
  get held(): boolean {
    return !this.#controller.signal.aborted && this.#context.clock.monotonic() < this.deadline;
  }

  /** Monotonic time (`clock.monotonic()`) at which the lease ends unless renewed. */
  get deadline(): number {
    return this.#sentAt + this.leaseMs;
  }

  /** Milliseconds of lease left (0 once lost). */
  get remainingMs(): number {
    return this.held ? this.deadline - this.#context.clock.monotonic() : 0;
  }

  /** ETag of the last write of this holder. */
  get etag(): string {
    return this.#etag;
  }

  /**
   * Extends the lease by `leaseMs` from now with a compare-and-swap on the last ETag. Rejects with
   * `LOCK_NOT_HELD` when the lease is lost (and fires `signal`), or with `STORE_UNAVAILABLE` when
   * the store did not answer; the lease then stays valid until `deadline`, so retrying is safe.
   */
  renew(): Promise<void> {
    this.#renewing ??= this.#renew().finally(() => {
      this.#renewing = undefined;
    });
    return this.#renewing;
  }

  /**
   * Publishes `data` (a small JSON object) in the lock record from the next write on: the next
   * renewal, hand-over or release. Costs no request of its own. A function is called at each
   * write, so what it returns is as fresh as the last renewal; one that throws publishes nothing.
   */
  setData(data: Record<string, unknown> | (() => Record<string, unknown> | undefined) | undefined): void {
    this.#data = data;
  }

  /**
   * The delay (ms) from one renewal of `autoRenew` to the next, as planned now: `renewMs` while
   * the store answers fast, sooner so that at least 4 times the slowest of the last 8 write
   * latencies is left of the lease when a renewal is sent, and at most half the lease for the
   * first 3 renewals of a tenure and the 3 after a failed one. Never below a quarter of the lease.
   */
  get nextRenewalMs(): number {
    return this.#period(this.#cautious);
  }

  /** The renewal period with `cautious` renewals still kept within half the lease. */
  #period(cautious: number): number {
    let period = this.renewMs;
    if (cautious > 0) period = Math.min(period, this.leaseMs / 2);
    const slowest = Math.max(0, ...this.#latencies);
    period = Math.min(period, this.leaseMs - LATENCY_FACTOR * slowest);
    return Math.max(Math.min(this.renewMs, this.leaseMs / 4), period);
  }

  /**
   * Offers the lease to `successor`: renews (compare-and-swap) with the record naming it, and keeps
   * naming it in later renewals. The lease stays held and valid, so the holder goes on working;
   * naming a successor grants it nothing. It tells the successor to get ready (watch the lease
   * closely) for the `release()` that ends this tenure. Rejects like `renew()`.
   */
  async handOver(successor: string): Promise<void> {
    if (typeof successor !== 'string' || successor === '' || successor === this.owner) {
      throw new SchedulerError(
        `handOver needs the id of another owner than '${this.owner}', got ${showValue(successor)}`,
        {
          code: 'INVALID_OPTION',
          operation: 'handOver',
          metadata: { successor },
          suggestion: 'Pass the worker id of the instance that should take the lease over.',
        },
      );
    }
    this.#successor = successor;
    await this.#renewing?.catch(() => undefined);
    await this.renew();
  }

  /**
   * Ends the tenure: a compare-and-swap to `state: 'released'`, keeping the token, so the next
   * holder gets `token + 1` at once. Resolves `true` when this call released the lease, `false`
   * when it was no longer held. Rejects with `STORE_UNAVAILABLE` when the store did not answer;
   * the handle is given up anyway and the lease simply runs out.
   */
  async release(): Promise<boolean> {
    if (this.#released) return false;
    this.#released = true;
    this.#timers.abort();
    await this.#renewing?.catch(() => undefined);
    if (!this.held) {
      this.#lose('expired');
      return false;
    }
    const body = this.#body('released');
    try {
      const { etag } = await this.#context.store.put(this.key, body, { ifMatch: this.#etag });
      this.#etag = etag;
      this.#context.observe(this.key, etag);
      this.#lose('released');
      return true;
    } catch (error) {
      if (isPreconditionFailed(error)) {
        this.#lose('taken-over', error);
        return false;
      }
      this.#lose('release-failed', error);
      throw error;
    }
  }

  async #renew(): Promise<void> {
    try {
      return await this.#renewOnce();
    } catch (error) {
      if (!isPreconditionFailed(error)) throw error;
      // A 412: someone wrote since this holder's last known write, unless that someone is this
      // holder, whose earlier renewal landed although it was taken for failed. Then that write
      // is the lease (held from its send time) and the renewal goes on from it.
      if (await this.#adoptUnknownWrite()) return this.#renewOnce();
      this.#lose('taken-over', error);
      throw this.#notHeldError(error);
    }
  }

  /** After a 412: whether the stored lease is one of this holder's unknown-outcome renewals (adopted). */
  async #adoptUnknownWrite(): Promise<boolean> {
    if (this.#unknown.length === 0) return false;
    const current = await this.#context.store.get(this.key).catch(() => null);
    const text = current ? new TextDecoder().decode(current.body) : undefined;
    const mine = this.#unknown.find((write) => write.body === text);
    this.#unknown = [];
    if (!current || !mine) return false;
    this.#etag = current.etag;
    this.#sentAt = Math.max(this.#sentAt, mine.sentAt);
    this.#context.observe(this.key, current.etag);
    return true;
  }

  async #renewOnce(): Promise<void> {
    if (this.#released) throw this.#notHeldError();
    if (!this.held) {
      this.#lose('expired');
      throw this.#notHeldError();
    }
    const body = this.#body('held');
    const sentAt = this.#context.clock.monotonic();
    const put = this.#context.store.put(this.key, body, { ifMatch: this.#etag, signal: this.signal });
    let etag: string;
    try {
      // The handle's signal aborts at the deadline, which also ends the store's own retries.
      ({ etag } = await raceSignal(put, this.signal));
      this.#noteLatency(this.#context.clock.monotonic() - sentAt);
      if (this.#cautious > 0) this.#cautious--;
    } catch (error) {
      this.#noteLatency(this.#context.clock.monotonic() - sentAt);
      this.#cautious = CAUTIOUS_RENEWALS;
      // Taken over, or this holder's own earlier write landed: `#renew` tells which.
      if (isPreconditionFailed(error)) throw error;
      this.#unknown.push({ body, sentAt });
      this.#context.unknownOutcome(this.key, body);
      if (!this.held) {
        this.#lose('expired', error);
        // Should the abandoned write still land, give the lease back rather than leave it to expire.
        put.then(({ etag: late }) => this.#giveBack(late)).catch(() => undefined);
        throw this.#notHeldError(error);
      }
      throw error;
    }
    if (!this.held) {
      // The write landed after the deadline had been declared: too late to trust it.
      this.#giveBack(etag);
      throw this.#notHeldError();
    }
    this.#etag = etag;
    this.#sentAt = sentAt;
    this.#unknown = [];
    this.#context.observe(this.key, etag);
  }

  /** Best effort: marks a lease written too late as released, so nobody waits it out. */
  #giveBack(etag: string): void {
    this.#context.observe(this.key, etag);
    this.#context.store
      .put(this.key, this.#body('released'), { ifMatch: etag })
      .then(({ etag: released }) => this.#context.observe(this.key, released))
      .catch(() => undefined);
  }

  #noteLatency(ms: number): void {
    this.#latencies.push(Math.max(0, ms));
    if (this.#latencies.length > LATENCY_SAMPLES) this.#latencies.shift();
  }

  #publishedData(): Record<string, unknown> | undefined {
    if (typeof this.#data !== 'function') return this.#data;
    try {
      return this.#data();
    } catch {
      // Whatever the caller publishes must not cost the lease: the write goes out without it.
      return undefined;
    }
  }

  #body(state: LockRecord['state']): string {
    const data = this.#publishedData();
    return encodeLockRecord({
      owner: this.owner,
      token: this.token,
      nonce: createNonce(),
      leaseMs: this.leaseMs,
      state,
      acquiredAt: this.acquiredAt,
      renewedAt: this.#context.clock.now(),
      // Observers time their reads just after the next renewal: the one that follows this write
      // when it succeeds (a successful renewal counts as one of the cautious ones).
      renewMs: this.#autoRenew ? this.#period(Math.max(0, this.#cautious - 1)) : this.renewMs,
      ...(state === 'held' && this.#successor !== undefined ? { successor: this.#successor } : {}),
      ...(data === undefined ? {} : { data }),
    });
  }

  /** Fires `signal` when the deadline passes without a renewal having moved it. */
  async #watchDeadline(): Promise<void> {
    const { clock } = this.#context;
    try {
      while (!this.#controller.signal.aborted) {
        const left = this.deadline - clock.monotonic();
        if (left <= 0) {
          this.#lose('expired');
          return;
        }
        await clock.sleep(left, this.#timers.signal);
      }
    } catch {
      // The timers were stopped: released or lost already.
    }
  }

  /** Renews every `nextRenewalMs`; after a failed attempt, retries sooner until the deadline. */
  async #renewLoop(): Promise<void> {
    const { clock } = this.#context;
    const retryMs = Math.max(1, Math.round(this.leaseMs / 15));
    let wakeAt = this.#sentAt + this.nextRenewalMs;
    try {
      while (!this.#timers.signal.aborted) {
        await clock.sleep(wakeAt - clock.monotonic(), this.#timers.signal);
        try {
          await this.renew();
          wakeAt = this.#sentAt + this.nextRenewalMs;
        } catch {
          if (!this.held) return;
          wakeAt = clock.monotonic() + retryMs;
        }
      }
    } catch {
      // Stopped.
    }
  }

  #lose(reason: LockLossReason, cause?: unknown): void {
    this.#timers.abort();
    if (this.#controller.signal.aborted) return;
    this.#controller.abort(this.#notHeldError(cause, reason));
  }

  #notHeldError(cause?: unknown, reason?: LockLossReason): SchedulerError {
    const existing = this.#controller.signal.reason;
    if (isSchedulerError(existing) && reason === undefined) return existing;
    const why = reason ?? 'expired';
    return new SchedulerError(`Lock '${this.name}' (token ${this.token}) is no longer held: ${why}`, {
      code: 'LOCK_NOT_HELD',
      operation: 'renew',
      metadata: { name: this.name, token: this.token, owner: this.owner, reason: why },
      suggestion:
        why === 'released'
          ? 'Acquire the lock again to start a new tenure.'
          : 'Stop the protected work: another holder may own the lock now. Acquire again to continue.',
      cause,
    });
  }
}

/** Settles with `promise`, or rejects with the signal's reason as soon as it aborts. */
function raceSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
