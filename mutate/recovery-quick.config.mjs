/**
 * Mutation scope "recovery-quick": the "recovery" mutants against the suites aimed at them (no
 * group-commit, projection-lag or verifiable-log suites), for a run that fits a busy machine.
 * The score that counts is the full scope's (recovery.config.mjs); see recovery.survivors.md.
 */
import recovery from './recovery.config.mjs';

export default {
  ...recovery,
  vitest: { ...recovery.vitest, configFile: 'mutate/recovery-quick.vitest.config.mjs' },
  htmlReporter: { fileName: 'reports/mutation/recovery-quick.html' },
  jsonReporter: { fileName: `reports/mutation/recovery-quick${process.env.MUTATE_REPORT_SUFFIX ?? ''}.json` },
};
