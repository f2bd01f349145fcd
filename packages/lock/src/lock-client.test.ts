import { isSchedulerError, SchedulerError } from '@s3-scheduler/core';
import { ManualClock, SkewedClock } from '@s3-scheduler/core/testing';
import { ForwardingStore, MemoryStore, type ObjectStore, type StoreOperation } from '@s3-scheduler/storage';
import {
  CountingStore,
  FaultyStore,
  GatedStore,
  LateAnswers,
  UnansweredWrites,
} from '@s3-scheduler/storage/testing';
import { describe, expect, it } from 'vitest';
import { LockClient, lockKey } from './index.js';

const LEASE = 9000;
const MARGIN = 900; // the default margin for a 9 s lease

async function readRecord(store: ObjectStore, name: string) {
  const object = await store.get(lockKey(name));
  return object ? (JSON.parse(new TextDecoder().decode(object.body)) as Record<string, unknown>) : null;
}

/** Every write takes `delayMs` of the clock's time; the next `failures` writes fail. */
class SlowWrites extends ForwardingStore {
  delayMs = 0;
  failures = 0;
  constructor(
    inner: ObjectStore,
    private readonly clock: ManualClock,
  ) {
    super(inner);
  }
  protected override async around<T>(operation: StoreOperation, _key: string, request: () => Promise<T>) {
    if (operation !== 'put') return request();
    await this.clock.sleep(this.delayMs);
    if (this.failures > 0) {
      this.failures--;
      throw new SchedulerError('injected', { code: 'STORE_UNAVAILABLE', retriable: true });
    }
    return request();
  }
}

function setup() {
  const clock = new ManualClock();
  const memory = new MemoryStore();
  const client = (owner: string, store: ObjectStore = memory) => new LockClient({ store, clock, owner });
  return { clock, memory, client };
}

