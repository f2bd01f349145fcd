import type { SimulationReport } from './simulation.js';

const DAY = 86_400_000;

/** The end-of-run summary: seeds, simulated time, faults injected by kind, invariants checked. */
export function formatSummary(reports: readonly SimulationReport[], wallMs?: number): string {
  const simulatedMs = reports.reduce((sum, report) => sum + report.simulatedMs, 0);
  const wall = wallMs ?? reports.reduce((sum, report) => sum + report.wallMs, 0);
  const faults = sumRecords(reports.map((report) => report.faults));
  const checks = sumRecords(reports.map((report) => report.checks));
  const slots = sumRecords(reports.map((report) => report.slots));
  const failed = reports.filter((report) => report.violations.length > 0);
  const days = simulatedMs / DAY;
  const lines = [
    `Simulation summary: ${reports.length} seed(s), ${failed.length} failed`,
    `  seeds: ${reports.map((report) => report.seed).join(', ')}`,
    `  simulated: ${days.toFixed(1)} days in ${(wall / 1000).toFixed(1)} s wall (${(days / (wall / 1000)).toFixed(2)} simulated days/s), ${reports.reduce((sum, report) => sum + report.steps, 0)} steps, ${reports.reduce((sum, report) => sum + report.leaderTerms, 0)} leader terms`,
    `  fault mixes: ${mixes(reports)}`,
    `  longest time without a leader while one was possible: ${leaderless(reports)}`,
    '  faults injected:',
    ...Object.entries(faults).map(([kind, n]) => `    ${kind.padEnd(24)} ${n}`),
    '  invariants checked:',
    ...Object.entries(checks).map(([name, n]) => `    ${String(n).padStart(9)}  ${name}`),
    '  slots:',
    ...Object.entries(slots).map(([name, n]) => `    ${name.padEnd(24)} ${n}`),
  ];
  for (const report of failed) {
    lines.push(
      `  seed ${report.seed} FAILED (reproduce: pnpm sim --seed ${report.seed} --days ${report.days}):`,
    );
    lines.push(...report.violations.slice(0, 10).map((violation) => `    ${violation}`));
  }
  return lines.join('\n');
}

function mixes(reports: readonly SimulationReport[]): string {
  const seeds = new Map<string, number[]>();
  for (const report of reports) seeds.set(report.mix, [...(seeds.get(report.mix) ?? []), report.seed]);
  return [...seeds].map(([mix, list]) => `${mix} (${list.join(', ')})`).join(', ');
}

function leaderless(reports: readonly SimulationReport[]): string {
  const rows = new Map<string, { maxMs: number; boundMs: number }>();
  for (const { mix, leaderless } of reports) {
    const row = rows.get(mix) ?? { maxMs: 0, boundMs: leaderless.boundMs };
    rows.set(mix, { maxMs: Math.max(row.maxMs, leaderless.maxMs), boundMs: leaderless.boundMs });
  }
  return [...rows]
    .map(
      ([mix, { maxMs, boundMs }]) =>
        `${mix} ${(maxMs / 1000).toFixed(1)} s (bound ${(boundMs / 1000).toFixed(0)} s)`,
    )
    .join(', ');
}

function sumRecords(records: ReadonlyArray<Record<string, number>>): Record<string, number> {
  const total: Record<string, number> = {};
  for (const record of records) {
    for (const [key, value] of Object.entries(record)) total[key] = (total[key] ?? 0) + value;
  }
  return total;
}
