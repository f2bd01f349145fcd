import { defineConfig } from 'vitest/config';

// Used by the root test command (`--config vitest.projects.ts`); not named vitest.config.ts so that
// `pnpm test` inside one package still runs only that package.
// The whole suite in one run with one summary: every workspace package is a project that
// collects its own `src/**/*.test.ts` through its `vitest.config.ts`, which starts from
// `vitest.shared.ts` (the safety-net timeouts and the failure-context setup): projects do not
// inherit this file's `test` options, so they are set there, once, for the root run and for
// `pnpm --filter <pkg> test` alike.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*'],
  },
});
