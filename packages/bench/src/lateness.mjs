// Fire lateness with N jobs due in the same second, on the real clock: every job runs every
// second (`* * * * * *`), and each action start records (start − slot instant). One scheduler per
// process; run-all.mjs runs ours, croner and node-cron one after the other on the same machine.
//   node --expose-gc src/lateness.mjs <ours|ours-unbounded|ours-1m|croner|node-cron>
//
// Every run of every whole-second slot from the second after `start()` to the window's end is
// counted, however late it starts, so a scheduler that falls seconds behind cannot count more (or
// fewer) runs than it was given. The figures (p50, p99, CPU) are those of the window: the
// MEASURE_S slots after a WARMUP_S-second warm-up, the same for every implementation. The
// warm-up's own slots are reported apart (`startP50`/`startP99`): right after `start()` code is
// not yet optimized by the JIT and the young generation is still growing, so those slots measure
// how fast a process warms up, not how late a running scheduler fires (it runs for months).
import { preciseNow, report, size, sleep, summarize } from './lib.mjs';

const impl = process.argv[2] ?? 'ours';
const JOBS = size(1000, 100);
const WARMUP_S = size(5, 1);
const MEASURE_S = size(20, 2);
/** Stored keys before the start, for `ours-1m`: a store holding months of history. */
const PREFILL_KEYS = size(1_000_000, 20_000);
/** The burst's 99th start: CPU used from a slot's first start to it (issue 22's "to the 990th"). */
const NTH = Math.ceil(JOBS * 0.99);

const SLOTS = WARMUP_S + MEASURE_S;
const samples = new Float64Array(JOBS * SLOTS);
/** Each sample's slot, to summarize the warm-up's slots and the window's apart. */
const sampleSlots = new Float64Array(JOBS * SLOTS);
let count = 0;
let early = 0;
/** The first slot counted (the second whole second after `start()`), the window's first, its end. */
let firstSlot = Number.POSITIVE_INFINITY;
let windowSlot = Number.POSITIVE_INFINITY;
let endSlot = Number.POSITIVE_INFINITY;
/** Per slot: starts seen, CPU (µs) at its first start, then its 990th start's figures. */
const bursts = new Map();
/**
 * Per slot: CPU (µs) read by a timer 10 ms before the slot, while the process is idle. The
 * timer is due before the scheduler's, so it runs first even when both fire late. CPU from
 * there to the 990th start counts everything a scheduler does for the burst (claims made
 * before the first action starts included), which "1st to 990th start" leaves out.
 */
const cpuBeforeSlot = new Map();
const cpuNow = () => {
  const cpu = process.cpuUsage();
  return cpu.user + cpu.system;
};
let allIn;
const done = new Promise((resolve) => {
  allIn = resolve;
});
const record = (slot, start) => {
  if (slot < firstSlot || slot >= endSlot) return;
  const lateness = start - slot;
  if (lateness < 0) early++;
  sampleSlots[count] = slot;
  samples[count++] = lateness;
  let burst = bursts.get(slot);
  if (!burst) {
    const cpu = process.cpuUsage();
    burst = {
      slot,
      starts: 0,
      cpu: cpu.user + cpu.system,
      firstMs: lateness,
      nthMs: null,
      cpuToNthMs: null,
      cpuSlotToNthMs: null,
    };
    bursts.set(slot, burst);
  }
  if (++burst.starts === NTH) {
    const cpu = cpuNow();
    burst.nthMs = lateness;
    burst.cpuToNthMs = (cpu - burst.cpu) / 1000;
    const before = cpuBeforeSlot.get(slot);
    if (before !== undefined) burst.cpuSlotToNthMs = (cpu - before) / 1000;
  }
  if (count === samples.length) allIn();
};
const round = (ms) => Math.round(ms * 10) / 10;
/** For peers that do not pass the slot: the nearest whole second (valid while |lateness| < 500 ms). */
const nearestSecond = (now) => Math.round(now / 1000) * 1000;

async function prefill(store) {
  // History as the plugin lays it out (records under each job's partition, one in ten failed
  // with its marker and index entry) for jobs other than the measured ones, so the measured
  // claims land among a million keys of the same partitions. One realistic record body is
  // shared by all (encoding a million records would only slow the set-up down).
  const { HistoryKeys } = await import('@s3-scheduler/history');
  const keys = new HistoryKeys('plugin=scheduler/history/');
  const body = new TextEncoder().encode(
    JSON.stringify({
      v: 1,
      job: 'old-0',
      slot: new Date().toISOString(),
      runId: '01JGXQ7Y8Z9A0B1C2D3E4F5G6H',
      status: 'completed',
      trigger: 'schedule',
      epoch: 1,
      workerId: 'seed-worker-0123456789',
      attempts: 1,
      startedAt: new Date().toISOString(),
      finishedAt: new Date().toISOString(),
      durationMs: 25,
      result: { rows: 42 },
      error: null,
      updatedAt: new Date().toISOString(),
      nonce: 'AbCdEfGhIjKlMnOpQrStUv',
    }),
  );
  const started = performance.now();
  const newest = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
  // Time of the record puts among the first and among the last 10,000 keys: flat if a put's cost
  // does not grow with the number of stored keys.
  const window = Math.min(10_000, PREFILL_KEYS / 10);
  let firstPutsMs = 0;
  let lastPutsMs = 0;
  let firstPuts = 0;
  let lastPuts = 0;
  for (let run = 0; store.size < PREFILL_KEYS; run++) {
    for (let job = 0; job < 1000 && store.size < PREFILL_KEYS; job++) {
      const key = keys.run(`old-${job}`, { slotMs: newest - run * 60_000 });
      const t0 = performance.now();
      await store.put(key, body, { ifNoneMatch: '*' });
      const took = performance.now() - t0;
      if (store.size <= window) {
        firstPutsMs += took;
        firstPuts++;
      } else if (store.size > PREFILL_KEYS - window) {
        lastPutsMs += took;
        lastPuts++;
      }
      if (run % 10 === 9) {
        await store.put(keys.marker(key, 'failed'), '');
        await store.put(keys.indexEntry(`old-${job}`, key, 'failed'), '');
      }
    }
  }
  return {
    storedKeys: store.size,
    prefillMs: performance.now() - started,
    createOnlyPutUsFirstKeys: (firstPutsMs / firstPuts) * 1000,
    createOnlyPutUsLastKeys: (lastPutsMs / lastPuts) * 1000,
  };
}

