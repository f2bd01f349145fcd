import { ManualClock } from '@s3-scheduler/core/testing';
import { RealStoreStepper, s3TestStore } from '@s3-scheduler/storage/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createCluster, type Node } from './cluster.test.helpers.js';

// Real S3 server (bash scripts/s3-server.sh start); skipped without S3_ENDPOINT, a failure on CI.
const store = await s3TestStore({ prefix: 'coordinator/' });
// Its own lease: the first test's cluster keeps running (and leading) until afterAll.
const handoverStore = await s3TestStore({ prefix: 'coordinator-handover/' });
// Every request goes to the real server, but time is the manual clock's: it moves only once the
// server has answered every request in flight, so the bounds below (in simulated ms) hold
// however slow the server or the machine is.
const clock = new ManualClock();
const running: Node[] = [];
const time = new RealStoreStepper(clock, () => running.map((node) => node.gate));
const H = 500;
const LEASE = 1500; // default 3 × H; margin 150 ms

describe.runIf(store)('Coordinator on real S3', () => {
  afterAll(async () => {
    await time.drive(Promise.all(running.map((node) => node.coordinator.stop().catch(() => undefined))));
  });

  it('five contenders elect one leader; a crashed leader is replaced with epoch 2; stop hands over', async () => {
    const { nodes, journal, leaders } = createCluster(['n0', 'n1', 'n2', 'n3', 'n4'], store!, clock, {
      heartbeatInterval: H,
      skipColdStart: true,
    });
    running.push(...nodes);
    await time.drive(Promise.all(nodes.map((node) => node.coordinator.start())));
    await time.until(() => leaders().length === 1, 3000);
    const first = leaders()[0]!;
    expect(first.coordinator.getEpoch()).toBe(1);

    first.gate.crash(); // crash: no more requests, no release
    const failover = await time.until(
      () => leaders().length === 1 && leaders()[0] !== first,
      LEASE + 150 + 2 * H + 1500,
    );
    const second = leaders()[0]!;
    expect(second.coordinator.getEpoch()).toBe(2);
    expect(failover).toBeLessThanOrEqual(LEASE + 150 + H + 1000);

    await time.drive(second.coordinator.stop()); // graceful: release, next leader within one heartbeat
    const handover = await time.until(
      () => leaders().some((node) => node !== second && node !== first),
      H + 1500,
    );
    expect(handover).toBeLessThanOrEqual(H + 500);
    expect(leaders()[0]!.coordinator.getEpoch()).toBe(3);
    expect(journal.violations).toEqual([]);
  });

  it('graceful hand-over with default lease settings: never two leaders, a gap well under the lease', async ({
    annotate,
  }) => {
    const { nodes, journal, leaders } = createCluster(['h0', 'h1', 'h2'], handoverStore!, clock, {
      skipColdStart: true,
    });
    running.push(...nodes);
    await time.drive(Promise.all(nodes.map((node) => node.coordinator.start())));
    await time.until(() => leaders().length === 1, 10_000);
    const [leader] = leaders();
    // The successor follows it once it has read the lease (the others read it every 30 s).
    const successor = nodes.filter((node) => node !== leader).sort((x, y) => (x.id < y.id ? -1 : 1))[0]!;
    await time.until(() => successor.coordinator.getLeader() === leader!.id, 60_000);
    const epoch = leader!.coordinator.getEpoch();
    const started = clock.monotonic();
    expect(await time.drive(leader!.coordinator.handOver())).toBe(true);
    const handing = clock.monotonic() - started;
    await time.until(() => leaders().length === 1 && leaders()[0] !== leader, 10_000);
    await time.drive(leader!.coordinator.stop());
    expect(leaders()[0]!.coordinator.getEpoch()).toBe(epoch + 1);
    const demotion = journal.demotions.at(-1)!;
    const promotion = journal.promotions.at(-1)!;
    expect(demotion).toMatchObject({ workerId: leader!.id, reason: 'handed-over' });
    const gap = promotion.at - demotion.at;
    await annotate(`hand-over took ${handing} ms; no leader for ${gap} ms (simulated)`);
    // The successor reads the lease every 200 ms while it waits for the release.
    expect(gap).toBeGreaterThanOrEqual(0);
    expect(gap).toBeLessThanOrEqual(200);
    // It answers the offer at its next read, at most one check interval (6 s) after it.
    expect(handing).toBeLessThanOrEqual(6000 + 500 + 200);
    expect(journal.violations).toEqual([]);
  });
});
