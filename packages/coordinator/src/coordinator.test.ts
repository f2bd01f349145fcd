import { createWorkerId, isSchedulerError, type SchedulerError, seededRandom } from '@s3-scheduler/core';
import { ManualClock, SkewedClock } from '@s3-scheduler/core/testing';
import { MemoryStore } from '@s3-scheduler/storage';
import { CountingStore, FaultyStore } from '@s3-scheduler/storage/testing';
import { describe, expect, it } from 'vitest';
import { createCluster, type Node } from './cluster.test.helpers.js';
import { Coordinator, workerKey } from './index.js';

const H = 30_000; // default heartbeat
const LEASE = 12_000; // default lease
const MARGIN = 1200; // default margin for a 12 s lease
const RENEW = (LEASE * 3) / 4; // default renewal period on a fast store (renewFraction 0.75)
const CHECK = RENEW; // default leaseCheckInterval: the leader's renewal period
const ids = (n: number) => Array.from({ length: n }, (_, i) => `worker-${String(i).padStart(2, '0')}`);

async function advanceChecking(clock: ManualClock, ms: number, nodes: Node[], step = 1000): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    await clock.advance(Math.min(step, ms - t));
    const leaders = nodes.filter((node) => node.coordinator.isLeader());
    expect(leaders.length).toBeLessThanOrEqual(1);
  }
}

