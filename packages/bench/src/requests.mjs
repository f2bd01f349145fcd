// Store requests per scheduled run and per idle instance-hour, counted with CountingStore on a
// MemoryStore, on a ManualClock (no real waiting), with the plugin's default settings.
import { ManualClock } from '@s3-scheduler/core/testing';
import { MemoryStore, SchedulerPlugin } from '@s3-scheduler/plugin';
import { CountingStore } from '@s3-scheduler/storage/testing';
import { report, size } from './lib.mjs';

const HOUR = 3_600_000;
const START = Date.UTC(2026, 0, 1, 0, 0, 0, 500);

function plugin(store, clock, jobs, workerId) {
  return new SchedulerPlugin({
    store,
    clock,
    workerId,
    skipColdStart: true,
    logger: null,
    jobs,
  });
}

/**
 * One leader with `jobs` jobs on `schedule`, over `hours` after a warm-up. Returns the counts and
 * the number of finished runs. With no jobs it is the idle baseline of the same period.
 */
async function measure({ jobs, schedule, hours }) {
  const clock = new ManualClock({ now: START });
  const store = new CountingStore(new MemoryStore());
  const definitions = {};
  for (let i = 0; i < jobs; i++) definitions[`job-${i}`] = { schedule, action: () => undefined };
  const scheduler = plugin(store, clock, definitions, 'worker-0');
  let runs = 0;
  scheduler.on('plg:scheduler:job-completed', () => runs++);
  await scheduler.start();
  await clock.advance(2 * 60_000); // warm-up: probe, first heartbeats, promotion sweep
  store.reset();
  runs = 0;
  await clock.advance(hours * HOUR);
  const counts = store.snapshot();
  const finished = runs;
  await scheduler.stop();
  return { counts, runs: finished };
}

/** Requests per run, net of the idle cost of the same instance over the same period. */
async function perRun({ jobs, schedule, hours, label }) {
  const busy = await measure({ jobs, schedule, hours });
  const idle = await measure({ jobs: 0, schedule, hours });
  const net = {};
  for (const kind of Object.keys(busy.counts))
    net[kind] = (busy.counts[kind] - idle.counts[kind]) / busy.runs;
  return {
    label,
    jobs,
    schedule,
    hours,
    runs: busy.runs,
    totalRequests: busy.counts.total,
    idleRequests: idle.counts.total,
    grossPerRun: busy.counts.total / busy.runs,
    perRun: net.total,
    perRunByKind: net,
  };
}

/** Three instances sharing one store, idle (no due slot), for `hours`; requests per instance-hour. */
async function idleHour(hours, options = {}) {
  const clock = new ManualClock({ now: START });
  const memory = new MemoryStore();
  const nodes = [];
  for (let i = 0; i < 3; i++) {
    const counter = new CountingStore(memory);
    const scheduler = new SchedulerPlugin({
      store: counter,
      clock,
      workerId: `worker-${i}`,
      skipColdStart: true,
      logger: null,
      jobs: { yearly: { schedule: '0 0 1 7 *', action: () => undefined } },
      ...options,
    });
    nodes.push({ scheduler, counter });
    await scheduler.start();
    await clock.advance(7_000);
  }
  await clock.advance(5 * 60_000);
  for (const node of nodes) node.counter.reset();
  await clock.advance(hours * HOUR);
  const leader = nodes.find(({ scheduler }) => scheduler.isLeader());
  // The follower first in line reads the lease after each renewal; the others once per heartbeat.
  const successor = nodes
    .filter((node) => node !== leader)
    .sort((a, b) => (a.scheduler.workerId < b.scheduler.workerId ? -1 : 1))[0];
  const rows = nodes.map((node) => {
    const { counter, scheduler } = node;
    const perHour = Object.fromEntries(Object.entries(counter.counts).map(([k, v]) => [k, v / hours]));
    return {
      instance: scheduler.workerId,
      role: node === leader ? 'leader' : node === successor ? 'successor' : 'follower',
      perHour: counter.total / hours,
      writesPerHour: counter.writes / hours,
      byKindPerHour: perHour,
      usdPerMonth: dollarsPerHour(perHour) * 730,
    };
  });
  // A leader's stop() hands over, which takes (manual) clock time: move it while stopping.
  let stopped = false;
  const stopping = Promise.all(nodes.map(({ scheduler }) => scheduler.stop())).then(() => {
    stopped = true;
  });
  while (!stopped) await clock.advance(100);
  await stopping;
  return rows;
}

/** AWS S3 Standard list prices (us-east-1): PUT, COPY, POST, LIST $0.005 and GET, HEAD $0.0004 per 1,000. */
function dollarsPerHour({ put = 0, list = 0, get = 0, head = 0 }) {
  return ((put + list) * 0.005 + (get + head) * 0.0004) / 1000;
}

/** $/month of `perRun` requests (by kind) at `runsPerMinute`, 730 hours a month. */
function dollarsPerMonth(perRun, runsPerMinute) {
  return dollarsPerHour(perRun) * runsPerMinute * 60 * 730;
}

/**
 * s3db.js 21.6.2's Scheduler Plugin per run, from ../shared/reference/s3db-scheduler-review.md
 * (§2.6 lock, §2.7 history): lock PUT (If-None-Match), 3 history PUTs (the record and its byJob
 * and byDate partition objects), then at release a GET of the lock and a DELETE (free on S3).
 */
const S3DB_PER_RUN = { put: 4, get: 1, delete: 1 };

const hours = size(2, 0.1);
const result = {
  perRun: [
    await perRun({ label: 'every minute', jobs: size(50, 5), schedule: '* * * * *', hours }),
    await perRun({
      label: 'every second',
      jobs: size(10, 2),
      schedule: '* * * * * *',
      hours: size(0.25, 0.02),
    }),
    await perRun({ label: 'every hour', jobs: size(200, 10), schedule: '0 * * * *', hours: size(24, 2) }),
  ],
  idle: await idleHour(size(24, 1)),
  heartbeatInterval: 30_000,
};
result.cost = [
  ...result.perRun.map((row) => ({
    who: 's3-scheduler',
    label: `${row.jobs} jobs ${row.label}`,
    perRun: row.perRun,
    perRunByKind: row.perRunByKind,
    usdPerMonthAt10k: dollarsPerMonth(row.perRunByKind, 10_000),
    usdPerMonthAt100k: dollarsPerMonth(row.perRunByKind, 100_000),
  })),
  {
    who: 's3db.js 21.6.2',
    label: 'any schedule (from the review, not measured here)',
    perRun: S3DB_PER_RUN.put + S3DB_PER_RUN.get + S3DB_PER_RUN.delete,
    perRunByKind: S3DB_PER_RUN,
    usdPerMonthAt10k: dollarsPerMonth(S3DB_PER_RUN, 10_000),
    usdPerMonthAt100k: dollarsPerMonth(S3DB_PER_RUN, 100_000),
  },
];
report(result);
