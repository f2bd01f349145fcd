import { runSeedsInProcesses } from './run-seeds.js';
import type { SimulationReport } from './simulation.js';
import { formatSummary } from './summary.js';

const DAY = 86_400_000;

/**
 * The long run CI makes in its own step (`.ci/run`: `pnpm sim --seeds 24 --from 201 --days 8.5`),
 * each seed in its own process, two at a time: 24 seeds × 8.5 days, more than 200 simulated days
 * with the quiet periods. Every seed passes today (the open defects seeds once showed are
 * in the README, "Known failures"); the plugin bugs this harness found before (README,
 * "Bugs found") are fixed. Not part of `npm test`: it takes minutes, sized by seeds × days, and
 * has no wall-clock deadline.
 */
export const LONG_RUN = { from: 201, seeds: 24, days: 8.5 } as const;

/**
 * The smoke set `npm test` runs (`ci-seeds.test.ts`), through the same per-process path as the
 * long run, ≈15 s on two idle cores: three seeds that start less than a day before a DST
 * transition, so each crosses it — New York springs forward (7), London falls back (3),
 * Lord Howe falls back by 30 minutes on a slow store (27).
 */
export const SMOKE_DAYS = 1.5;
export const SMOKE_SEEDS: readonly number[] = [3, 7, 27];

/**
 * What a multi-seed run must have exercised for its verdict to mean something, scaled by its
 * size: crashes and pauses, lost responses, the catch-up rules (slots owed), leader changes.
 * The rates are about half of what the seeds show (204 days: 633 crashes, 527 pauses, 753
 * leader terms, 145,388 slots owed). Returns one line per shortfall; empty when all is well.
 */
export function exerciseShortfalls(reports: readonly SimulationReport[]): string[] {
  const total = (pick: (report: SimulationReport) => number) => reports.reduce((sum, r) => sum + pick(r), 0);
  const seeds = reports.length;
  const days = total((r) => r.simulatedMs) / DAY;
  const checks: Array<[string, number, number]> = [
    ['crashes', total((r) => r.faults.crash ?? 0), seeds],
    ['pauses', total((r) => r.faults.pause ?? 0), seeds],
    ['lost store responses', total((r) => r.faults['store lostResponse'] ?? 0), 0],
    ['slots owed by the catch-up rules', total((r) => r.slots.required), Math.floor(490 * days)],
    ['leader terms', total((r) => r.leaderTerms), 2 * seeds],
  ];
  return checks
    .filter(([, actual, above]) => actual <= above)
    .map(
      ([what, actual, above]) =>
        `${what}: ${actual}, expected more than ${above} (${seeds} seeds, ${days.toFixed(1)} days)`,
    );
}

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
