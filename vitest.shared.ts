import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * What every package's `vitest.config.ts` starts from, so `pnpm --filter <pkg> test`, one file
 * (`pnpm --filter <pkg> exec vitest run src/x.test.ts`) and the root run (`vitest.projects.ts`)
 * behave the same.
 *
 * No test's verdict may depend on how fast the machine is: tests run on `ManualClock` and bound
 * their work in steps or simulated time. The timeouts below are only a safety net against a
 * test that hangs: far above the slowest test measured on a loaded two-core machine (under
 * 90 s), so a slow machine never turns a run red. A test that needs more (the chaos run, which
 * lasts a fixed real time) says so itself.
 */
export const SAFETY_NET_MS = 300_000;

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: SAFETY_NET_MS,
    hookTimeout: SAFETY_NET_MS,
    teardownTimeout: 60_000,
    // A failing test prints every ManualClock's time and the last store operations.
    setupFiles: [fileURLToPath(new URL('./vitest.setup.ts', import.meta.url))],
  },
});
