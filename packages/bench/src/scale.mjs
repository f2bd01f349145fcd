// 100,000 registered jobs: heap per job, registration time and idle CPU, for our plugin
// (constructor + addJob, then start) and for croner and node-cron (one job object each).
//   node --expose-gc src/scale.mjs <ours|ours-shared|croner|node-cron>
import { farExpressions, fullGc, report, size, sleep } from './lib.mjs';

const impl = process.argv[2] ?? 'ours';
const JOBS = size(100_000, 2_000);
const IDLE_MS = size(10_000, 1_000);
// Distinct expressions (worst case: no parse can be shared); `ours-shared` gives every job the
// same expression, the common case of many jobs on a few schedules.
const shared = impl === 'ours-shared';
// croner keeps ~83 KB per Cron object (measured): 100,000 of them exhaust the default heap, so
// croner registers at most 10,000 and its registration time is scaled to JOBS (linear).
const MEASURED = impl === 'croner' ? Math.min(JOBS, 10_000) : JOBS;
const expressions = shared ? Array(JOBS).fill(farExpressions(1)[0]) : farExpressions(JOBS);
const action = () => undefined;

// Everything the measurement itself allocates is created before the first heap reading.
const names = expressions.map((_, i) => `job-${String(i).padStart(6, '0')}`);
const keep = [];

async function measureIdle() {
  await fullGc();
  const cpu = process.cpuUsage();
  const started = performance.now();
  await sleep(IDLE_MS);
  const used = process.cpuUsage(cpu);
  const elapsed = performance.now() - started;
  return { idleCpuPercent: ((used.user + used.system) / 1000 / elapsed) * 100, idleMs: elapsed };
}

async function ours() {
  const { SchedulerPlugin, MemoryStore } = await import('@s3-scheduler/plugin');
  const { CountingStore } = await import('@s3-scheduler/storage/testing');
  const store = new CountingStore(new MemoryStore());
  await fullGc();
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const scheduler = new SchedulerPlugin({ store, skipColdStart: true, logger: null });
  for (let i = 0; i < JOBS; i++) await scheduler.addJob(names[i], { schedule: expressions[i], action });
  const registrationMs = performance.now() - t0;
  keep.push(scheduler);
  await fullGc();
  const heapAfterRegister = process.memoryUsage().heapUsed;
  // start(): probe, one next() per job into the due heap, leadership, and the promotion sweep
  // (a history query per job). The sweep runs in the background; wait until the store is quiet.
  const t1 = performance.now();
  await scheduler.start();
  const startMs = performance.now() - t1;
  let last = -1;
  while (store.total !== last) {
    last = store.total;
    await sleep(200);
  }
  const sweepMs = performance.now() - t1;
  const startRequests = store.snapshot();
  await fullGc();
  const heapAfterStart = process.memoryUsage().heapUsed;
  store.reset();
  const idle = await measureIdle();
  const idleRequests = store.total;
  await scheduler.stop();
  return {
    registrationMs,
    heapPerJobBytes: (heapAfterRegister - heapBefore) / JOBS,
    heapPerJobStartedBytes: (heapAfterStart - heapBefore) / JOBS,
    startMs,
    startAndSweepMs: sweepMs,
    startRequests,
    idleRequests,
    ...idle,
  };
}

async function croner() {
  const { Cron } = await import('croner');
  await fullGc();
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  for (let i = 0; i < MEASURED; i++) keep.push(new Cron(expressions[i], { name: names[i] }, action));
  const registrationMs = ((performance.now() - t0) * JOBS) / MEASURED;
  await fullGc();
  const heapAfter = process.memoryUsage().heapUsed;
  const idle = await measureIdle();
  for (const job of keep) job.stop();
  return {
    measuredJobs: MEASURED,
    registrationMs,
    heapPerJobBytes: (heapAfter - heapBefore) / MEASURED,
    ...idle,
  };
}

async function nodeCron() {
  const cron = (await import('node-cron')).default;
  await fullGc();
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  for (let i = 0; i < JOBS; i++) keep.push(cron.schedule(expressions[i], action, { name: names[i] }));
  const registrationMs = performance.now() - t0;
  await fullGc();
  const heapAfter = process.memoryUsage().heapUsed;
  const idle = await measureIdle();
  for (const task of keep) await task.destroy();
  return { registrationMs, heapPerJobBytes: (heapAfter - heapBefore) / JOBS, ...idle };
}

const run = { ours, 'ours-shared': ours, croner, 'node-cron': nodeCron }[impl];
if (!run) throw new Error(`unknown implementation ${impl}`);
report({ impl, jobs: JOBS, ...(await run()) });
process.exit(0);
