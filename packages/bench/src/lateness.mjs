// Fire lateness with N jobs due in the same second, on the real clock: every job runs every
// second (`* * * * * *`), and each action start records (start − slot instant). One scheduler per
// process; run-all.mjs runs ours, croner and node-cron one after the other on the same machine.
//   node --expose-gc src/lateness.mjs <ours|ours-unbounded|croner|node-cron>
import { preciseNow, report, size, sleep, summarize } from './lib.mjs';

const impl = process.argv[2] ?? 'ours';
const JOBS = size(1000, 100);
const WARMUP_S = size(2, 1);
const MEASURE_S = size(10, 2);

const samples = new Float64Array(JOBS * (WARMUP_S + MEASURE_S + 3));
let count = 0;
let recording = false;
let early = 0;
const record = (lateness) => {
  if (!recording) return;
  if (lateness < 0) early++;
  samples[count++] = lateness;
};
/** For peers that do not pass the slot: the nearest whole second (valid while |lateness| < 500 ms). */
const nearestSecond = (now) => Math.round(now / 1000) * 1000;

async function startOurs(maxConcurrentJobs) {
  const { MemoryStore, SchedulerPlugin } = await import('@s3-scheduler/plugin');
  const jobs = {};
  const action = (_db, context) => {
    record(preciseNow() - context.scheduledTime);
  };
  for (let i = 0; i < JOBS; i++) jobs[`job-${i}`] = { schedule: '* * * * * *', action };
  const scheduler = new SchedulerPlugin({
    store: new MemoryStore(),
    skipColdStart: true,
    logger: null,
    jobs,
    ...(maxConcurrentJobs ? { maxConcurrentJobs } : {}),
  });
  await scheduler.start();
  return () => scheduler.stop();
}

async function startCroner() {
  const { Cron } = await import('croner');
  const jobs = [];
  for (let i = 0; i < JOBS; i++) {
    jobs.push(
      new Cron('* * * * * *', () => {
        const now = preciseNow();
        record(now - nearestSecond(now));
      }),
    );
  }
  return () => {
    for (const job of jobs) job.stop();
  };
}

async function startNodeCron() {
  const cron = (await import('node-cron')).default;
  const tasks = [];
  for (let i = 0; i < JOBS; i++) {
    tasks.push(
      cron.schedule('* * * * * *', (context) => {
        record(preciseNow() - context.date.getTime());
      }),
    );
  }
  return async () => {
    for (const task of tasks) await task.destroy();
  };
}

const starters = {
  ours: () => startOurs(undefined),
  'ours-unbounded': () => startOurs(JOBS),
  croner: startCroner,
  'node-cron': startNodeCron,
};
if (!starters[impl]) throw new Error(`unknown implementation ${impl}`);
const stop = await starters[impl]();
await sleep(WARMUP_S * 1000 + (1000 - (Date.now() % 1000)) - 500); // start recording mid-second
recording = true;
await sleep(MEASURE_S * 1000);
recording = false;
await stop();
const stats = summarize(samples.subarray(0, count));
report({
  impl,
  jobs: JOBS,
  seconds: MEASURE_S,
  expectedRuns: JOBS * MEASURE_S,
  runs: count,
  early,
  ...stats,
});
process.exit(0);
