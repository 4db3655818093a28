/** The test set of the "recovery-quick" mutation scope (see recovery-quick.config.mjs). */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/ledger/recovery-core/*.test.ts',
      'test/ledger/recovery.test.ts',
      'test/ledger/damage.test.ts',
      'test/crash/reconcile-crash.test.ts',
      'test/crash/*.bug.test.ts',
    ],
    isolate: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
