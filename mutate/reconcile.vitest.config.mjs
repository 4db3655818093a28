/** The test set of the "reconcile" mutation scope (see reconcile.config.mjs). */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // No suite that opens a ledger in beforeAll (the tamper probes, projection-columns): Stryker
    // cannot tell which test covers what such a hook runs, so every mutant it reaches ("static")
    // would run the whole set; on two shared cores that was three quarters of the run's time.
    include: [
      'test/ledger/recovery-core/*.test.ts',
      'test/ledger/recovery.test.ts',
      'test/ledger/damage.test.ts',
      'test/ledger/torn-event.test.ts',
      'test/crash/reconcile-crash.test.ts',
      'test/crash/*.bug.test.ts',
    ],
    exclude: ['test/crash/projection-columns.bug.test.ts'],
    isolate: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
