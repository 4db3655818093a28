/**
 * lock.db: the folder's writer lock since format v2 (spec §13.9, ADR 0030). A writer of this
 * version takes `BEGIN IMMEDIATE` on it before ledger.db's write lock and before it reads the end
 * of events.jsonl, and releases it only when every line written under it is committed in
 * ledger.db. With the projection on a worker thread, ledger.db's lock is released at each of the
 * worker's commits while the appending thread keeps writing; lock.db is what stays exclusive.
 *
 * The file holds no data: only SQLite's RESERVED lock on it matters, so it stays a rollback-
 * journal database (no -wal or -shm file beside it) whose only write is its first page, once.
 */
import Database from 'better-sqlite3';
import { asIoError } from '../store/os-error.js';
import { tryBeginImmediate } from '../store/begin-immediate.js';

export const LOCK_FILE = 'lock.db';

export class WriterLockFile {
  private constructor(private readonly db: Database.Database) {}

  static open(path: string): WriterLockFile {
    try {
      const db = new Database(path);
      db.pragma('busy_timeout = 0');
      initialize(db);
      return new WriterLockFile(db);
    } catch (e) {
      throw asIoError(e, path);
    }
  }

  get held(): boolean {
    return this.db.open && this.db.inTransaction;
  }

  /** Take the lock unless another connection holds it; true when this one holds it now. */
  tryAcquire(): boolean {
    if (this.held) return true;
    return tryBeginImmediate(this.db);
  }

  /**
   * ROLLBACK, not COMMIT: nothing was written, and a COMMIT on a database without pages may ask
   * for the EXCLUSIVE lock (to write its header), which a writer polling for the lock denies.
   */
  release(): void {
    if (this.held) this.db.exec('ROLLBACK');
  }

  /** As on process death: the lock goes with the connection. */
  close(): void {
    if (this.db.open) this.db.close();
  }
}

/**
 * Give an empty lock.db its first page. In an empty database every BEGIN IMMEDIATE makes page 1
 * in a new lock.db-journal, which the ROLLBACK reads back and deletes: ~25 system calls per
 * acquire (open, fchown, writes, reads, unlink), once per commit window of every writer. Once
 * the page exists, BEGIN IMMEDIATE only locks. Writing it needs the EXCLUSIVE lock: when another
 * connection holds or polls the lock right now, the page is left for a later open.
 */
function initialize(db: Database.Database): void {
  if (db.pragma('page_count', { simple: true }) !== 0) return;
  try {
    db.pragma('user_version = 1');
  } catch (e) {
    if ((e as { code?: string }).code !== 'SQLITE_BUSY') throw e;
  }
}
