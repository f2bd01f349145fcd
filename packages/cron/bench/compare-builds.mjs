// `next()` throughput of two builds of this package, interleaved in one Node process, on the mix
// of bench/next.bench.ts. Each round times 20,000 iterations (12 `next()` calls each) with CPU
// time rather than wall time, so other load on a shared machine counts less; the two builds
// alternate for 40 rounds. Build the other version (in another worktree, say), copy its dist into
// this package so it resolves the same dependencies, build this one, and run from packages/cron:
//   cp -r ../../../other-worktree/packages/cron/dist ./old-dist && pnpm build
//   node bench/compare-builds.mjs ./old-dist; rm -r ./old-dist
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CronExpressionParser } from 'cron-parser';

const otherDir = process.argv[2];
if (otherDir === undefined) throw new Error('usage: node bench/compare-builds.mjs <dist of the other build>');
const other = await import(pathToFileURL(resolve(otherDir, 'index.js')).href);
const current = await import(new URL('../dist/index.js', import.meta.url).href);

const MIX = [
  ['*/5 * * * *', 'UTC'],
  ['0 3 * * *', 'America/New_York'],
  ['30 2 * * *', 'Europe/London'],
  ['0 */2 * * 1-5', 'Asia/Tokyo'],
  ['0 0 1 * *', 'Australia/Lord_Howe'],
  ['15 9 * * MON', 'America/Sao_Paulo'],
  ['0 0 L * *', 'Europe/Berlin'],
  ['*/10 * * * * *', 'UTC'],
  ['0 12 * * 5L', 'Pacific/Chatham'],
  ['0 * * * *', 'America/Santiago'],
  ['0 0 29 2 *', 'America/Los_Angeles'],
  ['45 23 * * 0', 'Asia/Kolkata'],
];
const INSTANTS = [];
for (let i = 0, x = 12_345; i < 512; i++) {
  x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
  INSTANTS.push(new Date(Date.UTC(2024, 0, 1) + (x % (3 * 365 * 86_400)) * 1000));
}

const builds = {
  other: MIX.map(([expression, timezone]) => other.parseCron(expression, { timezone })),
  current: MIX.map(([expression, timezone]) => current.parseCron(expression, { timezone })),
};
const parsers = MIX.map(([expression, tz]) => CronExpressionParser.parse(expression, { tz }));
let sink = 0;

/** Iterations per second of CPU time. */
function timed(iterations, body) {
  const start = process.cpuUsage();
  for (let i = 0; i < iterations; i++) body(INSTANTS[i & 511]);
  const used = process.cpuUsage(start);
  return iterations / ((used.user + used.system) / 1e6);
}
const round = (schedules, iterations) =>
  timed(iterations, (at) => {
    for (const schedule of schedules) sink += schedule.next(at).getTime();
  });

round(builds.other, 20_000);
round(builds.current, 20_000);
const results = { other: [], current: [], cronParser: [] };
for (let r = 0; r < 40; r++) {
  results.other.push(round(builds.other, 20_000));
  results.current.push(round(builds.current, 20_000));
  if (r % 5 === 0) {
    results.cronParser.push(
      timed(50, (at) => {
        for (const parser of parsers) {
          parser.reset(at);
          sink += parser.next().getTime();
        }
      }),
    );
  }
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
console.log('iterations per CPU second (12 next() calls each), median of the rounds');
for (const [name, values] of Object.entries(results))
  console.log(name.padEnd(11), Math.round(median(values)));
const ratios = results.current.map((value, index) => value / results.other[index]);
console.log('current / other, median of the rounds:', median(ratios).toFixed(2), sink > 0 ? '' : '?');
