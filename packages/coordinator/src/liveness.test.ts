import { ManualClock } from '@s3-scheduler/core/testing';
import { fenceKey, lockKey } from '@s3-scheduler/lock';
import { MemoryStore } from '@s3-scheduler/storage';
import { FaultyStore, LateAnswers, RefusedWrites, UnansweredWrites } from '@s3-scheduler/storage/testing';
import { describe, expect, it } from 'vitest';
import { createCluster, type Node } from './cluster.test.helpers.js';
import { LEADER_LOCK, workerKey } from './index.js';

const H = 200; // heartbeat
const LEASE = 3 * H;
const MARGIN = 100; // default margin for a 600 ms lease
const LATENCY = 120; // per request of the slow instance

/** Advances in steps of `step` until `done()` or `ms` have passed; returns the time taken. */
async function advanceUntil(clock: ManualClock, ms: number, done: () => boolean, step = 10): Promise<number> {
  const from = clock.monotonic();
  while (!done() && clock.monotonic() - from < ms) await clock.advance(step);
  return clock.monotonic() - from;
}

describe('Coordinator liveness', () => {
  it('leaders killed about a minute apart, each replaced by a new instance: every failover within 20 s (defaults)', async () => {
    // Failover bench on RGW: the new leader first listed its dead predecessor's worker doc at its
    // promotion and counted it live for three heartbeats, so it named it standby in the lease;
    // nobody watched the lease, and the next leader loss took 31–43 s to be noticed.
    const clock = new ManualClock();
    const store = new MemoryStore({ clock });
    const ids = ['a', 'b', 'c', 'x', 'y', 'z'];
    const { nodes, journal, add } = createCluster(ids.slice(0, 3), store, clock, {});
    const dead = new Set<string>();
    const leader = () => nodes.find((node) => node.coordinator.isLeader() && !dead.has(node.id));
    for (const node of nodes) await node.coordinator.start();
    await advanceUntil(clock, 60_000, () => leader() !== undefined, 100);
    const failovers: number[] = [];
    for (const [kill, fresh] of ['x', 'y', 'z'].entries()) {
      await clock.advance(60_000 + kill * 17_000);
      const killed = leader()!;
      dead.add(killed.id);
      killed.gate.crash(); // SIGKILL: every request from now on fails
      void add(fresh).coordinator.start();
      failovers.push(await advanceUntil(clock, 120_000, () => leader() !== undefined, 100));
    }
    expect(failovers.every((ms) => ms <= 20_000)).toBe(true);
    expect(journal.promotions.map((promotion) => promotion.workerId)).toEqual(['a', 'b', 'c', 'x']);
    expect(journal.violations).toEqual([]);
    for (const node of nodes) if (!dead.has(node.id)) await node.coordinator.stop();
  });

  it('refused bids are tried again after a short back-off, not a heartbeat each (fresh seed 316)', async () => {
    // Simulation seed 316 (fresh range, slow store): four bids in a row refused with 500/503, one
    // per heartbeat, left the cluster without a leader for 555 s (bound 332 s).
    const clock = new ManualClock();
    // The next four puts of the leader lock (lease or fence) are refused with a 503.
    let refusals = 4;
    const store = new RefusedWrites(new MemoryStore(), (key) => {
      if (refusals === 0 || (key !== lockKey(LEADER_LOCK) && key !== fenceKey(LEADER_LOCK))) return false;
      refusals--;
      return true;
    });
    const { nodes, journal } = createCluster(['a'], store, clock, {
      heartbeatInterval: H,
      skipColdStart: true,
    });
    const a = nodes[0]!.coordinator;
    await a.start();
    const took = await advanceUntil(clock, 20 * H, () => a.isLeader());
    expect(a.isLeader()).toBe(true);
    expect(refusals).toBe(0);
    // Back-off H/8, H/4, H/2, H/2 (275 ms) after the first round: not four heartbeats (800 ms).
    expect(took).toBeLessThan(2 * H);
    expect(journal.violations).toEqual([]);
    await a.stop();
  });

  it('a bid whose lease write landed while it seemed to fail leads at its next round (seed 220)', async () => {
    // Simulation seed 220: the bidder took the write for failed and followed "some" holder of the
    // lease, its own, until that lease and a margin had passed, with no leader meanwhile.
    const clock = new ManualClock();
    const store = new UnansweredWrites(new MemoryStore(), 'locks/');
    store.unanswered = 1;
    const { nodes, journal } = createCluster(['a'], store, clock, {
      heartbeatInterval: H,
      skipColdStart: true,
    });
    const a = nodes[0]!.coordinator;
    const errors: string[] = [];
    a.on('coordinator-error', ({ error }) => errors.push((error as { code?: string }).code ?? ''));
    await a.start();
    const took = await advanceUntil(clock, 10 * LEASE, () => a.isLeader());
    expect(errors).toContain('STORE_UNAVAILABLE'); // the first bid seemed to fail
    expect(a.isLeader()).toBe(true);
    expect(took).toBeLessThan(LEASE); // not the lease it wrote, waited out (lease + margin)
    expect(journal.promotions.map((p) => p.epoch)).toEqual([2]);
    expect(journal.violations).toEqual([]);
    await a.stop();
  });

  it('a bid answered after its own lease ran out leads at once, in the term it wrote (seed 309)', async () => {
    // Simulation seed 309: a hanging store answered a bid after the lease it wrote had run out. The
    // instance announced a promotion for a lease it no longer held, and as the handle's signal had
    // fired before anyone listened, no demotion followed: it counted as leader for 15 minutes.
    const clock = new ManualClock();
    const store = new LateAnswers(new MemoryStore(), clock, LEASE + 100, 'locks/');
    store.late = 1; // the bid's lease write
    const { nodes, journal } = createCluster(['a'], store, clock, {
      heartbeatInterval: H,
      skipColdStart: true,
    });
    const a = nodes[0]!.coordinator;
    const started = a.start(); // its first round waits for the bid's answer
    const took = await advanceUntil(clock, 10 * LEASE, () => a.isLeader());
    await started;
    expect(a.isLeader()).toBe(true);
    expect(a.signal.aborted).toBe(false);
    // At the answer (renewed at once), not after waiting out its own lease, and in the epoch it wrote.
    expect(took).toBeLessThan(LEASE + 100 + H);
    expect(journal.promotions.map((p) => p.epoch)).toEqual([1]);
    await clock.advance(10 * LEASE);
    expect(a.isLeader()).toBe(true);
    await a.stop();
    expect(journal.demotions.map((d) => [d.epoch, d.reason])).toEqual([[1, 'stopped']]);
    expect(journal.violations).toEqual([]);
  }, 60_000);

  it('a bid answered late after another instance took the lease over is no promotion: it follows', async () => {
    const clock = new ManualClock();
    const memory = new MemoryStore();
    const { nodes, journal, leaders } = createCluster(['a', 'b'], memory, clock, {
      heartbeatInterval: H,
      skipColdStart: true,
    });
    const [a, b] = nodes as [Node, Node];
    const late = new LateAnswers(memory, clock, 3 * LEASE, 'locks/');
    late.late = 1;
    (a.gate as unknown as { inner: unknown }).inner = late; // a's bid is answered 3 leases late
    const started = a.coordinator.start();
    await clock.advance(0);
    await b.coordinator.start();
    // b sees a's lease unchanged past lease + margin, and takes it over.
    await advanceUntil(clock, 3 * LEASE, () => b.coordinator.isLeader());
    expect(b.coordinator.isLeader()).toBe(true);
    await advanceUntil(clock, 10 * LEASE, () => a.coordinator.getLeader() === 'b');
    await started;

    // a's renewal met b's write: no promotion, and a follows b.
    expect(leaders().map((node) => node.id)).toEqual(['b']);
    expect(a.coordinator.getLeader()).toBe('b');
    expect(journal.promotions.map((p) => [p.workerId, p.epoch])).toEqual([['b', 2]]);
    expect(journal.violations).toEqual([]);
    await b.coordinator.stop();
    await a.coordinator.stop();
  }, 60_000);

  it('while every bid is answered after its lease ran out nobody leads; once the store is quick it leads at once', async () => {
    const clock = new ManualClock();
    const memory = new MemoryStore();
    const { nodes, journal } = createCluster(['a'], memory, clock, {
      heartbeatInterval: H,
      skipColdStart: true,
    });
    const a = nodes[0]!;
    const gate = a.gate as unknown as { inner: unknown };
    gate.inner = new FaultyStore(memory, { clock, latencyMs: [LEASE + 100, LEASE + 100] });
    const started = a.coordinator.start(); // its rounds take simulated time
    await clock.advance(10 * LEASE);
    expect(journal.promotions).toEqual([]); // every bid and its renewal answered too late
    expect(journal.violations).toEqual([]);
    gate.inner = memory; // the store answers quickly again
    // Its own lease, written late, is taken back at its next round: not waited out.
    const took = await advanceUntil(clock, 10 * LEASE, () => a.coordinator.isLeader());
    await started;
    expect(a.coordinator.isLeader()).toBe(true);
    expect(took).toBeLessThan(LEASE);
    expect(journal.promotions).toHaveLength(1);
    await a.coordinator.stop();
    // Every promotion announced is paired with its demotion.
    expect(journal.demotions.map((d) => d.epoch)).toEqual(journal.promotions.map((p) => p.epoch));
    expect(journal.violations).toEqual([]);
  }, 60_000);

  it('a slow former leader keeps heartbeating and bidding, sees every worker, and leads again', async ({
    annotate,
  }) => {
    const clock = new ManualClock();
    const memory = new MemoryStore();
    const { nodes, journal, leaders, add } = createCluster([], memory, clock, {
      heartbeatInterval: H,
      skipColdStart: true,
    });
    const leaderIds = () => leaders().map((n: Node) => n.id);
    const b = add('b');
    await b.coordinator.start();
    await clock.advance(H);
    expect(leaderIds()).toEqual(['b']);
    const a = add('a');
    // 'a' reaches the store with 120 ms latency per request: more than half a heartbeat.
    (a.gate as unknown as { inner: unknown }).inner = new FaultyStore(memory, {
      clock,
      latencyMs: [LATENCY, LATENCY],
    });
    const started = a.coordinator.start(); // its first round takes simulated time
    await clock.advance(2 * H);
    await started;
    b.gate.crash();
    await advanceUntil(clock, 10 * H, () => leaderIds().includes('a'));
    expect(leaderIds()).toEqual(['a']);
    const c = add('c');
    await c.coordinator.start();
    await clock.advance(4 * H);
    // While it leads, 'a' sees every live worker.
    expect(a.coordinator.getActiveWorkers()).toEqual(['a', 'c']);
    // 'a' stalls 1.5 s, longer than its lease: 'c' takes over.
    a.gate.pause();
    await clock.advance(1500);
    expect(leaderIds()).toEqual(['c']);
    a.gate.resume();
    await clock.advance(4 * H);
    expect(leaderIds()).toEqual(['c']);
    expect(a.coordinator.getLeader()).toBe('c');
    // 'c' crashes: 'a' must heartbeat and bid, and lead within lease + margin + one heartbeat,
    // plus its own request latency (a heartbeat, a listing and two lease reads and a write).
    c.gate.crash();
    const took = await advanceUntil(clock, 20 * H, () => leaderIds().includes('a'));
    expect(leaderIds()).toEqual(['a']);
    await annotate(`'c' crashed: 'a' leads again after ${took} ms (simulated)`);
    expect(took).toBeLessThanOrEqual(LEASE + MARGIN + H + 5 * LATENCY);
    expect(journal.violations).toEqual([]);
    expect(nodes.length).toBe(3);
  }, 60_000);

  for (const [kind, body] of [
    ['unparseable', '{"owner":"x","tok'],
    ['wrong shape', JSON.stringify({ owner: 7, token: 'two' })],
    [
      'absurd lease (leaseMs 1e300)',
      JSON.stringify({
        owner: 'x',
        token: 1,
        nonce: 'n',
        leaseMs: 1e300,
        state: 'held',
        acquiredAt: 0,
        renewedAt: 0,
      }),
    ],
  ] as const) {
    it(`a ${kind} leader lease is reported, waited out for a bounded time, and taken over with a higher epoch`, async () => {
      const clock = new ManualClock();
      const memory = new MemoryStore();
      const { nodes, journal, leaders } = createCluster(['a', 'b', 'c'], memory, clock, {
        heartbeatInterval: H,
        skipColdStart: true,
      });
      const errors: unknown[] = [];
      for (const node of nodes) node.coordinator.on('coordinator-error', ({ error }) => errors.push(error));
      await Promise.all(nodes.map((node) => node.coordinator.start()));
      await clock.advance(2 * H);
      expect(leaders().map((n: Node) => n.id)).toEqual(['a']);
      const deletes: string[] = [];
      const original = memory.delete.bind(memory);
      memory.delete = async (key, options) => {
        deletes.push(key);
        return original(key, options);
      };
      await memory.put(lockKey(LEADER_LOCK), body);
      const corruptedAt = clock.monotonic();
      // Waited out for maxLeaseMs: 10 leases, but never less than 10 minutes, the longest lease
      // an instance may be configured with (a cluster may mix leases: none is cut short).
      const WAIT = Math.max(10 * LEASE, 600_000);
      const STEP = 500;
      const took = await advanceUntil(
        clock,
        2 * WAIT,
        () => leaders().length === 1 && journal.promotions.length > 1,
        STEP,
      );
      // ... plus the margin for such a lease (2 s at most) and a heartbeat at most.
      expect(took).toBeLessThanOrEqual(WAIT + 2000 + 3 * H + STEP);
      expect(took).toBeGreaterThanOrEqual(WAIT);
      expect(journal.promotions.map((p) => p.epoch)).toEqual([1, 2]);
      expect(errors).toContainEqual(expect.objectContaining({ code: 'STORE_CORRUPTED' }));
      expect(deletes.filter((key) => key.startsWith('locks/') || key.startsWith('fences/'))).toEqual([]);
      expect(await memory.get(fenceKey(LEADER_LOCK))).not.toBeNull();
      expect(journal.violations).toEqual([]);
      expect(corruptedAt).toBeGreaterThan(0);
      for (const node of nodes) await node.coordinator.stop();
    }, 60_000);
  }

  it('resign(): hands over at once, keeps heartbeating as draining, and the successor knows it was a release', async () => {
    const clock = new ManualClock();
    const memory = new MemoryStore();
    const { nodes, journal, leaders } = createCluster(['a', 'b', 'c'], memory, clock, {
      skipColdStart: true,
    });
    await Promise.all(nodes.map((node) => node.coordinator.start()));
    await clock.advance(30_000);
    const [a, b] = nodes as [Node, Node];
    expect(leaders()).toEqual([a]);
    // a leads on until b, the successor, has answered the hand-over offer (within 2 check intervals).
    let resigned = false;
    const resigning = a.coordinator.resign().then(() => {
      resigned = true;
    });
    for (let t = 0; !resigned && t < 20_000; t += 100) {
      expect(leaders()).toHaveLength(1);
      await clock.advance(100);
    }
    await resigning;
    expect(a.coordinator.draining).toBe(true);
    await clock.advance(1000);
    expect(leaders()).toEqual([b]);
    expect(b.coordinator.tookOverByRelease('a')).toBe(true);
    // Minutes later 'a' is still draining: never bids again, still seen alive, marked draining.
    await clock.advance(5 * 30_000);
    expect(leaders()).toEqual([b]);
    expect(b.coordinator.getActiveWorkers()).toContain('a');
    const record = JSON.parse(new TextDecoder().decode((await memory.get(workerKey('a')))!.body));
    expect(record).toMatchObject({ workerId: 'a', draining: true });
    expect(journal.demotions).toMatchObject([{ workerId: 'a', reason: 'handed-over' }]);
    await a.coordinator.stop();
    expect(await memory.get(workerKey('a'))).toBeNull();
    // A leader that crashes is taken over by expiry, not by release.
    b.gate.crash();
    await clock.advance(4 * 90_000);
    expect(leaders()).toHaveLength(1);
    expect(leaders()[0]!.coordinator.tookOverByRelease('b')).toBe(false);
    expect(journal.violations).toEqual([]);
  });
  it('leader and successor stopping together: the next worker in line takes over with no gap', async () => {
    // Defaults: heartbeat 30 s, lease 12 s, lease checks every 6 s by the standby only. 'b' is the
    // standby; 'c' reads the lease once per heartbeat. Before, 'a' waited for 'b' in vain, released
    // to nobody, and 'c' took over only after a heartbeat or two.
    for (const bFirst of [true, false]) {
      const clock = new ManualClock();
      const memory = new MemoryStore();
      const { nodes, journal, leaders } = createCluster(['a', 'b', 'c', 'd'], memory, clock, {
        skipColdStart: true,
      });
      await Promise.all(nodes.map((node) => node.coordinator.start()));
      await clock.advance(45_000);
      const [a, b, c] = nodes as [Node, Node, Node];
      expect(leaders()).toEqual([a]);
      const startedAt = clock.monotonic();
      let resigned = false;
      const both = bFirst
        ? b.coordinator.resign().then(() => a.coordinator.resign())
        : Promise.all([a.coordinator.resign(), b.coordinator.resign()]);
      void both.then(() => {
        resigned = true;
      });
      // 'a' leads on until 'c' is ready: never two leaders, never none.
      const waited = await advanceUntil(clock, 120_000, () => resigned, 100);
      await clock.advance(1000);
      expect(leaders()).toEqual([c]);
      expect(waited).toBeLessThanOrEqual(30_000 + 2 * 6_000 + 1_000);
      const demotion = journal.demotions.at(-1)!;
      const promotion = journal.promotions.at(-1)!;
      expect(demotion).toMatchObject({ workerId: 'a', reason: 'handed-over' });
      expect(promotion).toMatchObject({ workerId: 'c', epoch: 2 });
      expect(promotion.at - demotion.at).toBeLessThan(1000);
      expect(demotion.at - startedAt).toBeLessThanOrEqual(30_000 + 2 * 6_000 + 1_000);
      expect(c.coordinator.tookOverByRelease('a')).toBe(true);
      expect(journal.violations).toEqual([]);
      for (const node of nodes) await node.coordinator.stop();
    }
  });
});
