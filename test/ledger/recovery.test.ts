// spec §14: reconcile-on-open, replay, parity, the mirror functions, and basic crash recovery.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import { replayJsonlIntoSqlite } from '../../src/ledger/replay.js';
import { verifyEventSetParity } from '../../src/audit/parity.js';
import { verifyLedger } from '../../src/audit/verify-ledger.js';
import { mirrorSingleEventIntoSqlite, mirrorSingleEventIntoSqliteInTx } from '../../src/store/mirror.js';
import { sealEvent } from '../../src/format/seal.js';
import { GENESIS_PREV } from '../../src/format/event.js';
import { countingIO, dumpLedgerDb as dump, jsonlLines, ledgerDir, openNew, sqliteRows, withSqlite, type Fixture } from './ledger-helpers.js';

const fixtures: Fixture[] = [];
afterEach(() => fixtures.splice(0).forEach((f) => f.cleanup()));
async function ledgerWith(n: number): Promise<string> {
  const f = ledgerDir();
  fixtures.push(f);
  const ledger = await openNew(f.dir);
  if (n > 0) await ledger.appendBatch(Array.from({ length: n }, (_, i) => ({ kind: 'k', payload: { i } })));
  await ledger.close();
  return f.dir;
}
const jsonlPath = (dir: string) => path.join(dir, 'events.jsonl');

