/**
 * Mutation scope "reconcile": src/ledger/reconcile.ts alone, against the suites that reach it
 * (the recovery core, recovery, damage and torn-event suites, crashes during reconcile and the crash regressions). Incremental: a re-run tests only mutants whose code or covering
 * tests changed (reports/mutation/reconcile.incremental.json). Survivors: recovery.survivors.md.
 */
import recovery from './recovery.config.mjs';

export default {
  ...recovery,
  mutate: ['src/ledger/reconcile.ts'],
  vitest: { ...recovery.vitest, configFile: 'mutate/reconcile.vitest.config.mjs' },
  incremental: true,
  incrementalFile: 'reports/mutation/reconcile.incremental.json',
  htmlReporter: { fileName: 'reports/mutation/reconcile.html' },
  jsonReporter: { fileName: `reports/mutation/reconcile${process.env.MUTATE_REPORT_SUFFIX ?? ''}.json` },
};
