// next() throughput on a fixed mix of expressions and zones, side by side with raw cron-parser
// (`CronExpressionParser.parse` once, then `reset(date)` + `next()`) and croner (`nextRun(date)`),
// interleaved in rounds in one process. (packages/cron has the fuller vitest bench.)
import { parseCron } from '@s3-scheduler/cron';
import { CronExpressionParser } from 'cron-parser';
import { Cron } from 'croner';
import { report, size } from './lib.mjs';

const MIX = [
  ['*/5 * * * *', 'UTC'],
  ['0 3 * * *', 'America/New_York'],
  ['30 2 * * *', 'Europe/London'],
  ['0 */2 * * 1-5', 'Asia/Tokyo'],
  ['0 0 1 * *', 'Australia/Lord_Howe'],
  ['15 9 * * MON', 'America/Sao_Paulo'],
  ['*/10 * * * * *', 'UTC'],
  ['0 * * * *', 'America/Santiago'],
  ['45 23 * * 0', 'Asia/Kolkata'],
];
// Instants never repeat (a fresh pseudo-random second in 2024-2026 per call), so no cache helps.
const BASE = Date.UTC(2024, 0, 1);
const RANGE_S = 3 * 365 * 86_400;
let seed = 12_345;
const nextInstant = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return new Date(BASE + (seed % RANGE_S) * 1000 + (seed % 997));
};
const ours = MIX.map(([e, timezone]) => parseCron(e, { timezone }));
const parsers = MIX.map(([e, tz]) => CronExpressionParser.parse(e, { tz, currentDate: new Date(BASE) }));
const croners = MIX.map(([e, timezone]) => new Cron(e, { timezone, paused: true }));

let sink = 0;
const candidates = {
  ours: (i, at) => {
    sink += ours[i].next(at)?.getTime() ?? 0;
  },
  'cron-parser': (i, at) => {
    const p = parsers[i];
    p.reset(at);
    sink += p.next().getTime();
  },
  croner: (i, at) => {
    sink += croners[i].nextRun(at)?.getTime() ?? 0;
  },
};

function opsPerSecond(fn, ms) {
  let ops = 0;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let k = 0; k < 256; k++) {
      fn(k % MIX.length, nextInstant());
    }
    ops += 256;
    elapsed = performance.now() - t0;
  }
  return (ops / elapsed) * 1000;
}

const best = {};
for (let round = 0; round < size(5, 2); round++) {
  for (const [name, fn] of Object.entries(candidates)) {
    best[name] = Math.max(best[name] ?? 0, opsPerSecond(fn, size(500, 100)));
  }
}
report({ expressions: MIX.length, opsPerSecond: best, sink: sink > 0 });
