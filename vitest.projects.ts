import { defineConfig } from 'vitest/config';

// Used by the root test command (`--config vitest.projects.ts`); not named vitest.config.ts so that
// `pnpm test` inside one package still runs only that package.
// The whole suite in one run with one summary: every workspace package is a project that
// collects its own `src/**/*.test.ts` (vitest's default exclude keeps `dist/` out).
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*'],
  },
});
