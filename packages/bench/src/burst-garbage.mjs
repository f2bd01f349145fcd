// Garbage and CPU per run in a burst of 1,000 due slots, in steady state, on simulated time: the
// plugin on a `MemoryStore` and a `ManualClock` that moves a second per burst, so every burst
// does the same work however fast the machine is. What `lateness.mjs` cannot separate on the real
// clock: how much of a burst is garbage collection, and how much garbage a run leaves before its
// action starts (young-generation collections that fall inside a burst are what make one slot
// late, and one or two slow slots decide a p99 over ten).
//   node --expose-gc src/burst-garbage.mjs
//
// Per burst, from the clock's move to the 990th action start: CPU (`process.cpuUsage`, every
// thread), garbage-collection pauses inside that window (`PerformanceObserver` 'gc' entries),
// and the young generation's growth over the window when no collection fell in it (the bytes a
// run allocates before its action starts, `v8.getHeapSpaceStatistics`). After all bursts: heap
// kept per stored key after full collections (what a `MemoryStore` keeps per history record).
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import { ManualClock } from '@s3-scheduler/core/testing';
import { MemoryStore, SchedulerPlugin } from '@s3-scheduler/plugin';
import { fullGc, percentile, report, size, summarize } from './lib.mjs';

const JOBS = size(1000, 100);
const NTH = Math.ceil(JOBS * 0.99);
const WARMUP_BURSTS = size(30, 3);
const BURSTS = size(150, 5);

const cpuNow = () => {
  const cpu = process.cpuUsage();
  return cpu.user + cpu.system;
};
const youngUsed = () =>
  v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space').space_used_size;

const gcPauses = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcPauses.push([entry.startTime, entry.duration]);
}).observe({ entryTypes: ['gc'] });

let starts = 0;
let window;
const windows = [];
const action = () => {
  if (++starts !== NTH || !window) return;
  window.cpuMs = (cpuNow() - window.cpu) / 1000;
  window.end = performance.now();
  window.youngGrowth = youngUsed() - window.young;
  windows.push(window);
};

const clock = new ManualClock({ now: Date.UTC(2026, 0, 1) });
const store = new MemoryStore({ clock });
const jobs = {};
for (let i = 0; i < JOBS; i++) jobs[`job-${i}`] = { schedule: '* * * * * *', action };
const scheduler = new SchedulerPlugin({ store, clock, skipColdStart: true, logger: null, jobs });
await scheduler.start();
for (let burst = 0; burst < WARMUP_BURSTS + BURSTS; burst++) {
  starts = 0;
  window =
    burst < WARMUP_BURSTS ? undefined : { start: performance.now(), cpu: cpuNow(), young: youngUsed() };
  // One second: the burst's claims and starts, then the ended runs' final writes.
  await clock.advance(1000);
}
await new Promise((resolve) => setTimeout(resolve, 50)); // the last 'gc' entries
await scheduler.stop();

const pauseIn = (w) =>
  gcPauses.filter(([at]) => at >= w.start && at <= w.end).reduce((sum, [, ms]) => sum + ms, 0);
const pauses = windows.map(pauseIn);
const quiet = windows.filter((w, i) => pauses[i] === 0 && w.youngGrowth > 0);
const cpu = summarize(windows.map((w) => w.cpuMs));
const pause = summarize(pauses);
const garbage = summarize(quiet.map((w) => w.youngGrowth / NTH));
await fullGc();
report({
  jobs: JOBS,
  bursts: windows.length,
  cpuToNthP50Ms: cpu.p50,
  cpuToNthP90Ms: p90(windows.map((w) => w.cpuMs)),
  gcPauseInWindowMeanMs: pause.mean,
  gcPauseInWindowP90Ms: p90(pauses),
  burstsWithGcPause: pauses.filter((ms) => ms > 0).length,
  bytesPerRunBeforeStart: garbage.p50,
  quietWindows: quiet.length,
  storedKeys: store.size,
  heapPerStoredKeyBytes: process.memoryUsage().heapUsed / store.size,
});
process.exit(0);

function p90(values) {
  return percentile(Float64Array.from(values).sort(), 90);
}
