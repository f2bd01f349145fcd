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

async function measure(jobs) {
  const store = new CountingStore(await s3TestBackend());
  const definitions = {};
  const lateness = [];
  let recording = false;
  const action = (_db, context) => {
    if (recording) lateness.push(preciseNow() - context.scheduledTime);
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
  let completed = 0;
  let skipped = 0;
  let failed = 0;
  scheduler.on('plg:scheduler:job-completed', () => recording && completed++);
  scheduler.on('plg:scheduler:job-failed', () => recording && failed++);
  scheduler.on('plg:scheduler:job-skipped', () => recording && skipped++);
  scheduler.on('plg:scheduler:error', () => undefined);
  await scheduler.start();
  await sleep(2_000 + (1000 - (Date.now() % 1000)) - 500);
  store.reset();
  recording = true;
  const t0 = performance.now();
  await sleep(MEASURE_S * 1000);
  recording = false;
  const elapsedS = (performance.now() - t0) / 1000;
  const requests = store.total;
  await scheduler.stop();
  const late = summarize(lateness);
  return {
    jobs,
    demandPerSecond: jobs,
    runsPerSecond: completed / elapsedS,
    skippedPerSecond: skipped / elapsedS,
    failedPerSecond: failed / elapsedS,
    requestsPerSecond: requests / elapsedS,
    requestsPerRun: completed ? requests / completed : null,
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
