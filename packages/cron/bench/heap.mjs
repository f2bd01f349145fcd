// Retained heap and parse time per *distinct* parsed schedule, against the built package.
//   pnpm build && node --expose-gc bench/heap.mjs [count]
// Parses `count` (default 100,000) distinct expressions `${s} ${m} ${h} ${dom} ${month} *`, keeps
// every schedule, forces a full GC and divides the heapUsed delta by the count. The expressions
// and their strings are built before the first heap reading, so only what parseCron retains is
// counted (the schedule, its parsed fields and its share of the parse cache).
import { parseCron } from '../dist/index.js';

if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
const count = Number(process.argv[2] ?? 100_000);
const expressions = [];
for (let i = 0; i < count; i++) {
  // 60 * 60 * 24 * 28 combinations: every expression is distinct up to 2.4 million.
  const second = i % 60;
  const minute = Math.floor(i / 60) % 60;
  const hour = Math.floor(i / 3600) % 24;
  const day = 1 + (Math.floor(i / 86_400) % 28);
  expressions.push(`${second} ${minute} ${hour} ${day} ${1 + (i % 12)} *`);
}
// Warm up the code paths and the zone (on expressions not in the measured set).
for (let i = 0; i < 2_000; i++) parseCron(`${i % 60} ${i % 60} ${i % 24} ${1 + (i % 28)} * 1-5`).next(0);
const gcTwice = () => {
  globalThis.gc();
  globalThis.gc();
};
const keep = new Array(count);
gcTwice();
const before = process.memoryUsage().heapUsed;
const started = process.hrtime.bigint();
for (let i = 0; i < count; i++) keep[i] = parseCron(expressions[i], { timezone: 'Europe/London' });
const elapsedNs = Number(process.hrtime.bigint() - started);
gcTwice();
const after = process.memoryUsage().heapUsed;
const next0 = keep[0].next(Date.UTC(2025, 0, 1));
console.log(
  JSON.stringify({
    node: process.version,
    schedules: count,
    heapPerScheduleBytes: Math.round((after - before) / count),
    parseMicrosPerSchedule: Number((elapsedNs / 1000 / count).toFixed(2)),
    totalParseMs: Math.round(elapsedNs / 1e6),
    check: next0?.toISOString(),
  }),
);