describe('Coordinator', () => {
  it('waits out the cold-start window, then elects itself with epoch 1', async () => {
    const clock = new ManualClock();
    const coordinator = new Coordinator({ store: new MemoryStore(), clock, workerId: 'solo' });
    const events: string[] = [];
    coordinator.on('coordinator-elected', (e) => events.push(`elected ${e.workerId} ${e.epoch}`));
    coordinator.on('coordinator-promoted', (e) =>
      events.push(`promoted ${e.workerId} ${e.epoch} at ${clock.monotonic()}`),
    );
    await coordinator.start();
    await clock.advance(14_999);
    expect(coordinator.isLeader()).toBe(false);
    await clock.advance(1);
    expect(events).toEqual(['elected solo 1', 'promoted solo 1 at 15000']);
    expect(coordinator.isLeader()).toBe(true);
    expect(coordinator.getLeader()).toBe('solo');
    expect(coordinator.getEpoch()).toBe(1);
    expect(coordinator.signal.aborted).toBe(false);
    await coordinator.stop();
  });

  it('elects the smallest live worker id after cold start, and everyone agrees', async () => {
    const clock = new ManualClock();
    const { nodes, journal } = createCluster(['c', 'a', 'd', 'b'], new MemoryStore(), clock);
    for (const node of nodes) {
      await node.coordinator.start();
      await clock.advance(1000);
    }
    await advanceChecking(clock, 2 * H, nodes);
    expect(journal.promotions.map((p) => p.workerId)).toEqual(['a']);
    for (const node of nodes) {
      expect(node.coordinator.getLeader()).toBe('a');
      expect(node.coordinator.getEpoch()).toBe(1);
      expect(node.coordinator.getActiveWorkers()).toEqual(['a', 'b', 'c', 'd']);
    }
    expect(journal.violations).toEqual([]);
  });

  it('10 contending candidates: exactly one leader per epoch through repeated leader crashes', async () => {
    const clock = new ManualClock();
    const { nodes, journal, leaders } = createCluster(ids(10), new MemoryStore(), clock, {
      skipColdStart: true,
    });
    await Promise.all(nodes.map((node) => node.coordinator.start()));
    await advanceChecking(clock, H, nodes);
    expect(leaders()).toHaveLength(1);
    for (let crash = 0; crash < 4; crash++) {
      const [leader] = leaders();
      leader!.gate.crash(); // the process dies: no more requests from it
      await advanceChecking(clock, LEASE + MARGIN + 2 * H, nodes);
      expect(leaders()).toHaveLength(1);
      expect(leaders()[0]).not.toBe(leader);
    }
    expect(journal.promotions.map((p) => p.epoch)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(journal.promotions.map((p) => p.workerId)).size).toBe(5);
    expect(journal.violations).toEqual([]);
  });

  it('a smallest worker that never bids does not wedge the election', async () => {
    const clock = new ManualClock();
    const memory = new MemoryStore();
    // 'a' heartbeats (a live doc keeps changing) but never bids, like a broken or old instance.
    const fakeHeartbeat = async () =>
      memory.put(workerKey('a'), JSON.stringify({ workerId: 'a', nonce: Math.random() }));
    const { nodes, journal } = createCluster(['b', 'c'], memory, clock);
    await fakeHeartbeat();
    await Promise.all(nodes.map((node) => node.coordinator.start()));
    for (let i = 0; i < 4; i++) {
      await fakeHeartbeat();
      await advanceChecking(clock, H / 2, nodes);
    }
    expect(journal.promotions).toHaveLength(1);
    expect(journal.promotions[0]!.at).toBeLessThanOrEqual(15_000 + H);
    expect(journal.violations).toEqual([]);
  });

  it('replaces a leader paused longer than its lease with a higher epoch; its signal fires first', async () => {
    const clock = new ManualClock();
    const { nodes, journal, leaders } = createCluster(ids(3), new MemoryStore(), clock, {
      skipColdStart: true,
    });
    await Promise.all(nodes.map((node) => node.coordinator.start()));
    await advanceChecking(clock, H, nodes);
    const [old] = leaders();
    const oldSignal = old!.coordinator.signal;
    let signalAt: number | undefined;
    oldSignal.addEventListener('abort', () => {
      signalAt = clock.monotonic();
    });
    old!.gate.pause(); // a long GC pause: its requests hang
    await advanceChecking(clock, LEASE + MARGIN + 2 * H, nodes);
    const [next] = leaders();
    expect(next).toBeDefined();
    expect(next).not.toBe(old);
    expect(next!.coordinator.getEpoch()).toBe(2);
    const promotion = journal.promotions.find((p) => p.epoch === 2)!;
    expect(signalAt).toBeDefined();
    expect(signalAt!).toBeLessThan(promotion.at);
    expect(journal.demotions).toMatchObject([{ workerId: old!.id, epoch: 1, reason: 'expired' }]);
    old!.gate.resume(); // it wakes up: its stale renewal must fail and it must follow
    await advanceChecking(clock, 2 * H, nodes);
    expect(leaders()).toEqual([next]);
    expect(old!.coordinator.getLeader()).toBe(next!.id);
    expect(old!.coordinator.getEpoch()).toBe(2);
    expect(journal.violations).toEqual([]);
  });

  it('keeps one stable leader through lost responses, 409s and 5xx', async () => {
    const clock = new ManualClock();
    const memory = new MemoryStore();
    const faulty = ids(5).map((_, i) => new FaultyStore(memory, { clock, seed: 100 + i }));
    const { nodes, journal } = createCluster(ids(5), memory, clock, { skipColdStart: true });
    // Each node reaches the memory store through its own faulty link.
    for (const [i, node] of nodes.entries()) (node.gate as unknown as { inner: unknown }).inner = faulty[i];
    await Promise.all(nodes.map((node) => node.coordinator.start()));
    for (const store of faulty)
      store.rates = { lostResponse: 0.1, conflict409: 0.05, serverError500: 0.1, timeout: 0.05 };
    await advanceChecking(clock, 2 * 3_600_000, nodes, 10_000);
    const injected = faulty.reduce(
      (sum, store) => sum + store.injected.lostResponse + store.injected.serverError500,
      0,
    );
    expect(injected).toBeGreaterThan(50);
    expect(journal.promotions).toHaveLength(1);
    expect(journal.violations).toEqual([]);
  });

  it('steps down when the store is unreachable, before anyone else can take over', async () => {
    const clock = new ManualClock();
    const memory = new MemoryStore();
    const outage = new FaultyStore(memory, { clock });
    const { nodes, journal, leaders } = createCluster(ids(3), memory, clock, { skipColdStart: true });
    (nodes[0]!.gate as unknown as { inner: unknown }).inner = outage;
    await Promise.all(nodes.map((node) => node.coordinator.start()));
    await advanceChecking(clock, H, nodes);
    expect(leaders()[0]?.id).toBe('worker-00');
    outage.outage = true;
    await advanceChecking(clock, LEASE + MARGIN + 2 * H, nodes);
    expect(journal.demotions).toMatchObject([{ workerId: 'worker-00', reason: 'expired' }]);
    expect(journal.demotions[0]!.at).toBeLessThan(journal.promotions[1]!.at);
    outage.outage = false;
    await advanceChecking(clock, 2 * H, nodes);
    expect(leaders().map((node) => node.id)).toEqual([journal.promotions[1]!.workerId]);
    expect(journal.violations).toEqual([]);
  });

  it('clock skew of ±5 s between instances never yields two leaders', async () => {
    const clock = new ManualClock();
    const random = seededRandom(42);
    const skewed = new Map<string, SkewedClock>();
    const { nodes, journal, leaders } = createCluster(ids(6), new MemoryStore(), (id) => {
      const skew = new SkewedClock(clock, Math.round((random() * 2 - 1) * 5000));
      skewed.set(id, skew);
      return skew;
    });
    await Promise.all(nodes.map((node) => node.coordinator.start()));
    for (let round = 0; round < 3; round++) {
      // Skews wander within ±5 s while leaders crash.
      for (const skew of skewed.values()) skew.skewMs = Math.round((random() * 2 - 1) * 5000);
      await advanceChecking(clock, H, nodes);
      leaders()[0]!.gate.crash();
      await advanceChecking(clock, LEASE + MARGIN + 2 * H, nodes);
    }
    expect(journal.promotions.map((p) => p.epoch)).toEqual([1, 2, 3, 4]);
    expect(journal.violations).toEqual([]);
  });

  it('stop() hands over within one heartbeat, with the next epoch', async () => {
    const clock = new ManualClock();
    const { nodes, journal, leaders } = createCluster(ids(4), new MemoryStore(), clock, {
      skipColdStart: true,
    });
    await Promise.all(nodes.map((node) => node.coordinator.start()));
    await advanceChecking(clock, H, nodes);
    const [old] = leaders();
    const stoppedAt = clock.monotonic();
    await old!.coordinator.stop();
    expect(old!.coordinator.isLeader()).toBe(false);
    expect(old!.coordinator.signal.aborted).toBe(true);
    await advanceChecking(clock, H, nodes, 100);
    const promotion = journal.promotions.at(-1)!;
    expect(promotion.epoch).toBe(2);
    expect(promotion.at - stoppedAt).toBeLessThanOrEqual(H);
    expect(journal.demotions).toMatchObject([{ workerId: old!.id, reason: 'stopped', epoch: 1 }]);
    for (const node of nodes.filter((n) => n !== old))
      expect(node.coordinator.getActiveWorkers()).not.toContain(old!.id);
    expect(journal.violations).toEqual([]);
  });

  it('a restart under the same worker id or label does not wedge leadership', async () => {
    const clock = new ManualClock();
    const memory = new MemoryStore();
    const { nodes, journal } = createCluster(['pod-1', 'pod-2'], memory, clock, { skipColdStart: true });
    await Promise.all(nodes.map((node) => node.coordinator.start()));
    await clock.advance(H);
    expect(nodes[0]!.coordinator.isLeader()).toBe(true);
    // The leader's container restarts: the old process vanishes without releasing, and the new
    // one comes back under the same worker id (a pinned POD_NAME).
    nodes[0]!.gate.crash();
    const restarted = new Coordinator({ store: memory, clock, workerId: 'pod-1', skipColdStart: true });
    const promoted: number[] = [];
    restarted.on('coordinator-promoted', ({ epoch }) => promoted.push(epoch));
    await restarted.start();
    await advanceChecking(clock, LEASE + MARGIN + 2 * H, [
      nodes[1]!,
      { ...nodes[0]!, coordinator: restarted },
    ]);
    // Someone leads again with a new epoch; if it is the restarted pod-1, it knows it (promoted).
    const leader = [restarted, nodes[1]!.coordinator].filter((c) => c.isLeader());
    expect(leader).toHaveLength(1);
    expect(leader[0]!.getEpoch()).toBe(2);
    if (leader[0] === restarted) expect(promoted).toEqual([2]);
    expect(restarted.getLeader()).toBe(leader[0]!.workerId);
    expect(journal.violations).toEqual([]);
    // With the default ids a restart gets a fresh id from the same label: a different worker.
    expect(createWorkerId('pod-1')).not.toBe(createWorkerId('pod-1'));
    await restarted.stop();
  });

  it('a restarted sole instance with the same worker id takes its old lease over and is promoted', async () => {
    const clock = new ManualClock();
    const memory = new MemoryStore();
    const { nodes } = createCluster(['pod-1'], memory, clock, { skipColdStart: true });
    await nodes[0]!.coordinator.start();
    expect(nodes[0]!.coordinator.isLeader()).toBe(true);
    nodes[0]!.gate.crash();
    const restarted = new Coordinator({ store: memory, clock, workerId: 'pod-1', skipColdStart: true });
    const events: string[] = [];
    restarted.on('coordinator-elected', (e) => events.push(`elected ${e.workerId} ${e.epoch}`));
    restarted.on('coordinator-promoted', (e) => events.push(`promoted ${e.epoch}`));
    await restarted.start();
    expect(restarted.isLeader()).toBe(false);
    await clock.advance(LEASE + MARGIN);
    expect(events).toEqual(['elected pod-1 1', 'elected pod-1 2', 'promoted 2']);
    expect(restarted.isLeader()).toBe(true);
    await restarted.stop();
  });

  it('idle cost of a 3-instance cluster: at most 2,000 requests per hour, by role', async ({ annotate }) => {
    const clock = new ManualClock();
    const memory = new MemoryStore();
    const counters = ids(3).map(() => new CountingStore(memory));
    const { nodes, leaders } = createCluster(ids(3), memory, clock);
    for (const [i, node] of nodes.entries()) (node.gate as unknown as { inner: unknown }).inner = counters[i];
    await Promise.all(nodes.map((node) => node.coordinator.start()));
    await clock.advance(2 * H);
    for (const counter of counters) counter.reset();
    const HOUR = 3_600_000;
    await clock.advance(HOUR);
    const [leader] = leaders();
    const followers = nodes.filter((node) => node !== leader).map((node) => node.id);
    const successor = followers.sort()[0];
    const report: Record<string, unknown>[] = [];
    let total = 0;
    for (const [i, counter] of counters.entries()) {
      const node = nodes[i]!;
      const role = node === leader ? 'leader' : node.id === successor ? 'successor' : 'follower';
      const { get, head, list, put } = counter.counts;
      const requests = get + head + list + put + counter.counts.delete;
      total += requests;
      report.push({ id: node.id, role, requests, get, head, list, put });
      expect(list).toBeLessThanOrEqual(HOUR / H);
      expect(head).toBe(0);
      if (role === 'leader') {
        // One renewal per three quarters of the lease replaces the heartbeat; no reads of its own lease.
        expect(put).toBeLessThanOrEqual(HOUR / RENEW + 1);
        expect(put).toBeGreaterThanOrEqual(HOUR / RENEW - 1);
        expect(get).toBe(0);
      } else {
        expect(put).toBeLessThanOrEqual(HOUR / H);
        expect(put).toBeGreaterThanOrEqual(HOUR / H - 1);
      }
      // The successor reads the lease once per renewal (just after it); the others once per heartbeat.
      if (role === 'successor') expect(get).toBeLessThanOrEqual(HOUR / CHECK + 2);
      if (role === 'follower') expect(get).toBeLessThanOrEqual(HOUR / H);
    }
    expect(report.map((row) => row.role).sort()).toEqual(['follower', 'leader', 'successor']);
    // leader 400 renewals + 120 lists; successor 120 + 400; follower 2 × 120.
    expect(total).toBeLessThanOrEqual(2000);
    await annotate(`requests per idle hour (total ${total}): ${JSON.stringify(report)}`);
    for (const node of nodes) await node.coordinator.stop();
  });

  it('leaseData: followers read what the leader publishes at its renewals; a throwing one costs nothing', async () => {
    const clock = new ManualClock();
    let version = 1;
    let broken = false;
    const leaseData = () => {
      if (broken) throw new Error('bug in leaseData');
      return { version };
    };
    const { nodes, leaders } = createCluster(ids(3), new MemoryStore(), clock, { leaseData });
    await Promise.all(nodes.map((node) => node.coordinator.start()));
    await clock.advance(2 * H);
    const [leader] = leaders();
    const followers = nodes.filter((node) => node !== leader);
    expect(leader!.coordinator.getLeaseData()).toBeUndefined();
    for (const node of followers) expect(node.coordinator.getLeaseData()).toMatchObject({ version: 1 });
    version = 2;
    await clock.advance(H + RENEW);
    for (const node of followers) expect(node.coordinator.getLeaseData()).toMatchObject({ version: 2 });
    broken = true;
    await clock.advance(H + RENEW);
    expect(leaders()).toEqual([leader]);
    for (const node of followers) {
      expect(node.coordinator.getLeaseData()?.version).toBeUndefined();
      // The coordinator's own view still goes out.
      expect(node.coordinator.getActiveWorkers()).toEqual(ids(3));
    }
    for (const node of nodes) await node.coordinator.stop();
  });

  it('clock skew moves the successor reads but keeps them between half and one check interval apart', async () => {
    for (const skewMs of [-4000, -1500, 0, 2500]) {
      const clock = new ManualClock();
      const memory = new MemoryStore();
      const counter = new CountingStore(memory);
      const { nodes, leaders } = createCluster(ids(3), memory, (id) =>
        id === 'worker-00' ? new SkewedClock(clock, skewMs) : clock,
      );
      (nodes[1]!.gate as unknown as { inner: unknown }).inner = counter;
      await Promise.all(nodes.map((node) => node.coordinator.start()));
      await clock.advance(2 * H);
      expect(leaders()[0]!.id).toBe('worker-00');
      counter.reset();
      await clock.advance(10 * H);
      expect(counter.counts.get).toBeLessThanOrEqual((2 * 10 * H) / CHECK + 2);
      expect(counter.counts.get).toBeGreaterThanOrEqual((10 * H) / CHECK - 2);
      for (const node of nodes) await node.coordinator.stop();
    }
  });

  it('failover after a leader crash at any phase of its renewals: p50 at most 12 s, max at most 20 s', async ({
    annotate,
  }) => {
    const failovers: number[] = [];
    for (let phase = 0; phase < RENEW; phase += 500) {
      const clock = new ManualClock();
      const { nodes, journal, leaders } = createCluster(ids(3), new MemoryStore(), clock);
      await Promise.all(nodes.map((node) => node.coordinator.start()));
      await clock.advance(2 * H + phase);
      const [old] = leaders();
      old!.gate.crash();
      const crashedAt = clock.monotonic();
      await advanceChecking(clock, 30_000, nodes, 100);
      const promotion = journal.promotions.at(-1)!;
      expect(promotion.epoch).toBe(2);
      failovers.push(promotion.at - crashedAt);
      expect(journal.violations).toEqual([]);
      for (const node of nodes) await node.coordinator.stop();
    }
    failovers.sort((a, b) => a - b);
    const p50 = failovers[Math.floor(failovers.length / 2)]!;
    await annotate(`failover ms by crash phase: ${failovers.join(', ')}`);
    expect(p50).toBeLessThanOrEqual(12_000);
    expect(failovers.at(-1)!).toBeLessThanOrEqual(20_000);
  });

  it('graceful hand-over: never two leaders, under a second without one, reason handed-over', async () => {
    // At several phases of the successor's check cadence, with default settings.
    for (const phase of [0, 1, 100, 2500, 5999, 6000, 7777]) {
      const clock = new ManualClock();
      const memory = new MemoryStore();
      const counters = new Map<string, CountingStore>();
      const { nodes, journal, leaders } = createCluster(['d', 'b', 'a', 'c'], memory, clock);
      const demoted: unknown[] = [];
      for (const node of nodes) {
        const counter = new CountingStore(memory);
        counters.set(node.id, counter);
        (node.gate as unknown as { inner: unknown }).inner = counter;
        node.coordinator.on('coordinator-demoted', (event) => demoted.push(event));
        await node.coordinator.start();
        await clock.advance(1000);
      }
      await advanceChecking(clock, H + phase, nodes);
      const [old] = leaders();
      expect(old!.id).toBe('a');
      for (const counter of counters.values()) counter.reset();
      const startedAt = clock.monotonic();
      const handing = old!.coordinator.handOver();
      // The old leader keeps leading until the successor is ready (checked every 10 ms).
      let handedOver: boolean | undefined;
      void handing.then((result) => {
        handedOver = result;
      });
      for (let t = 0; handedOver === undefined && t < 3 * CHECK; t += 10) {
        expect(leaders().length).toBeLessThanOrEqual(1);
        await clock.advance(10);
      }
      expect(handedOver).toBe(true);
      await advanceChecking(clock, 2000, nodes, 10);
      await old!.coordinator.stop();
      const promotion = journal.promotions.at(-1)!;
      const demotion = journal.demotions.at(-1)!;
      expect(promotion).toMatchObject({ workerId: 'b', epoch: 2 });
      expect(demotion).toMatchObject({ workerId: 'a', reason: 'handed-over', epoch: 1 });
      expect(demotion.at - startedAt).toBeLessThanOrEqual(2 * CHECK + 500);
      expect(promotion.at - demotion.at).toBeLessThan(1000);
      expect(promotion.at).toBeGreaterThanOrEqual(demotion.at);
      expect(demoted).toHaveLength(1);
      expect(demoted[0]).not.toHaveProperty('error');
      // Nobody else bid: the followers not first in line made no write at all.
      expect(counters.get('c')!.writes + counters.get('d')!.writes).toBe(0);
      expect(journal.violations).toEqual([]);
      for (const node of nodes) await node.coordinator.stop();
    }
  });

  it('graceful stop() without handOver(): the successor takes over within leaseCheckInterval', async () => {
    const handovers: number[] = [];
    for (const phase of [0, 1, 100, 2500, 5999, 6000, 7777]) {
      const clock = new ManualClock();
      const { nodes, journal, leaders } = createCluster(['d', 'b', 'a', 'c'], new MemoryStore(), clock);
      const demoted: unknown[] = [];
      for (const node of nodes) {
        node.coordinator.on('coordinator-demoted', (event) => demoted.push(event));
        await node.coordinator.start();
        await clock.advance(1000);
      }
      await advanceChecking(clock, H + phase, nodes);
      const [old] = leaders();
      expect(old!.id).toBe('a');
      const stoppedAt = clock.monotonic();
      await old!.coordinator.stop();
      await advanceChecking(clock, CHECK + 1000, nodes, 10);
      const promotion = journal.promotions.at(-1)!;
      expect(promotion).toMatchObject({ workerId: 'b', epoch: 2 });
      handovers.push(promotion.at - stoppedAt);
      expect(journal.demotions).toMatchObject([{ workerId: 'a', reason: 'stopped', epoch: 1 }]);
      expect(demoted[0]).not.toHaveProperty('error');
      expect(journal.violations).toEqual([]);
      for (const node of nodes) await node.coordinator.stop();
    }
    expect(Math.max(...handovers)).toBeLessThanOrEqual(CHECK + 1);
  });

  it('handOver() with nobody to hand over to, or when not leading, resolves false at once', async () => {
    const clock = new ManualClock();
    const { nodes, leaders } = createCluster(ids(2), new MemoryStore(), clock, { skipColdStart: true });
    await Promise.all(nodes.map((node) => node.coordinator.start()));
    await clock.advance(H);
    const [leader] = leaders();
    const follower = nodes.find((node) => node !== leader)!;
    expect(await follower.coordinator.handOver()).toBe(false);
    follower.gate.crash();
    await clock.advance(4 * H);
    expect(await leader!.coordinator.handOver()).toBe(false);
    expect(leader!.coordinator.isLeader()).toBe(true);
    await leader!.coordinator.stop();
  });

  it('a successor that never answers the offer: the leader keeps leading, then stop() releases as usual', async () => {
    const clock = new ManualClock();
    const { nodes, journal, leaders } = createCluster(ids(3), new MemoryStore(), clock, {
      skipColdStart: true,
    });
    await Promise.all(nodes.map((node) => node.coordinator.start()));
    await clock.advance(H);
    const [leader] = leaders();
    expect(leader!.id).toBe('worker-00');
    nodes[1]!.gate.pause(); // first in line, frozen: it reads nothing and answers nothing
    const handing = leader!.coordinator.handOver();
    await clock.advance(3 * CHECK);
    expect(await handing).toBe(false);
    expect(leader!.coordinator.isLeader()).toBe(true);
    const stoppedAt = clock.monotonic();
    await leader!.coordinator.stop();
    await advanceChecking(clock, 2 * H, nodes.slice(2), 100);
    expect(journal.promotions.at(-1)).toMatchObject({ workerId: 'worker-02', epoch: 2 });
    expect(journal.promotions.at(-1)!.at - stoppedAt).toBeLessThanOrEqual(2 * H);
    nodes[1]!.gate.resume();
  });

  it('a shorter leaseCheckInterval hands over sooner; equal to heartbeatInterval turns checks off', async () => {
    const measure = async (leaseCheckInterval: number) => {
      const clock = new ManualClock();
      const memory = new MemoryStore();
      const counter = new CountingStore(memory);
      const { nodes, journal, leaders } = createCluster(ids(3), memory, clock, {
        skipColdStart: true,
        leaseCheckInterval,
      });
      (nodes[1]!.gate as unknown as { inner: unknown }).inner = counter;
      await Promise.all(nodes.map((node) => node.coordinator.start()));
      await advanceChecking(clock, H + 137, nodes);
      const reads = counter.counts.get + counter.counts.head;
      const stoppedAt = clock.monotonic();
      await leaders()[0]!.coordinator.stop();
      await advanceChecking(clock, 2 * H, nodes, 250);
      expect(journal.violations).toEqual([]);
      expect(journal.promotions.map((p) => p.workerId)).toEqual(['worker-00', 'worker-01']);
      for (const node of nodes) await node.coordinator.stop();
      return { handover: journal.promotions[1]!.at - stoppedAt, reads };
    };
    const fast = await measure(100);
    expect(fast.handover).toBeLessThanOrEqual(100);
    const off = await measure(H);
    // Checks off: the lease is read only in the heartbeat rounds (about two of them so far).
    expect(off.reads).toBeLessThanOrEqual(3);
    expect(fast.reads).toBeGreaterThan(off.reads);
    expect(off.handover).toBeGreaterThan(1000);
    expect(off.handover).toBeLessThanOrEqual(H);
  });

  it('a successor that died just before the stop: the others still take over within two heartbeats', async () => {
    const clock = new ManualClock();
    const { nodes, journal, leaders } = createCluster(ids(4), new MemoryStore(), clock, {
      skipColdStart: true,
    });
    await Promise.all(nodes.map((node) => node.coordinator.start()));
    await advanceChecking(clock, H, nodes);
    expect(leaders()[0]!.id).toBe('worker-00');
    nodes[1]!.gate.crash(); // first in line, crashed without a trace
    const stoppedAt = clock.monotonic();
    await nodes[0]!.coordinator.stop();
    await advanceChecking(clock, 2 * H, nodes, 100);
    const promotion = journal.promotions.at(-1)!;
    expect(promotion.epoch).toBe(2);
    expect(['worker-02', 'worker-03']).toContain(promotion.workerId);
    expect(promotion.at - stoppedAt).toBeLessThanOrEqual(2 * H);
    expect(journal.violations).toEqual([]);
  });

  it('a successor whose lease checks fail keeps following and still takes over after recovery', async () => {
    const clock = new ManualClock();
    const memory = new MemoryStore();
    const { nodes, journal, leaders } = createCluster(ids(3), memory, clock, { skipColdStart: true });
    const outage = new FaultyStore(memory, { clock });
    (nodes[1]!.gate as unknown as { inner: unknown }).inner = outage;
    const errors: unknown[] = [];
    nodes[1]!.coordinator.on('coordinator-error', ({ error }) => errors.push(error));
    await Promise.all(nodes.map((node) => node.coordinator.start()));
    await advanceChecking(clock, H, nodes);
    outage.outage = true;
    await advanceChecking(clock, H - 1000, nodes);
    // A failed check pauses the checks until the next round: not one error per check.
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.length).toBeLessThanOrEqual(3);
    outage.outage = false;
    await advanceChecking(clock, H, nodes);
    const stoppedAt = clock.monotonic();
    await leaders()[0]!.coordinator.stop();
    await advanceChecking(clock, CHECK + 1000, nodes, 10);
    expect(journal.promotions.at(-1)).toMatchObject({ workerId: 'worker-01', epoch: 2 });
    expect(journal.promotions.at(-1)!.at - stoppedAt).toBeLessThanOrEqual(CHECK);
    expect(journal.violations).toEqual([]);
  });

  it('forgets stale workers: inactive after 3 heartbeats, deleted by the leader after 10', async () => {
    const clock = new ManualClock();
    const memory = new MemoryStore();
    const { nodes } = createCluster(['a', 'b', 'z'], memory, clock, { skipColdStart: true });
    await Promise.all(nodes.map((node) => node.coordinator.start()));
    await clock.advance(H);
    expect(nodes[0]!.coordinator.getActiveWorkers()).toEqual(['a', 'b', 'z']);
    nodes[2]!.gate.crash();
    // Its last heartbeat may land at the instant of a's listing, so a can first see it one
    // interval later: 3 intervals counted from there.
    await clock.advance(4 * H + 1000);
    expect(nodes[0]!.coordinator.getActiveWorkers()).toEqual(['a', 'b']);
    expect(await memory.get(workerKey('z'))).not.toBeNull();
    await clock.advance(7 * H);
    expect(await memory.get(workerKey('z'))).toBeNull();
  });

  it('rejects bad options with clear errors', () => {
    const store = new MemoryStore();
    const codeOf = (make: () => unknown) => {
      try {
        make();
      } catch (error) {
        return isSchedulerError(error) ? error.code : 'other';
      }
      return 'none';
    };
    expect(codeOf(() => new Coordinator({ store, heartbeatInterval: 0 }))).toBe('INVALID_OPTION');
    expect(codeOf(() => new Coordinator({ store, coldStartObservationWindow: -1 }))).toBe('INVALID_OPTION');
    expect(codeOf(() => new Coordinator({ store, workerId: '' }))).toBe('INVALID_OPTION');
    expect(codeOf(() => new Coordinator({ store, workerId: 'x'.repeat(200) }))).toBe('INVALID_OPTION');
    expect(codeOf(() => new Coordinator({ store, skipColdStart: 'yes' as never }))).toBe('INVALID_OPTION');
    expect(codeOf(() => new Coordinator({ store, heartbeat: 5 } as never))).toBe('UNKNOWN_OPTION');
    expect(codeOf(() => new Coordinator({ store, leaseCheckInterval: 0 }))).toBe('INVALID_OPTION');
    expect(codeOf(() => new Coordinator({ store, leaseCheckInterval: 30_001 }))).toBe('INVALID_OPTION');
    expect(codeOf(() => new Coordinator({ store, heartbeatInterval: 1000, leaseCheckInterval: 1001 }))).toBe(
      'INVALID_OPTION',
    );
    // The message names the rule broken and the value; the suggestion says what to pass.
    const tooLong = (() => {
      try {
        new Coordinator({ store, heartbeatInterval: 1000, leaseCheckInterval: 1001 });
      } catch (error) {
        return error as SchedulerError;
      }
    })();
    expect(tooLong?.message).toBe(
      "'leaseCheckInterval' must be at most heartbeatInterval (1000 ms), got 1001",
    );
    expect(tooLong?.suggestion).toMatch(/from 1 to 1000 ms .*default \(1000 ms\)/);
    expect(new Coordinator({ store }).leaseCheckInterval).toBe(CHECK);
    expect(new Coordinator({ store, heartbeatInterval: 200 }).leaseCheckInterval).toBe(200);
    expect(codeOf(() => new Coordinator({} as never))).toBe('INVALID_OPTION');
    expect(new Coordinator({ store }).leaseMs).toBe(LEASE);
    expect(new Coordinator({ store }).renewMs).toBe(RENEW);
    expect(new Coordinator({ store, renewFraction: 0.5 }).renewMs).toBe(LEASE / 2);
    for (const renewFraction of [0.2, 0.95, Number.NaN, '0.5']) {
      const error = (() => {
        try {
          new Coordinator({ store, renewFraction: renewFraction as never });
        } catch (caught) {
          return caught as SchedulerError;
        }
      })();
      expect(error?.code).toBe('INVALID_OPTION');
      expect(error?.metadata?.option).toBe('renewFraction');
    }
    expect(codeOf(() => new Coordinator({ store, leaseData: {} as never }))).toBe('INVALID_OPTION');
    expect(new Coordinator({ store, heartbeatInterval: 1000 }).leaseMs).toBe(3000);
  });

  it('exposes an aborted NOT_LEADER signal on followers', async () => {
    const clock = new ManualClock();
    const coordinator = new Coordinator({ store: new MemoryStore(), clock, workerId: 'f' });
    expect(coordinator.signal.aborted).toBe(true);
    expect(coordinator.signal.reason).toMatchObject({ code: 'NOT_LEADER' });
    expect(coordinator.getLeader()).toBeNull();
    expect(coordinator.getEpoch()).toBe(0);
  });
});
