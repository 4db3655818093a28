/**
 * Regression test for a finding of the crash and tamper suites, fixed in src.
 * Was: two writers opening a ledger folder that has no ledger.db at the same moment (after
 * ledger.db was lost or removed for a rebuild) both create it and run the schema migration; one
 * fails with LEDGER_CORRUPT "schema migration ... failed" (cause: table "events" already exists).
 * The migration runs before the writer lock is taken. The fix: take the lock (BEGIN IMMEDIATE) around
 * the migration, or treat "already exists" as done and re-check.
 * Found by the kill suite (writers started together after damage 'no-db').
 */
import { afterEach, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import { cleanupFolders, freshFolder, ledgerWithEvents, removeLedgerDb } from './bug-fixture.js';

afterEach(cleanupFolders);

it('two concurrent opens of a folder without ledger.db both succeed', async () => {
  const dir = freshFolder();
  await ledgerWithEvents(dir, 1);
  removeLedgerDb(dir);

  const opened = await Promise.allSettled([Ledger.open({ dir }), Ledger.open({ dir })]);
  for (const o of opened) if (o.status === 'fulfilled') await o.value.close();
  expect(opened.map((o) => (o.status === 'fulfilled' ? 'ok' : `${(o.reason as { code?: string }).code}: ${(o.reason as Error).cause}`))).toEqual(['ok', 'ok']);
});
