import { defineConfig } from 'vitest/config';
import LongFirstSequencer from './test/support/long-first-sequencer.js';

// Files whose assertions bound a wall-clock time or a latency (a deadline, "answers within N ms",
// a latency against a batch's duration). They run by themselves after the rest, so that another
// test file on the second core cannot make them late.
const TIMED = [
  'test/collector/ingest-errors.test.ts',
  'test/collector/sqlite-processes.test.ts',
  'test/collector/sqlite-thread.test.ts',
  'test/collector/sqlite-wakeups.test.ts',
  'test/feed/follow.test.ts',
  'test/ledger/bounded-verify.test.ts',
  'test/ledger/projection-worker.test.ts',
  'test/ship/shipper-faults.test.ts',
  'test/ship/shipper-status.test.ts',
  'test/ship/sidecar-cli.test.ts',
];

// One throwaway PostgreSQL cluster per project for the collector tests (test/support/postgres.ts);
// set in the projects only, as a root-level global setup also runs for the root project.
const PG = ['test/support/pg-global-setup.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    sequence: { sequencer: LongFirstSequencer },
    projects: [
      {
        extends: true,
        // vitest's default is one worker fewer than the cores (one on a 2-core CI machine); the
        // files are independent (each its own folders, databases and ports), so use both.
        test: { name: 'parallel', globalSetup: PG, include: ['test/**/*.test.ts'], exclude: TIMED, maxWorkers: 2, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'timed', globalSetup: PG, include: TIMED, maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
