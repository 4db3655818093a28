// The suites that exercise the "core" mutation scope (mutate/core.config.mjs), and no others.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: [
      'test/format/*.test.ts',
      'test/crypto/ed25519.test.ts',
      'test/crypto/ed25519-properties.test.ts',
      'test/merkle/verify.test.ts',
    ],
    testTimeout: 60_000,
  },
});
