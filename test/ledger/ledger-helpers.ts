import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Ledger, type LedgerOptions } from '../../src/ledger/ledger.js';
import { NODE_FILE_IO, type FileIO } from '../../src/store/file-io.js';
import { tempDir } from '../helpers.js';

export interface Fixture {
  dir: string;
  cleanup(): void;
}

/** A new ledger folder path, removed by `cleanupAll` (call it in afterEach). */
const pending: Fixture[] = [];
export function fresh(): string {
  const f = ledgerDir();
  pending.push(f);
  return f.dir;
}
export function cleanupAll(): void {
  pending.splice(0).forEach((f) => f.cleanup());
}

export function ledgerDir(): Fixture {
  const t = tempDir();
  return { dir: path.join(t.dir, 'ledger'), cleanup: t.cleanup };
}

export async function openNew(dir: string, extra: Partial<LedgerOptions> = {}): Promise<Ledger> {
  return Ledger.open({ dir, create: true, ...extra });
}

export function jsonlLines(dir: string): string[] {
  const text = fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8');
  return text.split('\n').slice(0, -1);
}

/** Raw rows, read with a separate connection. */
export function sqliteRows(dir: string): { seq: number; line: string }[] {
  const db = new Database(path.join(dir, 'ledger.db'), { readonly: true });
  try {
    return db.prepare<[], { seq: number; line: string }>('SELECT seq, line FROM events ORDER BY seq').all();
  } finally {
    db.close();
  }
}

export function withSqlite<T>(dir: string, f: (db: Database.Database) => T): T {
  const db = new Database(path.join(dir, 'ledger.db'));
  try {
    return f(db);
  } finally {
    db.close();
  }
}

/** A FileIO that counts calls and bytes read, for group-commit and O(drift) assertions. */
export function countingIO(): FileIO & { syncs: number; writes: number; bytesRead: number } {
  const io = {
    ...NODE_FILE_IO,
    syncs: 0,
    writes: 0,
    bytesRead: 0,
    sync(fd: number) {
      io.syncs++;
      NODE_FILE_IO.sync(fd);
    },
    write(fd: number, data: Uint8Array, position: number) {
      io.writes++;
      NODE_FILE_IO.write(fd, data, position);
    },
    read(fd: number, into: Uint8Array, position: number) {
      const n = NODE_FILE_IO.read(fd, into, position);
      io.bytesRead += n;
      return n;
    },
  };
  return io;
}

/** Everything a replay writes into ledger.db, the schema included. */
export function dumpLedgerDb(file: string) {
  const db = new Database(file, { readonly: true });
  try {
    return {
      events: db.prepare('SELECT * FROM events ORDER BY seq').all(),
      nodes: db.prepare('SELECT level, idx, hex(hash) AS h FROM merkle_nodes ORDER BY level, idx').all(),
      watermark: db.prepare('SELECT * FROM watermark').all(),
      checkpoints: db.prepare('SELECT * FROM checkpoints ORDER BY size').all(),
      tamper: db.prepare('SELECT seq, op FROM projection_tamper').all(),
      schema: db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'kysely%' ORDER BY type, name").all(),
    };
  } finally {
    db.close();
  }
}

/**
 * Awaited appends back to back (the group committer never idles) until another connection sees
 * a row of them, or 10 s pass: only a commit window can make rows visible meanwhile (spec §13.7).
 */
export async function appendUntilRowsSeen(ledger: Ledger, dir: string): Promise<{ appended: number; seen: number }> {
  const started = Date.now();
  let appended = 0;
  let seen = 0;
  while (seen === 0 && Date.now() - started < 10_000) {
    await ledger.append({ kind: 'k', payload: appended++ });
    if (appended % 16 === 0) seen = sqliteRows(dir).length;
  }
  return { appended, seen };
}
