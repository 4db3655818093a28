/**
 * Mutation scope "recovery": the code that keeps SQLite within JSONL and refuses what healing
 * must not accept (spec §7.3, §8.2, §8.3, §14.1, §14.2). Survivors judged equivalent are listed,
 * with the reason, in recovery.survivors.md.
 */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'mutate/recovery.vitest.config.mjs', related: true },
  coverageAnalysis: 'perTest',
  mutate: ['src/ledger/reconcile.ts', 'src/ledger/tail-replay.ts', 'src/ledger/torn-tail.ts'],
  concurrency: 1,
  timeoutMS: 10_000,
  // The machine is shared: the first, unmutated run of the test set can take minutes.
  dryRunTimeoutMinutes: 30,
  ignorePatterns: ['dist', 'bench', 'reports', 'adr', '.stryker-tmp'],
  tempDirName: '.stryker-tmp',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/recovery.html' },
  jsonReporter: { fileName: 'reports/mutation/recovery.json' },
  thresholds: { high: 90, low: 80, break: null },
};
