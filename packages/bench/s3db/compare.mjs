// Side by side in one run: the idle cost of s3db.js 21.6.2's SchedulerPlugin and of ours (3
// processes each, default options, every request counted by the same proxy), one after the other,
// then optionally (--kills N) failover after SIGKILL for both. Prints one table per measure and
// the ratios; --json prints every figure as JSON on stdout (tables go to stderr then).
//
//   node compare.mjs [--minutes 5] [--warmup 90] [--processes 3] [--jobs 5] [--kills 0] [--parallel] [--json]
import { parseArgs } from 'node:util';
import { failoverTable, runFailover } from './failover.mjs';
import { idleHeading, idleTable, runIdle } from './idle.mjs';
import { round } from './lib.mjs';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '90' },
    processes: { type: 'string', default: '3' },
    jobs: { type: 'string', default: '5' },
    kills: { type: 'string', default: '0' },
    timeout: { type: 'string', default: '240' },
    // Both clusters at once (each process still has its own proxy): half the wall time.
    parallel: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const common = { processes: Number(values.processes), jobs: Number(values.jobs) };
const idleOptions = { ...common, minutes: Number(values.minutes), warmup: Number(values.warmup) };
const impls = ['s3db', 'ours'];

const idle = values.parallel
  ? await Promise.all(impls.map((impl) => runIdle({ ...idleOptions, impl })))
  : [await runIdle({ ...idleOptions, impl: 's3db' }), await runIdle({ ...idleOptions, impl: 'ours' })];
const failover = [];
if (Number(values.kills) > 0)
  for (const impl of impls)
    failover.push(
      await runFailover({ ...common, impl, kills: Number(values.kills), timeout: Number(values.timeout) }),
    );

const print = values.json ? console.error : console.log;
const [theirs, ours] = idle;
print(`\n${idleHeading(theirs)}${values.parallel ? ' Both clusters ran at the same time.' : ''}\n`);
print(idleTable(idle));
print(
  `\nours ÷ s3db: requests/h ${round(ours.total.total / theirs.total.total, 2)}, $/month ${round(ours.total.dollarsPerMonth / theirs.total.dollarsPerMonth, 2)}`,
);
if (failover.length > 0) {
  print(
    `\nFailover, ${common.processes} processes, ${common.jobs} jobs every minute, leader SIGKILLed ${values.kills} times.\n`,
  );
  print(failoverTable(failover));
}
for (const result of [...idle, ...failover])
  if (result.errors.length > 0)
    print(`\nerrors reported by ${result.impl} workers: ${JSON.stringify(result.errors)}`);
if (values.json) console.log(JSON.stringify({ idle, failover }, null, 2));
process.exit(0);
