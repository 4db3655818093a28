/**
 * Open ledger.db for reading even where its folder is read-only (a read-only mount, a copy kept
 * as evidence). SQLite cannot open a WAL-mode database read-only when it may not create the
 * -shm index beside it, and this build of better-sqlite3 takes no `immutable` URI; so the file
 * (with its WAL) is copied to a private temporary folder, switched to a rollback journal there,
 * and opened read-only. Only that case pays for the copy; the folder is never written.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';

const NEEDS_WRITABLE_FOLDER = /^SQLITE_(READONLY|CANTOPEN)/;

function openAndTouch(file: string): Database.Database {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    db.prepare('SELECT count(*) FROM sqlite_master').get(); // a WAL database opens its index here
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

export function openReadOnlyDatabase(file: string): Database.Database {
  try {
    return openAndTouch(file);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string' || !NEEDS_WRITABLE_FOLDER.test(code) || !fs.existsSync(file)) throw e;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sealed-ledger-ro-'));
  try {
    const copy = path.join(tmp, path.basename(file));
    fs.copyFileSync(file, copy);
    fs.chmodSync(copy, 0o600); // the copy keeps the source's (read-only) mode
    if (fs.existsSync(`${file}-wal`)) {
      fs.copyFileSync(`${file}-wal`, `${copy}-wal`);
      fs.chmodSync(`${copy}-wal`, 0o600);
    }
    const w = new Database(copy, { fileMustExist: true });
    try {
      w.pragma('journal_mode = DELETE'); // folds the WAL in: the copy then needs no -shm
    } finally {
      w.close();
    }
    // Removed at once (below): the open connection keeps reading the unlinked file.
    return openAndTouch(copy);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
