/**
 * One attempt at SQLite's write lock (spec §13.2): the writer lock of lock.db and of ledger.db
 * are both taken this way, and only SQLITE_BUSY means "someone else holds it"; any other error
 * (I/O, a damaged file) is the caller's to report.
 */
import type Database from 'better-sqlite3';

export function tryBeginImmediate(db: Database.Database): boolean {
  try {
    db.exec('BEGIN IMMEDIATE');
    return true;
  } catch (e) {
    if ((e as { code?: string }).code === 'SQLITE_BUSY') return false;
    throw e;
  }
}
