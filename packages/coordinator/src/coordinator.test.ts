import { createWorkerId, isSchedulerError, seededRandom } from '@s3-scheduler/core';
import { ManualClock, SkewedClock } from '@s3-scheduler/core/testing';
import { MemoryStore } from '@s3-scheduler/storage';
import { CountingStore, FaultyStore } from '@s3-scheduler/storage/testing';
import { describe, expect, it } from 'vitest';
import { createCluster, type Node } from './cluster.test.helpers.js';
import { Coordinator, workerKey } from './index.js';

const H = 30_000; // default heartbeat
const LEASE = 3 * H; // default lease
const MARGIN = 2000; // default margin for a 90 s lease
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

  it('idle cost: at most one write per heartbeat interval per instance; reads counted apart', async ({
    annotate,
  }) => {
    const clock = new ManualClock();
    const memory = new MemoryStore();
    const counters = ids(4).map(() => new CountingStore(memory));
    const { nodes, leaders } = createCluster(ids(4), memory, clock);
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
    for (const [i, counter] of counters.entries()) {
      const node = nodes[i]!;
      const role = node === leader ? 'leader' : node.id === successor ? 'successor' : 'follower';
      const { get, head, list, put } = counter.counts;
      report.push({ id: node.id, role, writes: counter.writes, get, head, list, put });
      expect(counter.writes).toBeLessThanOrEqual(HOUR / H);
      expect(counter.writes).toBeGreaterThanOrEqual(HOUR / H - 1);
      expect(list).toBeLessThanOrEqual(HOUR / H);
      if (role === 'leader') expect(get + head).toBe(0);
      if (role === 'follower') {
        // One lease read per heartbeat, no lease checks in between.
        expect(head).toBe(0);
        expect(get).toBeLessThanOrEqual(HOUR / H);
      }
      if (role === 'successor') {
        // One HEAD per leaseCheckInterval (500 ms) between rounds, a GET only when the ETag moved
        // (the leader's renewals) plus the heartbeat rounds' reads.
        expect(head).toBeGreaterThan(HOUR / 500 - 2 * (HOUR / H));
        expect(head).toBeLessThanOrEqual(HOUR / 500);
        expect(get).toBeLessThanOrEqual(2 * (HOUR / H));
      }
    }
    expect(report.map((row) => row.role).sort()).toEqual(['follower', 'follower', 'leader', 'successor']);
    await annotate(`requests per idle hour: ${JSON.stringify(report)}`);
    for (const node of nodes) await node.coordinator.stop();
  });

  it('graceful stop(): the successor takes over within leaseCheckInterval, with the next epoch', async () => {
    // Stops at several phases of the successor's 500 ms check cadence, with default settings.
    const handovers: number[] = [];
    for (const phase of [0, 1, 100, 250, 499, 500, 777]) {
      const clock = new ManualClock();
      const memory = new MemoryStore();
      const counters = new Map<string, CountingStore>();
      const { nodes, journal, leaders } = createCluster(['d', 'b', 'a', 'c'], memory, clock);
      for (const node of nodes) {
        const counter = new CountingStore(memory);
        counters.set(node.id, counter);
        (node.gate as unknown as { inner: unknown }).inner = counter;
        await node.coordinator.start();
        await clock.advance(1000);
      }
      // 'a' leads from cold start on; it stops well within 3 heartbeats, so its worker doc still
      // counts as live for the others when it releases: the successor must not wait for it.
      await advanceChecking(clock, H + phase, nodes);
      const [old] = leaders();
      expect(old!.id).toBe('a');
      expect(nodes.map((node) => node.coordinator.getLeader())).toEqual(['a', 'a', 'a', 'a']);
      for (const counter of counters.values()) counter.reset();
      const stoppedAt = clock.monotonic();
      await old!.coordinator.stop();
      await advanceChecking(clock, 2000, nodes, 10);
      const promotion = journal.promotions.at(-1)!;
      expect(promotion).toMatchObject({ workerId: 'b', epoch: 2 });
      handovers.push(promotion.at - stoppedAt);
      // Nobody else bid: the followers that are not first in line made no write at all.
      expect(counters.get('c')!.writes + counters.get('d')!.writes).toBe(0);
      expect(counters.get('c')!.counts.head + counters.get('d')!.counts.head).toBe(0);
      expect(journal.demotions).toMatchObject([{ workerId: 'a', reason: 'stopped', epoch: 1 }]);
      expect(journal.violations).toEqual([]);
      for (const node of nodes) await node.coordinator.stop();
    }
    const leaseCheckInterval = new Coordinator({ store: new MemoryStore() }).leaseCheckInterval;
    expect(leaseCheckInterval).toBe(500);
    // Simulated requests take no time, so the bound is the check interval itself (plus 1 ms slack).
    expect(Math.max(...handovers)).toBeLessThanOrEqual(leaseCheckInterval + 1);
    expect(Math.max(...handovers)).toBeGreaterThan(0);
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
      const heads = counter.counts.head;
      const stoppedAt = clock.monotonic();
      await leaders()[0]!.coordinator.stop();
      await advanceChecking(clock, 2 * H, nodes, 250);
      expect(journal.violations).toEqual([]);
      expect(journal.promotions.map((p) => p.workerId)).toEqual(['worker-00', 'worker-01']);
      for (const node of nodes) await node.coordinator.stop();
      return { handover: journal.promotions[1]!.at - stoppedAt, heads };
    };
    const fast = await measure(100);
    expect(fast.handover).toBeLessThanOrEqual(100);
    expect(fast.heads).toBeGreaterThan(0);
    const off = await measure(H);
    expect(off.heads).toBe(0);
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
    // A failed check pauses the checks until the next round: not one error per 500 ms.
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.length).toBeLessThanOrEqual(3);
    outage.outage = false;
    await advanceChecking(clock, H, nodes);
    const stoppedAt = clock.monotonic();
    await leaders()[0]!.coordinator.stop();
    await advanceChecking(clock, 2000, nodes, 10);
    expect(journal.promotions.at(-1)).toMatchObject({ workerId: 'worker-01', epoch: 2 });
    expect(journal.promotions.at(-1)!.at - stoppedAt).toBeLessThanOrEqual(500);
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
    await clock.advance(3 * H + 1000);
    expect(nodes[0]!.coordinator.getActiveWorkers()).toEqual(['a', 'b']);
    expect(await memory.get(workerKey('z'))).not.toBeNull();
    await clock.advance(8 * H);
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
    expect(new Coordinator({ store }).leaseCheckInterval).toBe(500);
    expect(new Coordinator({ store, heartbeatInterval: 200 }).leaseCheckInterval).toBe(200);
    expect(codeOf(() => new Coordinator({} as never))).toBe('INVALID_OPTION');
    expect(new Coordinator({ store }).leaseMs).toBe(LEASE);
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
