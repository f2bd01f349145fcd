import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { s3TestEnv } from '@s3-scheduler/storage/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { runChaos } from './chaos/run-chaos.js';

// On CI without S3_ENDPOINT this throws, so the suite fails instead of skipping.
const env = s3TestEnv();
const DURATION_MS = Number(process.env.CHAOS_DURATION_MS ?? 150_000);

describe.runIf(env !== undefined)(
  'four processes on the real S3 server, the leader SIGKILLed every ~20 s',
  () => {
    beforeAll(() => {
      // The processes run the compiled worker: build this package first.
      const root = fileURLToPath(new URL('..', import.meta.url));
      execFileSync(
        fileURLToPath(new URL('../node_modules/.bin/tsc', import.meta.url)),
        ['-p', 'tsconfig.build.json'],
        {
          cwd: root,
          stdio: 'inherit',
        },
      );
    });

    it('leaves no slot missed and none executed twice', { timeout: DURATION_MS + 120_000 }, async () => {
      const result = await runChaos({
        durationMs: DURATION_MS,
        killEveryMs: 20_000,
        processes: 4,
        log: (line) => console.log(`[chaos] ${line}`),
      });
      console.log(`[chaos] result ${JSON.stringify(result, null, 2)}`);
      expect(result.kills).toBeGreaterThanOrEqual(Math.floor(DURATION_MS / 20_000) - 2);
      // Every kill hands leadership to a new term; epochs only grow.
      expect(result.epochs.length).toBeGreaterThan(result.kills);
      expect([...result.epochs].sort((a, b) => a - b)).toEqual(result.epochs);
      for (const [job, outcome] of Object.entries(result.jobs)) {
        expect(outcome.expected, job).toBeGreaterThan(DURATION_MS / 10_000);
        expect(outcome.missed, `${job}: slots without a history record`).toEqual([]);
        expect(outcome.duplicated, `${job}: slots executed more than once`).toEqual([]);
        expect(outcome.statuses.running ?? 0, `${job}: runs left running`).toBe(0);
      }
    });
  },
);