describe('reconcile on open (spec §14.2)', () => {
  it('costs O(drift): reopening a clean ledger reads one line of JSONL', async () => {
    const dir = await ledgerWith(2000);
    const io = countingIO();
    const ledger = await Ledger.open({ dir, io });
    const lastLine = Buffer.byteLength(jsonlLines(dir).at(-1)!) + 1;
    expect(io.bytesRead).toBe(lastLine);
    expect(ledger.lastReconcile.replayed).toBe(0);
    await ledger.close();
  });

  it('replays JSONL lines that SQLite lacks (crash between fsync and commit)', async () => {
    const dir = await ledgerWith(10);
    withSqlite(dir, (db) => {
      // Roll the projection back to seq 6 as a lost commit would: rows and watermark together.
      const row = db.prepare<[], { offset: number; line: string }>('SELECT offset, line FROM events WHERE seq = 6').get()!;
      db.exec('DROP TRIGGER events_deleted');
      db.exec('DELETE FROM events WHERE seq > 6');
      db.prepare('DELETE FROM merkle_nodes').run();
      db.prepare('UPDATE watermark SET seq = 6, hash = ?, offset = ?, line_start = ?').run(JSON.parse(row.line).hash, row.offset + Buffer.byteLength(row.line) + 1, row.offset);
    });
    const parity = await verifyEventSetParity({ dir });
    expect(parity.missingFromSqlite).toEqual([{ from: 7, to: 9 }]);
    expect(parity.inParity).toBe(false);
    // merkle nodes were dropped too: this projection needs a rebuild, which replay gives
    fs.rmSync(path.join(dir, 'ledger.db'));
    fs.rmSync(path.join(dir, 'ledger.db-wal'), { force: true });
    fs.rmSync(path.join(dir, 'ledger.db-shm'), { force: true });
    const ledger = await Ledger.open({ dir });
    expect(ledger.lastReconcile.replayed).toBe(10);
    await ledger.close();
    expect((await verifyEventSetParity({ dir })).inParity).toBe(true);
  });

  it('moves a torn last line aside and truncates it, never keeps half of it', async () => {
    const dir = await ledgerWith(3);
    const full = fs.readFileSync(jsonlPath(dir));
    fs.appendFileSync(jsonlPath(dir), '{"at":"2026-01-01T00:00:00Z","hash":"ab');
    const ledger = await Ledger.open({ dir });
    const torn = ledger.lastReconcile.tornTail!;
    expect(torn.code).toBe('TORN_LINE');
    expect(fs.readFileSync(torn.savedTo, 'utf8')).toBe('{"at":"2026-01-01T00:00:00Z","hash":"ab');
    expect(fs.readFileSync(jsonlPath(dir))).toEqual(full);
    const next = await ledger.append({ kind: 'k', payload: 'after' });
    expect(next.seq).toBe(3);
    await ledger.close();
    expect((await verifyLedger({ dir })).ok).toBe(true);
    // idempotent: a second open finds nothing to do
    const again = await Ledger.open({ dir });
    expect(again.lastReconcile.tornTail).toBeUndefined();
    expect(again.lastReconcile.replayed).toBe(0);
    await again.close();
  });

  it('rows deleted by hand: parity names them, reopen restores them', async () => {
    const dir = await ledgerWith(20);
    withSqlite(dir, (db) => db.exec('DELETE FROM events WHERE seq IN (3, 4, 5, 11)'));
    const parity = await verifyEventSetParity({ dir });
    expect(parity.missingFromSqlite).toEqual([{ from: 3, to: 5 }, { from: 11, to: 11 }]);
    expect(parity.sqliteCount).toBe(16);
    const ledger = await Ledger.open({ dir });
    expect(ledger.lastReconcile.restored).toEqual([3, 4, 5, 11]);
    await ledger.close();
    expect(sqliteRows(dir).map((r) => r.line)).toEqual(jsonlLines(dir));
    expect((await verifyLedger({ dir })).ok).toBe(true);
  });

  it('rows edited by hand: parity names the seq and fields, reopen refuses with the seq', async () => {
    const dir = await ledgerWith(5);
    withSqlite(dir, (db) => {
      const line = db.prepare<[], { line: string }>('SELECT line FROM events WHERE seq = 2').get()!.line;
      db.prepare('UPDATE events SET line = ? WHERE seq = 2').run(line.replace('"i":2', '"i":9'));
    });
    const parity = await verifyEventSetParity({ dir });
    expect(parity.mismatches).toEqual([expect.objectContaining({ seq: 2, fields: ['payload'] })]);
    await expect(Ledger.open({ dir })).rejects.toMatchObject({ code: 'MIRROR_CONFLICT', details: { seqs: [2] } });
    // inspect mode opens anyway, writes nothing, and says what it found
    const size = fs.statSync(jsonlPath(dir)).size;
    const ro = await Ledger.open({ dir, readOnly: true });
    expect(ro.inspection?.tampered).toEqual([{ seq: 2, op: 'update' }]);
    expect(ro.get(3)?.payload).toEqual({ i: 3 });
    await expect(ro.append({ kind: 'k', payload: 1 })).rejects.toMatchObject({ code: 'LEDGER_READ_ONLY' });
    await ro.close();
    expect(fs.statSync(jsonlPath(dir)).size).toBe(size);
  });

  it('inspect mode reports pending lines, a torn tail and SQLITE_AHEAD without healing', async () => {
    const dir = await ledgerWith(4);
    const lines = jsonlLines(dir);
    fs.writeFileSync(jsonlPath(dir), lines.slice(0, 2).join('\n') + '\n');
    const ro = await Ledger.open({ dir, readOnly: true });
    expect(ro.inspection?.problems.join()).toMatch(/SQLITE_AHEAD/);
    await ro.close();
    fs.writeFileSync(jsonlPath(dir), lines.join('\n') + '\n{"torn');
    withSqlite(dir, (db) => db.exec('DELETE FROM events WHERE seq = 1'));
    const ro2 = await Ledger.open({ dir, readOnly: true });
    expect(ro2.inspection).toMatchObject({ pendingLines: 0, tornTail: { code: 'TORN_LINE' }, tampered: [{ seq: 1, op: 'delete' }], problems: [] });
    await ro2.close();
    expect(fs.readFileSync(jsonlPath(dir), 'utf8').endsWith('{"torn')).toBe(true);
  });

  it('SQLite rows that JSONL lacks are refused loudly (SQLITE_AHEAD)', async () => {
    const dir = await ledgerWith(5);
    const lines = jsonlLines(dir);
    fs.writeFileSync(jsonlPath(dir), lines.slice(0, 3).join('\n') + '\n');
    const parity = await verifyEventSetParity({ dir });
    expect(parity.missingFromJsonl).toEqual([{ from: 3, to: 4 }]);
    await expect(Ledger.open({ dir })).rejects.toMatchObject({ code: 'SQLITE_AHEAD' });
  });

  it('a changed line under the watermark is refused (LEDGER_CORRUPT)', async () => {
    const dir = await ledgerWith(3);
    const text = fs.readFileSync(jsonlPath(dir), 'utf8').replace('"i":2', '"i":7');
    fs.writeFileSync(jsonlPath(dir), text);
    await expect(Ledger.open({ dir })).rejects.toMatchObject({ code: 'LEDGER_CORRUPT' });
  });
});

