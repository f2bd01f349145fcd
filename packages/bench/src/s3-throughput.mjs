// Scheduled runs per second against the real S3 server (S3_ENDPOINT, e.g. the Ceph RGW of
// scripts/s3-server.sh) with trivial actions: one leader, N jobs on `* * * * * *`, every run
// claimed, finished and indexed in the bucket. Reports completed runs per second, requests per
// run and fire lateness. Without S3_ENDPOINT it reports "skipped".
import { randomBytes } from 'node:crypto';
import { SchedulerPlugin } from '@s3-scheduler/plugin';
import { CountingStore, s3TestBackend } from '@s3-scheduler/storage/testing';
import { preciseNow, report, size, sleep, summarize } from './lib.mjs';

if (!process.env.S3_ENDPOINT) {
  report({ skipped: 'no S3_ENDPOINT' });
  process.exit(0);
}

const MEASURE_S = size(10, 3);
/** Longest warm-up before measuring anyway (reported as `steady: false`). */
const MAX_WARMUP_MS = 60_000;

const untilNextSecond = () => 1000 - (Date.now() % 1000);

/**
 * Waits until this instance leads and its promotion work is over: the catch-up sweep lists each
 * job's newest records once, so the leader is steady once two whole seconds pass without a list
 * request. Returns how long that took and whether it happened within MAX_WARMUP_MS.
 */
async function warmUp(scheduler, store, promoted) {
  const t0 = performance.now();
  await Promise.race([promoted, sleep(MAX_WARMUP_MS)]);
  let quietSeconds = 0;
  while (quietSeconds < 2 && performance.now() - t0 < MAX_WARMUP_MS) {
    const lists = store.counts.list;
    await sleep(untilNextSecond() + 1000);
    quietSeconds = scheduler.isLeader() && store.counts.list === lists ? quietSeconds + 1 : 0;
  }
  return { warmupS: (performance.now() - t0) / 1000, steady: quietSeconds >= 2 };
}

async function measure(jobs) {
  const store = new CountingStore(await s3TestBackend());
  const definitions = {};
  const lateness = [];
  // The window is MEASURE_S whole-second slots: exactly their runs are counted, however late.
  let firstSlot = Number.POSITIVE_INFINITY;
  let endSlot = Number.POSITIVE_INFINITY;
  const inWindow = (slot) => slot >= firstSlot && slot < endSlot;
  const action = (_db, context) => {
    if (inWindow(context.scheduledTime)) lateness.push(preciseNow() - context.scheduledTime);
  };
  for (let i = 0; i < jobs; i++) definitions[`job-${i}`] = { schedule: '* * * * * *', action };
  const scheduler = new SchedulerPlugin({
    store,
    keyPrefix: `bench-${randomBytes(6).toString('hex')}/`,
    skipColdStart: true,
    maxConcurrentJobs: jobs,
    logger: null,
    jobs: definitions,
  });
  const window = { completed: 0, failed: 0, skipped: 0 };
  let finishedSinceReset = 0;
  let allIn;
  const done = new Promise((resolve) => {
    allIn = resolve;
  });
  const expected = jobs * MEASURE_S;
  const count = (kind, slot) => {
    finishedSinceReset++;
    if (!inWindow(slot)) return;
    window[kind]++;
    if (window.completed + window.failed + window.skipped === expected) allIn();
  };
  scheduler.on('plg:scheduler:job-completed', (event) => count('completed', event.scheduledTime));
  scheduler.on('plg:scheduler:job-failed', (event) => count('failed', event.scheduledTime));
  scheduler.on('plg:scheduler:job-skipped', (event) => count('skipped', Date.parse(event.slot)));
  scheduler.on('plg:scheduler:error', () => undefined);
  const promoted = new Promise((resolve) => scheduler.on('plg:scheduler:coordinator-promoted', resolve));
  await scheduler.start();
  const warm = await warmUp(scheduler, store, scheduler.isLeader() ? Promise.resolve() : promoted);
  firstSlot = Math.ceil(Date.now() / 1000) * 1000 + 1000;
  endSlot = firstSlot + MEASURE_S * 1000;
  await sleep(firstSlot - Date.now());
  store.reset();
  finishedSinceReset = 0;
  const t0 = performance.now();
  const timedOut = await Promise.race([
    done.then(() => false),
    sleep(endSlot - Date.now() + 60_000).then(() => true),
  ]);
  const elapsedS = (performance.now() - t0) / 1000;
  const requests = store.total;
  const finished = finishedSinceReset;
  await scheduler.stop();
  const late = summarize(lateness);
  const accounted = window.completed + window.failed + window.skipped;
  return {
    jobs,
    demandPerSecond: jobs,
    ...warm,
    windowSlots: MEASURE_S,
    expectedRuns: expected,
    windowRuns: accounted,
    missing: expected - accounted,
    timedOut,
    windowCompleted: window.completed,
    windowFailed: window.failed,
    windowSkipped: window.skipped,
    /** Seconds from the window's first slot until its last run ended. */
    elapsedS,
    runsPerSecond: finished / elapsedS,
    requestsPerSecond: requests / elapsedS,
    requestsPerRun: finished ? requests / finished : null,
    latenessP50Ms: late.p50,
    latenessP99Ms: late.p99,
  };
}

const rows = [];
for (const jobs of size([50, 200, 500], [20])) rows.push(await measure(jobs));
const best = rows.reduce((a, b) => (b.runsPerSecond > a.runsPerSecond ? b : a));
report({
  endpoint: 'S3_ENDPOINT (local Ceph RGW)',
  seconds: MEASURE_S,
  rows,
  maxRunsPerSecond: best.runsPerSecond,
});
process.exit(0);
