import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // The property tests take a few seconds; leave room on a busy two-core CI machine.
    testTimeout: 30_000,
    benchmark: { include: ['bench/**/*.bench.ts'] },
  },
});
