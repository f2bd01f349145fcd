// Measures, with the default settings, on a ManualClock (no real waiting):
//  - store requests per instance per idle hour (CountingStore), writes and reads apart, for the
//    leader, the successor (the follower first in line, which checks the lease every
//    leaseCheckInterval) and the other followers;
//  - failover time: leader crash → new leader promoted, over many crash phases;
//  - hand-over time after a graceful stop(), over many stop phases, with the lease checks on
//    (default) and off (leaseCheckInterval = heartbeatInterval, the behaviour before them).
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

function cluster(n, clock, memory, options = {}) {
  return Array.from({ length: n }, (_, i) => {
    const counter = new CountingStore(memory);
    const link = new Killable(counter);
    const coordinator = new Coordinator({ store: link, clock, workerId: `worker-${i}`, ...options });
    return { coordinator, counter, link };
  });
}

async function idleCost() {
  const clock = new ManualClock();
  const nodes = cluster(4, clock, new MemoryStore());
  for (const node of nodes) {
    await node.coordinator.start();
    await clock.advance(7_000); // staggered starts
  }
  await clock.advance(2 * 30_000);
  for (const node of nodes) node.counter.reset();
  await clock.advance(HOUR);
  const leader = nodes.find((node) => node.coordinator.isLeader());
  const successor = nodes.find((node) => node !== leader);
  const rows = nodes.map((node) => {
    const { get, head, list, put, delete: del } = node.counter.counts;
    return {
      role: node === leader ? 'leader' : node === successor ? 'successor' : 'follower',
      writes: node.counter.writes,
      reads: get + head + list,
      PUT: put,
      DELETE: del,
      GET: get,
      HEAD: head,
      LIST: list,
    };
  });
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

async function handover(stopPhaseMs, options) {
  const clock = new ManualClock();
  const nodes = cluster(3, clock, new MemoryStore(), options);
  for (const node of nodes) {
    await node.coordinator.start();
    await clock.advance(11_000);
  }
  await clock.advance(60_000 + stopPhaseMs);
  const leader = nodes.find((node) => node.coordinator.isLeader());
  let promotedAt;
  for (const node of nodes)
    node.coordinator.on('coordinator-promoted', () => {
      promotedAt ??= clock.monotonic();
    });
  const stoppedAt = clock.monotonic();
  await leader.coordinator.stop();
  while (promotedAt === undefined) await clock.advance(10);
  for (const node of nodes) await node.coordinator.stop();
  return promotedAt - stoppedAt;
}

function summary(samples, format) {
  samples.sort((a, b) => a - b);
  const mean = samples.reduce((sum, v) => sum + v, 0) / samples.length;
  const p50 = samples[Math.floor((samples.length - 1) / 2)];
  return `min ${format(samples[0])}, p50 ${format(p50)}, mean ${format(mean)}, max ${format(samples.at(-1))}`;
}

console.log(
  'Defaults: heartbeatInterval 30 s, leaseMs 90 s (renewed every 30 s), margin 2 s, cold start 15 s, ' +
    'leaseCheckInterval 500 ms\n',
);
console.log('Store requests per instance per idle hour (4 instances):');
console.table(await idleCost());

const samples = [];
for (const phase of [0, 5_000, 10_000, 15_000, 20_000, 25_000, 29_900]) {
  for (const spacing of [1_000, 9_000, 17_000]) samples.push(await failover(phase, spacing));
}
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const millis = (ms) => `${Math.round(ms)} ms`;
console.log(
  `Failover, leader crash → new leader (${samples.length} crash phases): ${summary(samples, seconds)}`,
);

// Stop phases spread over a 30 s heartbeat in steps of 30 s / 61 (≈ 492 ms), so both the 500 ms
// check cadence (8 ms apart) and the heartbeat cadence are sampled evenly.
const phases = Array.from({ length: 60 }, (_, i) => Math.round((i * 30_000) / 61));
const fast = [];
const slow = [];
for (const phase of phases) {
  fast.push(await handover(phase, {}));
  slow.push(await handover(phase, { leaseCheckInterval: 30_000 }));
}
console.log(
  `Hand-over after a graceful stop() (${phases.length} stop phases; simulated requests take 0 ms):`,
);
console.log(`  default (leaseCheckInterval 500 ms):               ${summary(fast, millis)}`);
console.log(`  checks off (leaseCheckInterval = heartbeatInterval): ${summary(slow, seconds)}`);
console.log(
  `  ratio of means, off / default: ${(slow.reduce((a, b) => a + b) / fast.reduce((a, b) => a + b)).toFixed(0)}×`,
);
