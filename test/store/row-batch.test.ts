// ADR 0040: a bulk load's rows, 64 per statement. A group that SQLite refuses for a key it holds
// goes again row by row so that the rows before the refused one are in and the refusal names its
// row; anything else is thrown as it is and never retried (SQLite may have ended the transaction,
// and any other constraint is a defect of ours, not a conflict).
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { Projection } from '../../src/store/projection.js';
import { RowBatch, RowRefusedError, ROWS_PER_STATEMENT } from '../../src/store/row-batch.js';
import type { EventsTable } from '../../src/store/schema.js';
import { tempDir } from '../helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

async function freshDb(): Promise<Database.Database> {
  const t = tempDir('sl-row-batch-');
  cleanups.push(t.cleanup);
  const file = path.join(t.dir, 'ledger.db');
  await (await Projection.open(file, { create: true })).close();
  const db = new Database(file);
  cleanups.push(() => db.close());
  return db;
}

const row = (seq: number, id = `ev-${seq}`): EventsTable => ({
  seq, id, at: '2026-01-01T00:00:00Z', kind: 'k', actor: seq % 2 ? 'a' : null, hash: 'ab'.repeat(32), kid: null, line: `{"seq":${seq}}`, offset: seq * 100,
});
const seqs = (db: Database.Database) => db.prepare<[], { seq: number }>('SELECT seq FROM events ORDER BY seq').all().map((r) => r.seq);

describe('RowBatch', () => {
  it('inserts full groups on add and the rest on flush, every column as given', async () => {
    const db = await freshDb();
    const batch = new RowBatch(db);
    db.exec('BEGIN');
    const n = ROWS_PER_STATEMENT * 2 + 5;
    for (let i = 0; i < n; i++) batch.add(row(i));
    expect(batch.pending).toBe(5);
    expect(seqs(db)).toHaveLength(ROWS_PER_STATEMENT * 2);
    batch.flush();
    db.exec('COMMIT');
    expect(seqs(db)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(db.prepare('SELECT seq, id, at, kind, actor, hash, kid, line, offset FROM events WHERE seq = 77').get()).toEqual(row(77));
  });

  it('a repeated id in a full group: the rows before it are inserted, none after, and the refusal names it', async () => {
    const db = await freshDb();
    const batch = new RowBatch(db);
    db.exec('BEGIN');
    for (let i = 0; i < 10; i++) batch.add(row(i));
    batch.flush();
    let refused: unknown;
    try {
      for (let i = 10; i < 10 + ROWS_PER_STATEMENT; i++) batch.add(row(i, i === 40 ? 'ev-3' : `ev-${i}`));
    } catch (e) {
      refused = e;
    }
    expect(refused).toBeInstanceOf(RowRefusedError);
    expect((refused as RowRefusedError).row.seq).toBe(40);
    expect((refused as RowRefusedError & { cause: { code: string } }).cause.code).toBe('SQLITE_CONSTRAINT_UNIQUE');
    expect(batch.pending).toBe(0);
    expect(db.inTransaction).toBe(true);
    expect(seqs(db)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it('a refused row in a partial group (flush) is reported the same way', async () => {
    const db = await freshDb();
    const batch = new RowBatch(db);
    db.exec('BEGIN');
    for (let i = 0; i < 6; i++) batch.add(row(i === 4 ? 2 : i));
    expect(() => batch.flush()).toThrow(RowRefusedError);
    expect(seqs(db)).toEqual([0, 1, 2, 3]);
  });

  it('refuses to insert outside a transaction, and does not retry an error that is not a refused row', async () => {
    const db = await freshDb();
    const batch = new RowBatch(db);
    batch.add(row(0));
    expect(() => batch.flush()).toThrow(/inside a transaction/);
    db.exec('BEGIN');
    // A type the driver cannot bind: thrown as it is, before any row of the group is inserted.
    for (let i = 0; i < ROWS_PER_STATEMENT; i++) {
      const r = row(i);
      try {
        batch.add(i === 30 ? ({ ...r, line: Symbol('x') } as unknown as EventsTable) : r);
      } catch (e) {
        expect(e).not.toBeInstanceOf(RowRefusedError);
        expect(String(e)).toMatch(/bind|SQLite3 can only/i);
      }
    }
    expect(seqs(db)).toEqual([]);
    expect(batch.pending).toBe(0);
  });

  it('a constraint other than a held key (NOT NULL) is thrown as SQLite threw it, not retried row by row', async () => {
    const db = await freshDb();
    const batch = new RowBatch(db);
    db.exec('BEGIN');
    let thrown: unknown;
    try {
      for (let i = 0; i < ROWS_PER_STATEMENT; i++) batch.add(i === 30 ? { ...row(i), line: null as unknown as string } : row(i));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).not.toBeInstanceOf(RowRefusedError);
    expect((thrown as { code?: string }).code).toBe('SQLITE_CONSTRAINT_NOTNULL');
    // Retried row by row, rows 0..29 would be in.
    expect(seqs(db)).toEqual([]);
    expect(batch.pending).toBe(0);
  });
});