describe('LockClient', () => {
  it('acquires a free lock with token 1 and writes exactly the documented record', async () => {
    const { memory, client } = setup();
    const handle = await client('a').acquire('job', { leaseMs: LEASE });
    expect(handle?.token).toBe(1);
    const record = await readRecord(memory, 'job');
    expect(Object.keys(record ?? {}).sort()).toEqual(
      ['acquiredAt', 'leaseMs', 'nonce', 'owner', 'renewMs', 'renewedAt', 'state', 'token'].sort(),
    );
    expect(record).toMatchObject({ owner: 'a', token: 1, leaseMs: LEASE, state: 'held', renewMs: LEASE / 3 });
  });

  it('renews every renewMs when given one, and refuses a period not shorter than the lease', async () => {
    const { clock, memory, client } = setup();
    const counter = new CountingStore(memory);
    const handle = await client('a', counter).acquire('job', { leaseMs: LEASE, renewMs: LEASE / 2 });
    expect(handle?.renewMs).toBe(LEASE / 2);
    counter.reset();
    await clock.advance(10 * LEASE);
    expect(counter.writes).toBe(20);
    expect(handle!.held).toBe(true);
    await expect(client('b').acquire('other', { leaseMs: LEASE, renewMs: LEASE })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
  });

  it('renews at renewMs while writes are fast, sooner while they are slow, within half a lease at first and after a failure', async () => {
    const { clock, memory, client } = setup();
    const store = new SlowWrites(memory, clock);
    const lease = 12_000;
    const handle = (await client('a', store).acquire('job', { leaseMs: lease, renewMs: 9000 }))!;
    // A new tenure: the first 3 renewals come every half lease, then every renewMs.
    const periods: number[] = [];
    for (let i = 0; i < 5; i++) {
      periods.push(handle.nextRenewalMs);
      await clock.advance(handle.nextRenewalMs);
    }
    expect(periods).toEqual([6000, 6000, 6000, 9000, 9000]);
    expect((await readRecord(memory, 'job'))?.renewMs).toBe(9000); // observers time their reads on it
    // Writes of 1.5 s: at least 4 × 1.5 s must be left when a renewal is sent.
    store.delayMs = 1500;
    await clock.advance(9000 + 1500);
    expect(handle.nextRenewalMs).toBe(6000);
    // Slower than a quarter lease can cover: never below a quarter lease.
    store.delayMs = 2500;
    await clock.advance(6000 + 2500);
    expect(handle.nextRenewalMs).toBe(3000);
    // Fast again: the slow writes age out of the last 8.
    store.delayMs = 0;
    for (let i = 0; i < 10; i++) await clock.advance(handle.nextRenewalMs);
    expect(handle.nextRenewalMs).toBe(9000);
    // A failed renewal (the store gave up after its own 6 attempts): retried, then 3 renewals
    // within half a lease.
    store.failures = 6;
    await clock.advance(handle.nextRenewalMs + 2000);
    expect(store.failures).toBe(0);
    await clock.advance(lease / 15);
    expect(handle.held).toBe(true);
    expect(handle.nextRenewalMs).toBe(6000);
    await handle.release();
  });

  it('handOver names a successor in every later record and keeps the lease held until release', async () => {
    const { clock, memory, client } = setup();
    const a = await client('a').acquire('job', { leaseMs: LEASE });
    await a!.handOver('b');
    expect(await readRecord(memory, 'job')).toMatchObject({
      owner: 'a',
      token: 1,
      state: 'held',
      successor: 'b',
    });
    // Naming a successor grants it nothing: the lease is still held and not available to b.
    expect(await client('b').acquire('job', { leaseMs: LEASE })).toBeNull();
    await clock.advance(LEASE);
    expect(a!.held).toBe(true);
    expect(await readRecord(memory, 'job')).toMatchObject({ successor: 'b' });
    expect(await a!.release()).toBe(true);
    expect(await readRecord(memory, 'job')).not.toHaveProperty('successor');
    expect((await client('b').acquire('job', { leaseMs: LEASE }))?.token).toBe(2);
    await expect(a!.handOver('a')).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(a!.handOver('')).rejects.toThrow(/^handOver needs the id of another owner than 'a', got /);
  });

  it('refuses a held lock and hands a released one over at once with token + 1', async () => {
    const { memory, client } = setup();
    const a = client('a');
    const b = client('b');
    const first = await a.acquire('job', { leaseMs: LEASE });
    expect(await b.acquire('job', { leaseMs: LEASE })).toBeNull();
    expect(await first!.release()).toBe(true);
    expect(first!.signal.aborted).toBe(true);
    expect((first!.signal.reason as SchedulerError).metadata.reason).toBe('released');
    const second = await b.acquire('job', { leaseMs: LEASE });
    expect(second?.token).toBe(2);
    expect(await readRecord(memory, 'job')).toMatchObject({ owner: 'b', token: 2, state: 'held' });
    expect(await first!.release()).toBe(false);
  });

  it('exactly one of ten concurrent contenders wins', async () => {
    const { client } = setup();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => client(`c${i}`).acquire('job', { leaseMs: LEASE })),
    );
    const winners = results.filter((handle) => handle !== null);
    expect(winners).toHaveLength(1);
    expect(winners[0]!.token).toBe(1);
  });

  it('renews every third of the lease and keeps the lock indefinitely', async () => {
    const { clock, memory } = setup();
    const counting = new CountingStore(memory);
    const a = new LockClient({ store: counting, clock, owner: 'a' });
    const b = new LockClient({ store: memory, clock, owner: 'b' });
    const handle = await a.acquire('job', { leaseMs: LEASE });
    counting.reset();
    for (let i = 0; i < 30; i++) {
      await clock.advance(1000);
      expect(await b.acquire('job', { leaseMs: LEASE })).toBeNull();
    }
    expect(handle!.held).toBe(true);
    expect(counting.counts.put).toBe(10); // 30 s / 3 s
    expect(counting.counts.delete).toBe(0);
    expect((await readRecord(memory, 'job'))?.token).toBe(1);
  });

  it('takes over a crashed holder only after lease + margin on the observer clock, after the holder signal fired', async () => {
    const { clock, client } = setup();
    const events: string[] = [];
    const holder = await client('a').acquire('job', { leaseMs: LEASE, autoRenew: false });
    holder!.signal.addEventListener('abort', () => events.push(`a lost at ${clock.monotonic()}`));
    const b = client('b');
    expect(await b.acquire('job', { leaseMs: LEASE })).toBeNull(); // b starts observing at t=0
    await clock.advance(LEASE + MARGIN - 1);
    expect(await b.acquire('job', { leaseMs: LEASE })).toBeNull();
    await clock.advance(1);
    const taken = await b.acquire('job', { leaseMs: LEASE });
    events.push(`b took over at ${clock.monotonic()} with token ${taken?.token}`);
    expect(events).toEqual([`a lost at ${LEASE}`, `b took over at ${LEASE + MARGIN} with token 2`]);
    await expect(holder!.renew()).rejects.toMatchObject({ code: 'LOCK_NOT_HELD' });
  });

  it('counts expiry from when the observer first saw the version, not from wall clocks', async () => {
    const clock = new ManualClock();
    const memory = new MemoryStore();
    // The holder's wall clock is an hour behind; the observer's wall clock jumps a day ahead.
    const a = new LockClient({ store: memory, clock: new SkewedClock(clock, -3_600_000), owner: 'a' });
    const b = new LockClient({ store: memory, clock, owner: 'b' });
    await a.acquire('job', { leaseMs: LEASE, autoRenew: false });
    await clock.advance(5000);
    expect(await b.inspect('job')).toMatchObject({ available: false, availableInMs: LEASE + MARGIN });
    clock.setWallTime(clock.now() + 86_400_000);
    expect(await b.acquire('job', { leaseMs: LEASE })).toBeNull();
    await clock.advance(LEASE + MARGIN);
    expect((await b.acquire('job', { leaseMs: LEASE }))?.token).toBe(2);
  });

  it('fires the signal when a renew finds the lock taken over (precondition failed)', async () => {
    const { clock, memory, client } = setup();
    const handle = await client('a').acquire('job', { leaseMs: LEASE });
    const current = await memory.get(lockKey('job'));
    await memory.put(
      lockKey('job'),
      JSON.stringify({
        owner: 'x',
        token: 5,
        nonce: 'n',
        leaseMs: 1,
        state: 'held',
        acquiredAt: 0,
        renewedAt: 0,
      }),
      {
        ifMatch: current!.etag,
      },
    );
    await clock.advance(LEASE / 3);
    expect(handle!.signal.aborted).toBe(true);
    expect(handle!.signal.reason).toMatchObject({
      code: 'LOCK_NOT_HELD',
      metadata: { reason: 'taken-over' },
    });
    expect(handle!.held).toBe(false);
  });

  it('fires the signal exactly at the lease end, measured from the last successful send, when renewals cannot succeed', async () => {
    const { clock, memory } = setup();
    const faulty = new FaultyStore(memory, { clock });
    const handle = await new LockClient({ store: faulty, clock, owner: 'a' }).acquire('job', {
      leaseMs: LEASE,
    });
    let firedAt: number | undefined;
    handle!.signal.addEventListener('abort', () => {
      firedAt = clock.monotonic();
    });
    await clock.advance(LEASE / 3); // one successful renewal, sent at t = 3000
    faulty.outage = true;
    await clock.advance(LEASE * 2);
    expect(firedAt).toBe(LEASE / 3 + LEASE);
    expect(handle!.signal.reason).toMatchObject({ code: 'LOCK_NOT_HELD', metadata: { reason: 'expired' } });
  });

  it('keeps the lease and its token through lost responses, 409s and 5xx during renewals', async () => {
    const { clock, memory } = setup();
    const faulty = new FaultyStore(memory, { clock, seed: 7, onlyConditionalWrites: true });
    const handle = await new LockClient({ store: faulty, clock, owner: 'a' }).acquire('job', {
      leaseMs: LEASE,
    });
    faulty.rates = { lostResponse: 0.2, conflict409: 0.1, serverError500: 0.1, timeout: 0.1 };
    const other = new LockClient({ store: memory, clock, owner: 'b' });
    for (let i = 0; i < 120; i++) {
      await clock.advance(1000);
      expect(await other.acquire('job', { leaseMs: LEASE })).toBeNull();
    }
    expect(
      faulty.injected.lostResponse + faulty.injected.serverError500 + faulty.injected.conflict409,
    ).toBeGreaterThan(5);
    expect(handle!.held).toBe(true);
    expect(await readRecord(memory, 'job')).toMatchObject({ owner: 'a', token: 1, state: 'held' });
  });

  it('a holder paused past its lease is fenced: signal first, then take-over, and its late write fails', async () => {
    const { clock, memory } = setup();
    const gated = new GatedStore(memory);
    const holder = await new LockClient({ store: gated, clock, owner: 'a' }).acquire('job', {
      leaseMs: LEASE,
    });
    const b = new LockClient({ store: memory, clock, owner: 'b' });
    const order: string[] = [];
    holder!.signal.addEventListener('abort', () => order.push('a-signal'));
    await b.acquire('job', { leaseMs: LEASE });
    gated.pause(); // a's next renewal (t = 3 s) hangs
    let takeover = null;
    while (!takeover) {
      await clock.advance(500);
      takeover = await b.acquire('job', { leaseMs: LEASE });
    }
    order.push(`b-token-${takeover.token}`);
    expect(order).toEqual(['a-signal', 'b-token-2']);
    gated.resume();
    await clock.advance(10);
    expect(await readRecord(memory, 'job')).toMatchObject({ owner: 'b', token: 2, state: 'held' });
    expect(takeover.held).toBe(true);
  });

  it('takes back at once a lease it wrote while the write seemed to fail (seed 220: it waited it out)', async () => {
    const { clock, memory, client } = setup();
    const unanswered = new UnansweredWrites(memory, 'locks/');
    const a = client('a', unanswered);
    unanswered.unanswered = 1;
    await expect(a.acquire('job', { leaseMs: LEASE })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(await readRecord(memory, 'job')).toMatchObject({ owner: 'a', token: 1, state: 'held' });
    expect(await a.inspect('job')).toMatchObject({ owner: 'a', available: false, ownWrite: true });
    // Another client sees a held lease, not its own.
    expect((await client('b').inspect('job'))?.ownWrite).toBeUndefined();
    await clock.advance(100);
    const handle = await a.acquire('job', { leaseMs: LEASE });
    expect(handle?.token).toBe(2);
    expect(await readRecord(memory, 'job')).toMatchObject({ owner: 'a', token: 2, state: 'held' });
    expect(await client('b').acquire('job', { leaseMs: LEASE })).toBeNull();
    await handle?.release();
  });

  it('a renewal that landed while it seemed to fail is the lease: the next renewal goes on from it', async () => {
    const { clock, memory, client } = setup();
    const unanswered = new UnansweredWrites(memory, 'locks/');
    const handle = (await client('a', unanswered).acquire('job', { leaseMs: LEASE }))!;
    unanswered.unanswered = 1;
    await clock.advance(LEASE / 3); // the first renewal lands, its answer is lost
    await clock.advance(LEASE / 3); // the retries find the ETag changed: by this holder
    expect(handle.signal.aborted).toBe(false);
    await clock.advance(3 * LEASE);
    expect(handle.held).toBe(true);
    expect(await readRecord(memory, 'job')).toMatchObject({ owner: 'a', token: 1, state: 'held' });
    await handle.release();
  });

  it('an acquire answered after its lease ran out renews at once: a held handle, same token (seed 309)', async () => {
    // Simulation seed 309: a hanging store answered a bid after the lease it wrote had run out;
    // the handle came back already lost (its signal fired before anyone listened).
    const { clock, memory, client } = setup();
    const late = new LateAnswers(memory, clock, LEASE + 100, 'locks/');
    late.late = 1;
    const pending = client('a', late).acquire('job', { leaseMs: LEASE });
    await clock.advance(LEASE + 100);
    const handle = await pending;
    expect(handle).not.toBeNull();
    expect(handle!.held).toBe(true);
    expect(handle!.signal.aborted).toBe(false);
    expect(handle!.token).toBe(1); // nobody wrote in between: the same tenure, renewed
    expect(handle!.deadline).toBe(clock.monotonic() + LEASE); // from the renewal's send time
    expect(await readRecord(memory, 'job')).toMatchObject({ owner: 'a', token: 1, state: 'held' });
    await clock.advance(3 * LEASE); // and it renews on as usual
    expect(handle!.held).toBe(true);
    expect(await client('b').acquire('job', { leaseMs: LEASE })).toBeNull();
    expect(await handle!.release()).toBe(true);
  });

  it('an acquire answered late after someone took the lease over is lost: no handle, the taker holds', async () => {
    const { clock, memory, client } = setup();
    const late = new LateAnswers(memory, clock, LEASE + MARGIN + 500, 'locks/');
    late.late = 1;
    const b = client('b');
    const pending = client('a', late).acquire('job', { leaseMs: LEASE });
    await clock.advance(0); // a's write is stored, its answer is on its way
    expect(await b.inspect('job')).toMatchObject({ owner: 'a', available: false });
    await clock.advance(LEASE + MARGIN);
    const taker = await b.acquire('job', { leaseMs: LEASE }); // a's lease, unchanged past lease + margin
    expect(taker?.token).toBe(2);
    await clock.advance(500);
    expect(await pending).toBeNull(); // its renewal met b's write (412)
    expect(taker!.held).toBe(true);
    expect(await readRecord(memory, 'job')).toMatchObject({ owner: 'b', token: 2, state: 'held' });
    expect((await client('a').inspect('job'))?.ownWrite).toBeUndefined();
  });

  it('an acquire whose renewal is answered late too is lost, and the next acquire takes the lease back at once', async () => {
    const { clock, memory, client } = setup();
    const late = new LateAnswers(memory, clock, LEASE + 100, 'locks/');
    late.late = 2; // the acquiring write and its renewal
    const a = client('a', late);
    const pending = a.acquire('job', { leaseMs: LEASE });
    await clock.advance(2 * (LEASE + 100));
    expect(await pending).toBeNull();
    // Stored: a's renewal, held by nobody; a knows it for its own, b sees a held lease.
    expect(await readRecord(memory, 'job')).toMatchObject({ owner: 'a', token: 1, state: 'held' });
    expect(await a.inspect('job')).toMatchObject({ owner: 'a', available: false, ownWrite: true });
    expect(await client('b').acquire('job', { leaseMs: LEASE })).toBeNull();
    const handle = await a.acquire('job', { leaseMs: LEASE }); // quick again: taken back at once
    expect(handle?.token).toBe(2);
    expect(handle!.held).toBe(true);
    await handle!.release();
  });

  it('waits for a release when asked to', async () => {
    const { clock, client } = setup();
    const first = await client('a').acquire('job', { leaseMs: LEASE });
    const waiting = client('b').acquire('job', { leaseMs: LEASE, wait: 60_000 });
    await clock.advance(4000);
    await first!.release();
    await clock.advance(LEASE / 4);
    expect((await waiting)?.token).toBe(2);
  });

  it('withLock runs the function under the lock and always releases', async () => {
    const { memory, client } = setup();
    const locks = client('a');
    expect(await locks.withLock('job', (handle) => handle.token, { leaseMs: LEASE })).toBe(1);
    expect((await readRecord(memory, 'job'))?.state).toBe('released');
    await expect(
      locks.withLock('job', () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await readRecord(memory, 'job')).toMatchObject({ state: 'released', token: 2 });
  });

  it('withLock fails with LOCK_TIMEOUT when held elsewhere and LOCK_NOT_HELD when the lease is lost meanwhile', async () => {
    const { clock, memory, client } = setup();
    const holder = await client('a').acquire('job', { leaseMs: LEASE });
    await expect(client('b').withLock('job', () => 1)).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });
    await holder!.release();
    const faulty = new FaultyStore(memory, { clock });
    const running = client('c', faulty).withLock(
      'job',
      async (handle) => {
        faulty.outage = true;
        await clock.sleep(LEASE * 2);
        return handle.token;
      },
      { leaseMs: LEASE },
    );
    const settled = running.catch((error: unknown) => error);
    await clock.advance(LEASE * 2);
    expect(await settled).toMatchObject({ code: 'LOCK_NOT_HELD' });
  });

  it('never deletes the lock object, so tokens only grow', async () => {
    const { memory } = setup();
    const counting = new CountingStore(memory);
    const clock = new ManualClock();
    const locks = new LockClient({ store: counting, clock, owner: 'a' });
    const tokens: number[] = [];
    for (let i = 0; i < 5; i++) {
      const handle = await locks.acquire('job', { leaseMs: LEASE });
      tokens.push(handle!.token);
      await handle!.release();
    }
    expect(tokens).toEqual([1, 2, 3, 4, 5]);
    expect(counting.counts.delete).toBe(0);
  });

  it('keeps user names inside their own key', async () => {
    expect(lockKey('a/../b')).toBe('locks/a%2F%2E%2E%2Fb.json');
    const { memory, client } = setup();
    await client('a').acquire('../../escape', { leaseMs: LEASE });
    const page = await memory.list('');
    expect(page.objects.map((object) => object.key)).toEqual([
      'fences/%2E%2E%2F%2E%2E%2Fescape.json',
      'locks/%2E%2E%2F%2E%2E%2Fescape.json',
    ]);
  });

  it('a corrupted or absurd lease counts as held for maxLeaseMs, then is taken over with a higher token', async () => {
    const MAX = 5 * LEASE;
    const corruptions = [
      'not json',
      JSON.stringify({ owner: 'x', token: 'seven' }),
      // Well-formed but absurd: a lease no holder can mean.
      JSON.stringify({
        owner: 'x',
        token: 3,
        nonce: 'n',
        leaseMs: 1e300,
        state: 'held',
        acquiredAt: 0,
        renewedAt: 0,
      }),
    ];
    for (const body of corruptions) {
      const clock = new ManualClock();
      const memory = new MemoryStore();
      const counting = new CountingStore(memory);
      const make = (owner: string) => new LockClient({ store: counting, clock, owner, maxLeaseMs: MAX });
      // Three tenures first: the token reached 3.
      for (let i = 0; i < 3; i++) await (await make('a').acquire('job', { leaseMs: LEASE }))!.release();
      await memory.put(lockKey('job'), body);
      // A fresh process, which never saw the lease before, observes it.
      const b = make('b');
      const info = await b.inspect('job');
      expect(info).toMatchObject({ state: 'held', available: false, problem: { code: 'STORE_CORRUPTED' } });
      expect(await b.acquire('job', { leaseMs: LEASE })).toBeNull();
      await clock.advance(MAX + b.marginFor(MAX) - 1);
      expect(await b.acquire('job', { leaseMs: LEASE })).toBeNull();
      expect(new TextDecoder().decode((await memory.get(lockKey('job')))!.body)).toBe(body);
      await clock.advance(1);
      const taken = await b.acquire('job', { leaseMs: LEASE });
      // Never back to 1: the fencing record remembers token 3.
      expect(taken?.token).toBe(4);
      expect(counting.counts.delete).toBe(0);
      taken!.signal.addEventListener('abort', () => undefined);
      await taken!.release();
    }
  });

  it('a lock object deleted by hand does not reset the token', async () => {
    const { memory, client } = setup();
    const a = client('a');
    for (let i = 0; i < 2; i++) await (await a.acquire('job', { leaseMs: LEASE }))!.release();
    await memory.delete(lockKey('job'));
    expect((await client('b').acquire('job', { leaseMs: LEASE }))?.token).toBe(3);
  });

  it('rejects bad options with a clear error', async () => {
    const { memory, client } = setup();
    const locks = client('a');
    const bad = [
      () => locks.acquire('job', { leaseMs: 0 }),
      () => locks.acquire('job', { leaseMs: Number.NaN }),
      () => locks.acquire('job', { wait: -1 }),
      () => locks.acquire('', {}),
      () => locks.acquire('job', { lease: 10 } as never),
    ];
    const codes = [];
    for (const call of bad)
      codes.push(await call().catch((error: unknown) => (isSchedulerError(error) ? error.code : error)));
    expect(codes).toEqual([
      'INVALID_OPTION',
      'INVALID_OPTION',
      'INVALID_OPTION',
      'INVALID_OPTION',
      'UNKNOWN_OPTION',
    ]);
    expect(() => new LockClient({ store: memory, marginMs: -1 })).toThrow(SchedulerError);
    expect(() => new LockClient({} as never)).toThrow(/needs a store/);
  });

  it('inspect reports holder, token and availability', async () => {
    const { clock, client } = setup();
    const watcher = client('w');
    expect(await watcher.inspect('job')).toBeNull();
    const handle = await client('a').acquire('job', { leaseMs: LEASE, autoRenew: false });
    expect(await watcher.inspect('job')).toMatchObject({
      owner: 'a',
      token: 1,
      state: 'held',
      available: false,
    });
    await clock.advance(LEASE + MARGIN);
    expect(await watcher.inspect('job')).toMatchObject({ available: true, availableInMs: 0 });
    expect(handle!.held).toBe(false);
  });
});
