// Measures, with the default settings, on a ManualClock (no real waiting):
//  - store requests per instance per idle hour (CountingStore), leader and followers;
//  - failover time: leader crash → new leader promoted, over many crash phases;
//  - hand-over time after a graceful stop().
// Run: pnpm --filter @s3-scheduler/coordinator build && pnpm --filter @s3-scheduler/coordinator bench
import { ManualClock } from '@s3-scheduler/core/testing';
import { MemoryStore } from '@s3-scheduler/storage';
import { CountingStore } from '@s3-scheduler/storage/testing';
import { Coordinator } from '../dist/index.js';

const HOUR = 3_600_000;

/** Forwards to a store until killed, then fails every request (a crashed process). */
class Killable {
  killed = false;
  description = 'killable';
  constructor(inner) {
    this.inner = inner;
  }
  #check() {
    if (this.killed) throw new Error('dead');
  }
  async get(...a) {
    this.#check();
    return this.inner.get(...a);
  }
  async head(...a) {
    this.#check();
    return this.inner.head(...a);
  }
  async put(...a) {
    this.#check();
    return this.inner.put(...a);
  }
  async delete(...a) {
    this.#check();
    return this.inner.delete(...a);
  }
  async list(...a) {
    this.#check();
    return this.inner.list(...a);
  }
}

function cluster(n, clock, memory) {
  return Array.from({ length: n }, (_, i) => {
    const counter = new CountingStore(memory);
    const link = new Killable(counter);
    const coordinator = new Coordinator({ store: link, clock, workerId: `worker-${i}` });
    return { coordinator, counter, link };
  });
}

async function idleCost() {
  const clock = new ManualClock();
  const nodes = cluster(3, clock, new MemoryStore());
  for (const node of nodes) {
    await node.coordinator.start();
    await clock.advance(7_000); // staggered starts
  }
  await clock.advance(2 * 30_000);
  for (const node of nodes) node.counter.reset();
  await clock.advance(HOUR);
  const rows = nodes.map((node) => ({
    role: node.coordinator.isLeader() ? 'leader' : 'follower',
    ...node.counter.snapshot(),
    writes: node.counter.writes,
  }));
  for (const node of nodes) await node.coordinator.stop();
  return rows;
}

async function failover(crashPhaseMs, startSpacingMs) {
  const clock = new ManualClock();
  const nodes = cluster(3, clock, new MemoryStore());
  for (const node of nodes) {
    await node.coordinator.start();
    await clock.advance(startSpacingMs);
  }
  await clock.advance(3 * 30_000);
  const leader = nodes.find((node) => node.coordinator.isLeader());
  // Crash `crashPhaseMs` after the leader's most recent renewal (renewals every 30 s).
  let renewed = false;
  const original = leader.link.put.bind(leader.link);
  leader.link.put = async (...a) => {
    const result = await original(...a);
    renewed = true;
    return result;
  };
  while (!renewed) await clock.advance(100);
  await clock.advance(crashPhaseMs);
  leader.link.killed = true;
  const crashedAt = clock.monotonic();
  let promotedAt;
  for (const node of nodes)
    node.coordinator.on('coordinator-promoted', () => {
      promotedAt ??= clock.monotonic();
    });
  while (promotedAt === undefined) await clock.advance(100);
  for (const node of nodes) await node.coordinator.stop();
  return promotedAt - crashedAt;
}

async function handover() {
  const clock = new ManualClock();
  const nodes = cluster(3, clock, new MemoryStore());
  for (const node of nodes) {
    await node.coordinator.start();
    await clock.advance(11_000);
  }
  await clock.advance(60_000);
  const leader = nodes.find((node) => node.coordinator.isLeader());
  let promotedAt;
  for (const node of nodes)
    node.coordinator.on('coordinator-promoted', () => {
      promotedAt ??= clock.monotonic();
    });
  const stoppedAt = clock.monotonic();
  await leader.coordinator.stop();
  while (promotedAt === undefined) await clock.advance(100);
  for (const node of nodes) await node.coordinator.stop();
  return promotedAt - stoppedAt;
}

console.log(
  'Defaults: heartbeatInterval 30 s, leaseMs 90 s (renewed every 30 s), margin 2 s, cold start 15 s\n',
);
console.log('Store requests per instance per idle hour (3 instances):');
console.table(await idleCost());

const samples = [];
for (const phase of [0, 5_000, 10_000, 15_000, 20_000, 25_000, 29_900]) {
  for (const spacing of [1_000, 9_000, 17_000]) samples.push(await failover(phase, spacing));
}
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
samples.sort((a, b) => a - b);
const mean = samples.reduce((sum, v) => sum + v, 0) / samples.length;
console.log(
  `Failover, leader crash → new leader (${samples.length} crash phases): min ${seconds(samples[0])}, ` +
    `mean ${seconds(mean)}, max ${seconds(samples.at(-1))}`,
);
console.log(`Hand-over after a graceful stop(): ${seconds(await handover())}`);
