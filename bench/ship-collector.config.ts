import { defineConfig } from 'vitest/config';

// The end-to-end shipping bench (bench/ship-collector.bench.ts): not part of `npm test`.
export default defineConfig({
  test: {
    include: ['bench/ship-collector.bench.ts'],
    testTimeout: 1_800_000,
    hookTimeout: 120_000,
    pool: 'forks',
    globalSetup: ['test/support/pg-global-setup.ts'],
  },
});
