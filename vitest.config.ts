import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One throwaway PostgreSQL cluster per run for the collector tests (test/support/postgres.ts).
    globalSetup: ['test/support/pg-global-setup.ts'],
  },
});
