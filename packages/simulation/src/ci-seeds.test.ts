import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { exerciseShortfalls, LONG_RUN, runSeeds, SMOKE_DAYS, SMOKE_SEEDS } from './ci-seeds.js';

// The smoke set of `npm test`. The long run (LONG_RUN: 24 seeds × 8.5 days) is its own CI step,
// `pnpm sim --seeds 24 --from 201 --days 8.5` in `.ci/run`, with the same checks.
describe('simulated cluster, smoke seeds', () => {
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
  });

  it(`keeps every invariant over ${SMOKE_SEEDS.length} seeds × ${SMOKE_DAYS} simulated days`, async () => {
    const { reports, failures } = await runSeeds('Smoke seeds', SMOKE_SEEDS, SMOKE_DAYS);
    expect(failures, failures.join('\n\n')).toEqual([]);
    const days = reports.reduce((sum, report) => sum + report.simulatedMs, 0) / 86_400_000;
    expect(days).toBeGreaterThanOrEqual(SMOKE_SEEDS.length * SMOKE_DAYS);
    // The faults really happened, and the invariants really were exercised.
    expect(exerciseShortfalls(reports)).toEqual([]);
  });

  it('CI runs the long run: more than 200 simulated days', () => {
    const ci = readFileSync(fileURLToPath(new URL('../../../.ci/run', import.meta.url)), 'utf8');
    const step = /pnpm sim --seeds (\d+) --from (\d+) --days ([\d.]+)/.exec(ci);
    expect(step, '.ci/run has no `pnpm sim` step').not.toBeNull();
    expect({ seeds: Number(step![1]), from: Number(step![2]), days: Number(step![3]) }).toEqual(LONG_RUN);
    expect(LONG_RUN.seeds * LONG_RUN.days).toBeGreaterThanOrEqual(200);
    // …with the same checks that the faults really happened as the smoke test above.
    expect(ci).toMatch(/pnpm sim --seeds \d+ --from \d+ --days [\d.]+ .*--check-exercised/);
  });
});
