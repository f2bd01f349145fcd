import { runSeedsInProcesses } from './run-seeds.js';
import type { SimulationReport } from './simulation.js';
import { formatSummary } from './summary.js';

/**
 * The seeds CI runs, each in its own process, two at a time (`runSeedsInProcesses`). Each seed
 * simulates `CI_DAYS` days starting a few days before a DST transition; together they cover
 * more than 200 simulated days. Seeds 201–255 all pass at 8.5 days; the plugin bugs this harness
 * found (README, "Bugs found") are fixed, so there is no list of known-failing seeds.
 */
export const CI_DAYS = 8.5;
export const CI_SEEDS: readonly number[] = Array.from({ length: 24 }, (_, i) => 201 + i);

/** Runs the seeds, each in its own process, and prints the summary. */
export async function runSeeds(
  label: string,
  seeds: readonly number[],
  days: number,
): Promise<{ reports: SimulationReport[]; failures: string[] }> {
  const started = performance.now();
  const reports = await runSeedsInProcesses(seeds, days, 2);
  console.log(`${label}\n${formatSummary(reports, performance.now() - started)}`);
  const failures = reports
    .filter((report) => report.violations.length > 0)
    .map(
      (report) =>
        `Simulation seed ${report.seed} violated ${report.violations.length} invariant(s); reproduce with ` +
        `\`pnpm sim --seed ${report.seed} --days ${report.days}\`:\n  ${report.violations.slice(0, 10).join('\n  ')}`,
    );
  return { reports, failures };
}
