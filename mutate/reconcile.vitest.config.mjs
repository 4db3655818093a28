/** The test set of the "reconcile" mutation scope (see reconcile.config.mjs). */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/ledger/recovery-core/*.test.ts',
      'test/ledger/recovery.test.ts',
      'test/ledger/damage.test.ts',
      'test/ledger/torn-event.test.ts',
      'test/crash/reconcile-crash.test.ts',
      'test/crash/*.bug.test.ts',
      'test/fuzz/tamper.test.ts',
    ],
    isolate: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
