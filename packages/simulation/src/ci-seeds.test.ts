import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { CI_DAYS, CI_SEEDS, runSeeds } from './ci-seeds.js';

describe('simulated cluster, CI seeds', () => {
  beforeAll(() => {
    // Every seed runs in its own process on the compiled CLI: build this package first.
    execFileSync(
      fileURLToPath(new URL('../node_modules/.bin/tsc', import.meta.url)),
      ['-p', 'tsconfig.build.json'],
      {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        stdio: 'inherit',
      },
    );
  }, 120_000);

  it(`keeps every invariant over ${CI_SEEDS.length * CI_DAYS} simulated days`, {
    timeout: 900_000,
  }, async () => {
    const { reports, failures } = await runSeeds('CI seeds', CI_SEEDS, CI_DAYS);
    expect(failures, failures.join('\n\n')).toEqual([]);
    const days = reports.reduce((sum, report) => sum + report.simulatedMs, 0) / 86_400_000;
    expect(days).toBeGreaterThanOrEqual(200);
    // The faults really happened, and the invariants really were exercised.
    const total = (pick: (report: (typeof reports)[number]) => number) =>
      reports.reduce((sum, r) => sum + pick(r), 0);
    expect(total((r) => r.faults.crash!)).toBeGreaterThan(CI_SEEDS.length);
    expect(total((r) => r.faults.pause!)).toBeGreaterThan(CI_SEEDS.length);
    expect(total((r) => r.faults['store lostResponse']!)).toBeGreaterThan(0);
    expect(total((r) => r.slots.required)).toBeGreaterThan(100_000);
    expect(total((r) => r.leaderTerms)).toBeGreaterThan(CI_SEEDS.length * 2);
  });
});
