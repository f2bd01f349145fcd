import { parseArgs } from 'node:util';
import { runSeedsInProcesses } from './run-seeds.js';
import { runSimulation, SimulationFailure, type SimulationReport } from './simulation.js';
import { formatSummary } from './summary.js';

/**
 * `pnpm sim --seeds N --days D [--from S] [--jobs J]`: N seeds (S, S+1, …) of D simulated days
 * each, every seed in its own process, J at a time (default 2).
 * `pnpm sim --seed S --days D [--trace] [--strict-outages] [--json]`: one seed in this process,
 * as a failure message prints it.
 */
const { values } = parseArgs({
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
  },
});
const days = Number(values.days);
const started = performance.now();
let reports: SimulationReport[];
if (values.seed !== undefined) {
  const seed = Number(values.seed);
  let report: SimulationReport;
  try {
    report = await runSimulation({
      seed,
      days,
      strictOutages: values['strict-outages'],
      ...(values['settle-turns'] ? { settleTurns: Number(values['settle-turns']) } : {}),
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
  const seeds = Array.from({ length: Number(values.seeds) }, (_, i) => Number(values.from) + i);
  reports = await runSeedsInProcesses(seeds, days, Number(values.jobs), (report) =>
    console.log(
      `seed ${report.seed}: ${report.violations.length === 0 ? 'ok' : 'FAILED'}, ${days} days in ${(report.wallMs / 1000).toFixed(1)} s (${report.fingerprint})`,
    ),
  );
}
if (!values.json) console.log(formatSummary(reports, performance.now() - started));
process.exitCode = reports.some((report) => report.violations.length > 0) ? 1 : 0;
