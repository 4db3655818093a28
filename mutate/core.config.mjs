// @ts-check
/**
 * Mutation scope "core": the canonical format, strict Ed25519 and proof verification, each
 * mutated against only the suites that test it (a tight selection keeps a run on two cores
 * under half an hour). Survivors and why the remaining ones are equivalent:
 * mutate/core.survivors.md.
 */
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: ['src/format/canonical.ts', 'src/crypto/ed25519.ts', 'src/merkle/verify.ts'],
  testRunner: 'vitest',
  vitest: { configFile: 'mutate/vitest.core.config.ts', related: false },
  coverageAnalysis: 'perTest',
  concurrency: 2,
  timeoutMS: 10_000,
  dryRunTimeoutMinutes: 30,
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: `reports/mutation/${process.env.MUTATE_REPORT ?? 'core'}.json` },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  thresholds: { high: 90, low: 80, break: null },
};
