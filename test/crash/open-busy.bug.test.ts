/**
 * Regression test for a finding of the kill suite, fixed in src.
 * Was: Ledger.open fails at once with LEDGER_CORRUPT "ledger.db is not a usable ledger database:
 * database is locked" when another writer holds the write lock on a ledger.db it is creating
 * (after ledger.db was lost or removed, several writers start together). `PRAGMA journal_mode =
 * WAL` on the still empty file reads the header in a read transaction, then needs the write lock
 * to set the WAL version; SQLite returns SQLITE_BUSY without calling the busy handler (waiting
 * while holding a read lock could deadlock), and Projection.open maps any error to
 * LEDGER_CORRUPT. The ledger is not corrupt: the open should retry within lockTimeoutMs (and
 * say LOCK_TIMEOUT if the lock never comes).
 * Found by the kill suite: 1 in ~200-800 scenarios, a writer's open failed so (the cause:
 * SQLITE_BUSY at Projection.open's journal_mode pragma, ~200 ms after start).
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import { cleanupFolders, freshFolder, ledgerWithEvents, onCleanup, removeLedgerDb } from './bug-fixture.js';

afterEach(cleanupFolders);

it('open waits for a writer that is creating ledger.db instead of calling it corrupt', async () => {
  const dir = freshFolder();
  await ledgerWithEvents(dir, 1);
  removeLedgerDb(dir);

  // Another writer got there first: it holds the write lock on the still empty ledger.db.
  const other = new Database(path.join(dir, 'ledger.db'));
  other.exec('BEGIN IMMEDIATE');
  const release = setTimeout(() => {
    other.exec('ROLLBACK');
    other.close();
  }, 200);
  onCleanup(() => {
    clearTimeout(release);
    if (other.open) other.close();
  });

  const reopened = await Ledger.open({ dir, lockTimeoutMs: 5000 });
  expect(reopened.headInfo().seq).toBe(0);
  await reopened.close();
});
