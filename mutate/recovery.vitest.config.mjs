/**
 * The tests a recovery mutant runs against (those covering it, per test). Left out: the
 * randomized slices (simulated-crash, kill: minutes each per mutant, and kill runs dist/, which a
 * mutant never reaches) and mutants.test.ts (it breaks the FileIO seam on purpose and passes when
 * a property fails, so a mutant of src cannot make it fail). The long runs of the same properties
 * are `npm run fuzz`.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/ledger/recovery.test.ts',
      'test/ledger/damage.test.ts',
      'test/ledger/projection-lag.test.ts',
      'test/ledger/verifiable-log.test.ts',
      'test/ledger/recovery-core/*.test.ts',
      'test/crash/*.test.ts',
    ],
    exclude: ['test/crash/simulated-crash.test.ts', 'test/crash/kill.test.ts', 'test/crash/mutants.test.ts'],
    // One module graph for the whole set: a mutant run does not re-import every file.
    isolate: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
