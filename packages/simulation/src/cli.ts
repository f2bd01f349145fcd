import { parseArgs } from 'node:util';
import { exerciseShortfalls } from './ci-seeds.js';
import { runSeedsInProcesses } from './run-seeds.js';
import { runSimulation, SimulationFailure, type SimulationReport } from './simulation.js';
import { formatSummary } from './summary.js';

const USAGE = `Usage: pnpm sim [options]          (a leading -- as in "pnpm run sim -- --seeds 3" is fine)

Many seeds, each in its own process (the way CI runs them):
  --seeds N            how many seeds to run (default 10)
  --from S             the first seed; seeds S, S+1, … S+N-1 (default 1)
  --days D             simulated days of random operation per seed, a quiet period follows
                       (default 10; fractions allowed)
  --jobs J             seeds running at once (default 2)
  --check-exercised    also fail when the seeds did not exercise enough: crashes, pauses, lost
                       responses, slots owed by the catch-up rules, leader changes, scaled by
                       seeds and days (CI's long run uses it)
  --known-failures L   comma-separated seeds that fail today because of open defects: they are
                       run and reported, but do not fail the run; any other failing seed does,
                       and a known one that passes is named so it can be taken off the list

One seed in this process, exactly as a failure message prints it:
  --seed S             run only seed S
  --trace              print a line per harness action and plugin event
  --strict-outages     also demand that the slots of a store outage be claimed afterwards
  --settle-turns T     macrotask turns the simulated clock settles per timer wake (default 2)
  --json               print the report as one JSON line (what the many-seed mode reads)

  -h, --help           this text

There is no wall-clock deadline: a run is sized by seeds × days. The last line is
"Simulation: N seeds × D days = X simulated days, N passed, N failed"; the exit code is 1 when a
seed violated an invariant (or, with --check-exercised, when the faults were not exercised enough).`;

function usageError(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

/** A number flag: finite and at least `min`, whole when `integer`. */
function numberFlag(name: string, raw: string, min: number, integer = true): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    usageError(`--${name} must be ${integer ? 'a whole number' : 'a number'} ≥ ${min}, got '${raw}'`);
  }
  return value;
}

// pnpm passes a `--` through (`pnpm run sim -- --seeds 3`); like the demo, ignore it.
const argv = process.argv.slice(2).filter((arg) => arg !== '--');
let values: ReturnType<typeof parse>['values'];
function parse(args: string[]) {
  return parseArgs({
    args,
    options: {
      seeds: { type: 'string', default: '10' },
      seed: { type: 'string' },
      from: { type: 'string', default: '1' },
      days: { type: 'string', default: '10' },
      jobs: { type: 'string', default: '2' },
      'settle-turns': { type: 'string' },
      trace: { type: 'boolean', default: false },
      'strict-outages': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'check-exercised': { type: 'boolean', default: false },
      'known-failures': { type: 'string', default: '' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}
try {
  values = parse(argv).values;
} catch (error) {
  usageError(error instanceof Error ? error.message : String(error));
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const days = numberFlag('days', values.days, 0, false);
const knownFailures = new Set(
  values['known-failures']
    .split(',')
    .filter((item) => item.trim() !== '')
    .map((item) => numberFlag('known-failures', item, 0)),
);
const started = performance.now();
let reports: SimulationReport[];
let shortfalls: string[] = [];
if (values.seed !== undefined) {
  const seed = numberFlag('seed', values.seed, 0);
  let report: SimulationReport;
  try {
    report = await runSimulation({
      seed,
      days,
      strictOutages: values['strict-outages'],
      ...(values['settle-turns']
        ? { settleTurns: numberFlag('settle-turns', values['settle-turns'], 1) }
        : {}),
      ...(values.trace ? { trace: (line: string) => console.log(line) } : {}),
    });
  } catch (error) {
    if (!(error instanceof SimulationFailure)) throw error;
    report = error.report;
    if (!values.json) console.log(error.message);
  }
  reports = [report];
  if (values.json) console.log(JSON.stringify(report));
} else {
  const count = numberFlag('seeds', values.seeds, 1);
  const from = numberFlag('from', values.from, 0);
  const jobs = numberFlag('jobs', values.jobs, 1);
  const seeds = Array.from({ length: count }, (_, i) => from + i);
  reports = await runSeedsInProcesses(seeds, days, jobs, (report) =>
    console.log(
      `seed ${report.seed}: ${report.violations.length === 0 ? 'ok' : 'FAILED'}, ${days} days in ${(report.wallMs / 1000).toFixed(1)} s (${report.fingerprint})`,
    ),
  );
  if (values['check-exercised']) shortfalls = exerciseShortfalls(reports);
}
if (!values.json) {
  console.log(formatSummary(reports, performance.now() - started));
  for (const shortfall of shortfalls) console.log(`  not exercised enough: ${shortfall}`);
  const failed = reports.filter((report) => report.violations.length > 0).length;
  const known = reports.filter((report) => report.violations.length > 0 && knownFailures.has(report.seed));
  const fixed = reports.filter((report) => report.violations.length === 0 && knownFailures.has(report.seed));
  if (known.length > 0)
    console.log(`  known failures (open defects): seeds ${known.map((report) => report.seed).join(', ')}`);
  if (fixed.length > 0)
    console.log(
      `  known failures that pass now (take them off the list): seeds ${fixed.map((report) => report.seed).join(', ')}`,
    );
  const simulated = reports.reduce((sum, report) => sum + report.simulatedMs, 0) / 86_400_000;
  console.log(
    `Simulation: ${reports.length} seed${reports.length === 1 ? '' : 's'} × ${days} days = ${simulated.toFixed(1)} simulated days, ` +
      `${reports.length - failed} passed, ${failed} failed${known.length > 0 ? ` (${known.length} known)` : ''}`,
  );
}
const unexpected = reports.some((report) => report.violations.length > 0 && !knownFailures.has(report.seed));
process.exitCode = unexpected || shortfalls.length > 0 ? 1 : 0;
