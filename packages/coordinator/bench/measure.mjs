// Measures on a ManualClock (no real waiting), with the default settings and with other leases:
//  - store requests per instance per idle hour (CountingStore) for a 3-instance cluster: the
//    leader, the successor (the follower first in line, which reads the lease once per renewal)
//    and the other follower, with the dollars per month at AWS S3 list prices;
//  - failover time: leader crash → new leader promoted, over many crash phases and start spacings;
//  - graceful hand-over (handOver() then stop()): how long without a leader, and how long it took;
//    and a plain stop() without handOver().
// Run: pnpm --filter @s3-scheduler/coordinator build && pnpm --filter @s3-scheduler/coordinator bench
import { ManualClock } from '@s3-scheduler/core/testing';
import { MemoryStore } from '@s3-scheduler/storage';
import { CountingStore } from '@s3-scheduler/storage/testing';
import { Coordinator } from '../dist/index.js';

const HOUR = 3_600_000;
/** AWS S3 Standard, us-east-1 list prices, dollars per request: PUT/COPY/POST/LIST and GET/HEAD. */
const PRICE = { write: 0.005 / 1000, read: 0.0004 / 1000 };
const MONTH_HOURS = 730;
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

/** Dollars for `counts` requests at list prices: LIST is priced like PUT, HEAD like GET. */
function dollars({ get, head, list, put }) {
  return (put + list) * PRICE.write + (get + head) * PRICE.read;
}

async function idleCost(options = {}) {
  const clock = new ManualClock();
  const nodes = cluster(3, clock, new MemoryStore(), options);
  for (const node of nodes) {
    await node.coordinator.start();
    await clock.advance(7_000); // staggered starts
  }
  await clock.advance(2 * 30_000);
  for (const node of nodes) node.counter.reset();
  await clock.advance(HOUR);
  const leader = nodes.find((node) => node.coordinator.isLeader());
  const successor = nodes.filter((node) => node !== leader)[0];
  const rows = nodes.map((node) => {
    const { get, head, list, put, delete: del } = node.counter.counts;
    return {
      instance: node.coordinator.workerId,
      role: node === leader ? 'leader' : node === successor ? 'successor' : 'follower',
      requests: get + head + list + put + del,
      PUT: put,
      LIST: list,
      GET: get,
      HEAD: head,
      DELETE: del,
      'USD/month': +(dollars(node.counter.counts) * MONTH_HOURS).toFixed(2),
    };
  });
  for (const node of nodes) await node.coordinator.stop();
  return rows;
}

async function failover(crashPhaseMs, startSpacingMs, options = {}) {
  const clock = new ManualClock();
  const nodes = cluster(3, clock, new MemoryStore(), options);
  for (const node of nodes) {
    await node.coordinator.start();
    await clock.advance(startSpacingMs);
  }
  await clock.advance(3 * 30_000);
  const leader = nodes.find((node) => node.coordinator.isLeader());
  // Crash `crashPhaseMs` after the leader's most recent renewal.
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

/** handOver() then stop() at `stopPhaseMs`; returns the gap without a leader and the total time. */
async function handover(stopPhaseMs, { graceful }) {
  const clock = new ManualClock();
  const nodes = cluster(3, clock, new MemoryStore());
  for (const node of nodes) {
    await node.coordinator.start();
    await clock.advance(11_000);
  }
  await clock.advance(60_000 + stopPhaseMs);
  const leader = nodes.find((node) => node.coordinator.isLeader());
  let promotedAt;
  let demotedAt;
  for (const node of nodes) {
    node.coordinator.on('coordinator-promoted', () => {
      promotedAt ??= clock.monotonic();
    });
  }
  leader.coordinator.on('coordinator-demoted', () => {
    demotedAt ??= clock.monotonic();
  });
  const startedAt = clock.monotonic();
  let done = false;
  const stopping = (graceful ? leader.coordinator.handOver() : Promise.resolve())
    .then(() => leader.coordinator.stop())
    .then(() => {
      done = true;
    });
  while (!done || promotedAt === undefined) await clock.advance(10);
  await stopping;
  for (const node of nodes) await node.coordinator.stop();
  return { gap: promotedAt - demotedAt, total: promotedAt - startedAt };
}

function summary(samples, format) {
  samples.sort((a, b) => a - b);
  const mean = samples.reduce((sum, v) => sum + v, 0) / samples.length;
  const p50 = samples[Math.floor((samples.length - 1) / 2)];
  return `min ${format(samples[0])}, p50 ${format(p50)}, mean ${format(mean)}, max ${format(samples.at(-1))}`;
}
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const millis = (ms) => `${Math.round(ms)} ms`;

async function failovers(options, leaseMs) {
  const samples = [];
  const renewMs = leaseMs / 2;
  for (let i = 0; i < 8; i++) {
    for (const spacing of [1_000, 9_000, 17_000])
      samples.push(await failover((i * renewMs) / 8, spacing, options));
  }
  return samples;
}

console.log(
  'Defaults: heartbeatInterval 30 s, leaseMs 12 s (renewed every 6 s), margin 1.2 s, cold start 15 s, ' +
    'leaseCheckInterval 6 s (timed just after each renewal)\n',
);
console.log('Store requests per instance per idle hour (3 instances, defaults):');
const idle = await idleCost();
console.table(idle);
const total = idle.reduce((sum, row) => sum + row.requests, 0);
const usd = idle.reduce((sum, row) => sum + row['USD/month'], 0);
console.log(
  `Cluster total: ${total} requests per hour, $${usd.toFixed(2)} per month at AWS S3 list prices\n`,
);

const defaults = await failovers({}, 12_000);
console.log(
  `Failover, leader crash → new leader (${defaults.length} crash phases): ${summary(defaults, seconds)}`,
);

console.log('\nTrade-off (3 instances, heartbeatInterval 30 s): lease → idle requests per hour, failover');
for (const leaseMs of [6_000, 12_000, 20_000, 30_000]) {
  const rows = await idleCost({ leaseMs });
  const perHour = rows.reduce((sum, row) => sum + row.requests, 0);
  const month = rows.reduce((sum, row) => sum + row['USD/month'], 0);
  const samples = await failovers({ leaseMs }, leaseMs);
  console.log(
    `  leaseMs ${String(leaseMs / 1000).padStart(2)} s: ${String(perHour).padStart(5)} requests/h ($${month.toFixed(2)}/month); failover ${summary(samples, seconds)}`,
  );
}

const phases = Array.from({ length: 24 }, (_, i) => Math.round((i * 12_000) / 25));
const graceful = [];
const plain = [];
for (const phase of phases) {
  graceful.push(await handover(phase, { graceful: true }));
  plain.push(await handover(phase, { graceful: false }));
}
console.log(`\nHand-over (${phases.length} stop phases; simulated requests take 0 ms):`);
console.log(
  `  handOver() then stop(), time without a leader: ${summary(
    graceful.map((r) => r.gap),
    millis,
  )}`,
);
console.log(
  `  handOver() then stop(), until the successor leads: ${summary(
    graceful.map((r) => r.total),
    seconds,
  )}`,
);
console.log(
  `  stop() alone, until the successor leads:          ${summary(
    plain.map((r) => r.total),
    seconds,
  )}`,
);
