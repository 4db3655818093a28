// The suites that exercise the "core" mutation scope (mutate/core.config.mjs), and no others.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    // MUTATE_TESTS (comma-separated globs) narrows the suites for a run over one file.
    include: process.env.MUTATE_TESTS?.split(',') ?? [
      'test/format/*.test.ts',
      'test/crypto/ed25519.test.ts',
      'test/crypto/ed25519-properties.test.ts',
      'test/crypto/ed25519-key-objects.test.ts',
      'test/merkle/verify.test.ts',
    ],
    testTimeout: 600_000, // instrumented code on a shared machine is several times slower
  },
});