describe('replay (spec §14.3)', () => {
  it('rebuilds an identical projection from JSONL alone', async () => {
    const dir = await ledgerWith(500);
    const before = dump(path.join(dir, 'ledger.db'));
    for (const f of ['ledger.db', 'ledger.db-wal', 'ledger.db-shm']) fs.rmSync(path.join(dir, f), { force: true });
    const report = await replayJsonlIntoSqlite({ dir }, { commitEvery: 64 });
    expect(report).toMatchObject({ scanned: 500, inserted: 500, alreadyPresent: 0, fromSeq: -1, toSeq: 499, errors: [] });
    expect(dump(path.join(dir, 'ledger.db'))).toEqual(before);
    // from the watermark: nothing to do
    expect(await replayJsonlIntoSqlite({ dir })).toMatchObject({ scanned: 0, inserted: 0 });
  });

  it('reports a torn tail without touching events.jsonl', async () => {
    const dir = await ledgerWith(2);
    fs.appendFileSync(jsonlPath(dir), '{"partial');
    const size = fs.statSync(jsonlPath(dir)).size;
    const report = await replayJsonlIntoSqlite({ dir });
    expect(report.tornTail).toMatchObject({ code: 'TORN_LINE' });
    expect(fs.statSync(jsonlPath(dir)).size).toBe(size);
  });
});

describe('mirror functions (spec §14.5)', () => {
  it('inserted / already-present / conflict, and the in-tx variant refuses outside a transaction', async () => {
    const dir = await ledgerWith(0);
    const e0 = sealEvent({ kind: 'k', payload: 0, id: 'a' }, { seq: 0, prev: GENESIS_PREV });
    const e1 = sealEvent({ kind: 'k', payload: 1, id: 'b' }, { seq: 1, prev: e0.hash });
    const e0other = sealEvent({ kind: 'k', payload: 9, id: 'a' }, { seq: 0, prev: GENESIS_PREV });
    const gap = sealEvent({ kind: 'k', payload: 3, id: 'c' }, { seq: 5, prev: e1.hash });
    const badChain = sealEvent({ kind: 'k', payload: 1, id: 'd' }, { seq: 1, prev: 'f'.repeat(64) });
    // keep JSONL in step, as the precondition requires
    const { canonicalize } = await import('../../src/format/canonical.js');
    fs.appendFileSync(jsonlPath(dir), canonicalize(e0) + '\n' + canonicalize(e1) + '\n');
    withSqlite(dir, (db) => {
      expect(() => mirrorSingleEventIntoSqliteInTx(db, e0)).toThrow(expect.objectContaining({ code: 'NOT_IN_TRANSACTION' }));
      expect(mirrorSingleEventIntoSqlite(db, e0)).toMatchObject({ status: 'inserted', seq: 0 });
      expect(mirrorSingleEventIntoSqlite(db, e0)).toEqual({ status: 'already-present', seq: 0 });
      expect(mirrorSingleEventIntoSqlite(db, e0other)).toMatchObject({ status: 'conflict', reason: 'content' });
      expect(mirrorSingleEventIntoSqlite(db, gap)).toMatchObject({ status: 'conflict', reason: 'gap' });
      expect(mirrorSingleEventIntoSqlite(db, badChain)).toMatchObject({ status: 'conflict', reason: 'chain' });
      expect(() => mirrorSingleEventIntoSqlite(db, { ...e1, payload: 2 })).toThrow(expect.objectContaining({ code: 'SEAL_MISMATCH' }));
      db.exec('BEGIN');
      expect(mirrorSingleEventIntoSqliteInTx(db, e1)).toMatchObject({ status: 'inserted', seq: 1 });
      db.exec('COMMIT');
    });
    expect((await verifyLedger({ dir })).ok).toBe(true);
  });
});
