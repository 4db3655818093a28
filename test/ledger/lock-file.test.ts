// lock.db (spec §13.9): only SQLite's lock on it matters. An empty lock.db made every acquire
// write page 1 into a new lock.db-journal that the release read back and deleted (~25 system
// calls per lock cycle, once per commit window of every writer); open gives it its first page.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import { LOCK_FILE, WriterLockFile } from '../../src/ledger/lock-file.js';
import { tempDir } from '../helpers.js';

const pageCount = (file: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return db.pragma('page_count', { simple: true });
  } finally {
    db.close();
  }
};

describe('lock.db', () => {
  it('has its first page once a writer opened the folder, so holding the lock leaves no journal', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const ledger = await Ledger.open({ dir, create: true, projectionLagMs: 60_000 });
      await ledger.append({ kind: 'k', payload: 1 }); // lock.db is held until the window ends or the writer idles
      expect(fs.existsSync(path.join(dir, `${LOCK_FILE}-journal`))).toBe(false);
      await ledger.close();
      expect(pageCount(path.join(dir, LOCK_FILE))).toBe(1);
      const lock = WriterLockFile.open(path.join(dir, LOCK_FILE));
      try {
        for (let i = 0; i < 3; i++) {
          expect(lock.tryAcquire()).toBe(true);
          expect(fs.existsSync(path.join(dir, `${LOCK_FILE}-journal`))).toBe(false);
          lock.release();
        }
      } finally {
        lock.close();
      }
    } finally {
      cleanup();
    }
  });

  it('opened while another connection holds the lock, it leaves the page for a later open and still locks', () => {
    const { dir, cleanup } = tempDir();
    const file = path.join(dir, LOCK_FILE);
    try {
      const other = new Database(file);
      other.pragma('busy_timeout = 0');
      other.exec('BEGIN IMMEDIATE');
      const lock = WriterLockFile.open(file);
      try {
        expect(lock.tryAcquire()).toBe(false);
        other.exec('ROLLBACK');
        other.close();
        expect(pageCount(file)).toBe(0);
        expect(lock.tryAcquire()).toBe(true);
        lock.release();
      } finally {
        lock.close();
      }
      // A connection in a read transaction (SHARED) lets the write begin but not commit: the
      // write is dropped and no transaction is left open that would pass for the lock.
      const reader = new Database(file);
      reader.exec('BEGIN');
      reader.pragma('user_version');
      const second = WriterLockFile.open(file);
      try {
        expect(second.held).toBe(false);
        reader.exec('ROLLBACK');
        reader.close();
        expect(pageCount(file)).toBe(0);
        expect(second.tryAcquire()).toBe(true);
        second.release();
      } finally {
        second.close();
      }
      WriterLockFile.open(file).close();
      expect(pageCount(file)).toBe(1);
    } finally {
      cleanup();
    }
  });
});
