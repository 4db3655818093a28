// spec §13.7: projection lag — flushes share a held transaction; acknowledgement at the JSONL fsync.
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { codeOfAsync as codeOf } from '../helpers.js';
import { LedgerStateError } from '../../src/errors.js';
import { writerOf } from '../../src/ledger/ledger.js';
import { verifyLedger } from '../../src/audit/verify-ledger.js';
import { rootFromLeaves } from '../../src/merkle/root.js';
import { appendUntilRowsSeen, cleanupAll, fresh, jsonlLines, openNew, sqliteRows } from './ledger-helpers.js';

afterEach(cleanupAll);

describe('projection lag (spec §13.7)', () => {
  it('projectionLagMs 0: every acknowledged event is committed for other connections', async () => {
    const dir = fresh();
    const ledger = await openNew(dir, { projectionLagMs: 0 });
    for (let i = 0; i < 5; i++) {
      const ev = await ledger.append({ kind: 'k', payload: i });
      expect(sqliteRows(dir).at(-1)).toEqual({ seq: ev.seq, line: jsonlLines(dir)[i] });
    }
    await ledger.close();
  });

  it('held: back-to-back appends share a commit; an idle writer commits on the next turn', async () => {
    const dir = fresh();
    const ledger = await openNew(dir, { projectionLagMs: 60_000 });
    for (let i = 0; i < 20; i++) await ledger.append({ kind: 'k', payload: i });
    // Still held: another connection sees the committed state only.
    expect(sqliteRows(dir).length).toBeLessThan(20);
    // Idle now: the held transaction commits once the event loop turns, whatever the window.
    for (let turns = 0; sqliteRows(dir).length < 20 && turns < 100; turns++) await new Promise((r) => setTimeout(r, 5));
    expect(sqliteRows(dir).map((r) => r.line)).toEqual(jsonlLines(dir));
    await ledger.close();
  });

  it('default lag: a writer that never goes idle still commits once the window has passed', async () => {
    const dir = fresh();
    const ledger = await openNew(dir);
    // Awaited appends back to back never leave the group committer idle, so only the window
    // (5 ms by default) can make rows visible to another connection while the loop runs.
    const { seen } = await appendUntilRowsSeen(ledger, dir);
    expect(seen).toBeGreaterThan(0);
    await ledger.close();
  });

  it('rejects a bad projectionLagMs before touching the folder', async () => {
    const dir = fresh();
    for (const bad of [-1, Number.NaN, Infinity, '5' as unknown as number]) {
      expect(await codeOf(openNew(dir, { projectionLagMs: bad }))).toBe('INVALID_ARGUMENT');
    }
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('a failed held commit is reported, never swallowed: flush() rejects, writes stop, reopen replays the rows', async () => {
    const dir = fresh();
    const ledger = await openNew(dir, { projectionLagMs: 60_000 });
    for (let i = 0; i < 3; i++) await ledger.append({ kind: 'k', payload: i });
    const diskFull = new Error('disk I/O error');
    writerOf(ledger).files.projection.commit = () => {
      throw diskFull;
    };
    await expect(ledger.flush()).rejects.toBe(diskFull);
    expect(await codeOf(ledger.append({ kind: 'k', payload: 'next' }))).toBe('IO_ERROR');
    expect(sqliteRows(dir)).toEqual([]);
    expect(jsonlLines(dir)).toHaveLength(3);
    await ledger.close();
    const reopened = await openNew(dir);
    expect(reopened.lastReconcile.replayed).toBe(3);
    expect(sqliteRows(dir).map((r) => r.line)).toEqual(jsonlLines(dir));
    await reopened.close();
  });

  it('a commit that fails with a typed error after the mirror unwinds head and tree: the next append extends the right tree', async () => {
    const dir = fresh();
    const ledger = await openNew(dir, { projectionLagMs: 0 });
    for (let i = 0; i < 3; i++) await ledger.append({ kind: 'k', payload: i });
    const projection = writerOf(ledger).files.projection;
    const commit = projection.commit.bind(projection);
    projection.commit = () => {
      throw new LedgerStateError('IO_ERROR', 'commit refused');
    };
    // A typed error does not poison the ledger: the lines are truncated and the writer goes on.
    expect(await codeOf(ledger.append({ kind: 'k', payload: 'lost' }))).toBe('IO_ERROR');
    projection.commit = commit;
    expect(jsonlLines(dir)).toHaveLength(3);
    for (let i = 3; i < 6; i++) await ledger.append({ kind: 'k', payload: i });
    const leaves = [...ledger.events()].map((e) => Buffer.from(e.hash, 'hex'));
    expect(leaves).toHaveLength(6);
    expect(ledger.rootHash()).toBe(rootFromLeaves(leaves).toString('hex'));
    await ledger.close();
    const report = await verifyLedger({ dir }, { workers: 0 });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('a failed commit when the writer goes idle poisons the ledger with its cause', async () => {
    const dir = fresh();
    const ledger = await openNew(dir, { projectionLagMs: 60_000 });
    await ledger.append({ kind: 'k', payload: 0 });
    const commit = writerOf(ledger).files.projection.commit.bind(writerOf(ledger).files.projection);
    const broken = new Error('disk I/O error');
    writerOf(ledger).files.projection.commit = () => {
      throw broken;
    };
    await new Promise((r) => setTimeout(r, 20)); // idle: the held transaction tries to commit
    const e = await ledger.append({ kind: 'k', payload: 1 }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'IO_ERROR', cause: broken });
    writerOf(ledger).files.projection.commit = commit;
    await ledger.close();
    const reopened = await openNew(dir);
    expect(sqliteRows(dir).map((r) => r.line)).toEqual(jsonlLines(dir));
    expect(jsonlLines(dir)).toHaveLength(1);
    await reopened.close();
  });
});
