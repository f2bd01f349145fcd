import { configDefaults, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.ts';

// The multi-process chaos run (src/chaos.test.ts) lasts a fixed 150 s of real time and its verdict
// depends on real failover times, so it is not part of `npm test`: CI runs it as its own step,
// `CHAOS=1 pnpm --filter @s3-scheduler/simulation exec vitest run src/chaos.test.ts` (.ci/run).
export default mergeConfig(shared, {
  test: { exclude: [...configDefaults.exclude, ...(process.env.CHAOS === '1' ? [] : ['src/chaos.test.ts'])] },
});