async function startOurs(maxConcurrentJobs, prefilled) {
  const { MemoryStore, SchedulerPlugin } = await import('@s3-scheduler/plugin');
  const store = new MemoryStore();
  const filled = prefilled ? await prefill(store) : {};
  const jobs = {};
  const action = (_db, context) => {
    record(context.scheduledTime, preciseNow());
  };
  for (let i = 0; i < JOBS; i++) jobs[`job-${i}`] = { schedule: '* * * * * *', action };
  const scheduler = new SchedulerPlugin({
    store,
    skipColdStart: true,
    logger: null,
    jobs,
    ...(maxConcurrentJobs ? { maxConcurrentJobs } : {}),
  });
  await scheduler.start();
  return { stop: () => scheduler.stop(), extra: () => ({ ...filled, storedKeysAtEnd: store.size }) };
}

async function startCroner() {
  const { Cron } = await import('croner');
  const jobs = [];
  for (let i = 0; i < JOBS; i++) {
    jobs.push(
      new Cron('* * * * * *', () => {
        const now = preciseNow();
        record(nearestSecond(now), now);
      }),
    );
  }
  return {
    stop: () => {
      for (const job of jobs) job.stop();
    },
  };
}

async function startNodeCron() {
  const cron = (await import('node-cron')).default;
  const tasks = [];
  for (let i = 0; i < JOBS; i++) {
    tasks.push(
      cron.schedule('* * * * * *', (context) => {
        record(context.date.getTime(), preciseNow());
      }),
    );
  }
  return {
    stop: async () => {
      for (const task of tasks) await task.destroy();
    },
  };
}

const starters = {
  ours: () => startOurs(undefined, false),
  'ours-unbounded': () => startOurs(JOBS, false),
  'ours-1m': () => startOurs(undefined, true),
  croner: startCroner,
  'node-cron': startNodeCron,
};
if (!starters[impl]) throw new Error(`unknown implementation ${impl}`);
const started = await starters[impl]();
// Counted from the second whole-second slot after now (the first may already be due while this
// line runs, its first runs unseen); the window is the MEASURE_S slots after the WARMUP_S warm-up's.
firstSlot = Math.ceil(Date.now() / 1000) * 1000 + 1000;
windowSlot = firstSlot + WARMUP_S * 1000;
endSlot = windowSlot + MEASURE_S * 1000;
for (let slot = windowSlot; slot < endSlot; slot += 1000) {
  setTimeout(() => cpuBeforeSlot.set(slot, cpuNow()), slot - 10 - Date.now());
}
// Every run of those slots, or a deadline far past the window (a run that never starts counts
// as missing, never as a late sample).
const deadline = endSlot - Date.now() + 60_000;
const timedOut = await Promise.race([done.then(() => false), sleep(deadline).then(() => true)]);
await started.stop();
const counted = samples.subarray(0, count);
const inWindow = (_, i) => sampleSlots[i] >= windowSlot;
const window = counted.filter(inWindow);
const stats = summarize(window);
const start = summarize(counted.filter((value, i) => !inWindow(value, i)));
const windowBursts = [...bursts.values()].filter((burst) => burst.slot >= windowSlot);
const figures = (field) => windowBursts.map((burst) => burst[field]).filter((ms) => ms !== null);
const cpu = summarize(figures('cpuToNthMs'));
const cpuFromSlot = summarize(figures('cpuSlotToNthMs'));
report({
  impl,
  jobs: JOBS,
  warmupS: WARMUP_S,
  seconds: MEASURE_S,
  expectedRuns: JOBS * MEASURE_S,
  runs: window.length,
  missing: JOBS * MEASURE_S - window.length,
  timedOut,
  early,
  ...stats,
  // The warm-up's slots (the WARMUP_S slots right after `start()`), apart from the window.
  startSlots: WARMUP_S,
  startP50: start.p50,
  startP99: start.p99,
  nth: NTH,
  cpuToNthP50Ms: cpu.p50,
  cpuToNthMaxMs: cpu.max,
  cpuSlotToNthP50Ms: cpuFromSlot.p50,
  cpuSlotToNthMaxMs: cpuFromSlot.max,
  ...(started.extra ? started.extra() : {}),
  // Slot by slot (in order, the warm-up's first): lateness of its first and its 990th start, CPU
  // from 10 ms before it to its 990th start (window slots). One slow slot can decide a p99.
  perSlot: [...bursts.values()].map((burst) => ({
    window: burst.slot >= windowSlot,
    firstMs: round(burst.firstMs),
    nthMs: burst.nthMs === null ? null : round(burst.nthMs),
    cpuSlotToNthMs: burst.cpuSlotToNthMs === null ? null : round(burst.cpuSlotToNthMs),
  })),
});
process.exit(0);
