/**
 * Regression test for a finding of the crash and tamper suites, fixed in src.
 * Was: Ledger.close() (and replayJsonlIntoSqlite) leave the SQLite connection open. Projection
 * closes through kysely's destroy(), which closes the database only if kysely ever ran a query;
 * the ledger uses prepared statements, so it never does. The connection (ledger.db, -wal, -shm
 * fds) lives until garbage collection: the WAL is not checkpointed on close, and a "closed"
 * ledger still holds its files. The fix: Projection.close() calls db.close() itself.
 * Found while building the tamper suite (a copied ledger.db lacked the rows left in the WAL).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { replayJsonlIntoSqlite } from '../../src/ledger/replay.js';
import { cleanupFolders, freshFolder, ledgerWithEvents } from './bug-fixture.js';

afterEach(cleanupFolders);

function openFilesUnder(dir: string): string[] {
  return fs.readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${fd}`);
      return target.startsWith(dir + path.sep) ? [path.basename(target)] : [];
    } catch {
      return [];
    }
  });
}

it.runIf(fs.existsSync('/proc/self/fd'))('close() releases every file of the folder', async () => {
  const dir = freshFolder();
  await ledgerWithEvents(dir, 1);
  expect(openFilesUnder(dir)).toEqual([]);
  await replayJsonlIntoSqlite({ dir });
  expect(openFilesUnder(dir)).toEqual([]);
});
