/**
 * A writer notices that the ledger.db or events.jsonl it holds is no longer the file at that path
 * and refuses to write (spec §13.2). Was: writer A appending, `rm ledger.db*`, writer B starts on
 * a fresh ledger.db: both held "the" lock, both wrote at their own idea of the end, and B
 * acknowledged an event whose seq in events.jsonl holds one of A's.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import { verifyLedger } from '../../src/audit/verify-ledger.js';
import { cleanupAll, fresh, jsonlLines } from './ledger-helpers.js';

afterEach(cleanupAll);

const rmDb = (dir: string) => { for (const s of ['', '-wal', '-shm']) fs.rmSync(path.join(dir, 'ledger.db' + s), { force: true }); };

describe('a writer whose files were replaced', () => {
  it('ledger.db removed under writer A, writer B starts: A refuses with IO_ERROR and acknowledges nothing more; B owns every seq', async () => {
    const dir = fresh();
    const a = await Ledger.open({ dir, create: true, projectionLagMs: 0 });
    for (let i = 0; i < 3; i++) await a.append({ kind: 'a.write', payload: i });
    rmDb(dir);
    const b = await Ledger.open({ dir, projectionLagMs: 0 });
    expect(b.headInfo().seq).toBe(2);
    const fromB = await b.append({ kind: 'b.write', payload: 'b' });
    const fromA = await a.append({ kind: 'a.write', payload: 'late' }).catch((e: unknown) => e);
    expect(fromA).toMatchObject({ code: 'IO_ERROR' });
    expect((fromA as Error).message).toContain('ledger.db is no longer the file this writer opened');
    // Poisoned: later appends fail too, without touching the files.
    await expect(a.append({ kind: 'a.write', payload: 'later' })).rejects.toMatchObject({ code: 'IO_ERROR' });
    await a.close();
    await b.append({ kind: 'b.write', payload: 'b2' });
    await b.close();
    const lines = jsonlLines(dir).map((l) => JSON.parse(l) as { seq: number; kind: string });
    expect(lines.map((e) => `${e.seq}:${e.kind}`)).toEqual(['0:a.write', '1:a.write', '2:a.write', `${fromB.seq}:b.write`, '4:b.write']);
    expect((await verifyLedger({ dir })).ok).toBe(true);
  });

  it('events.jsonl replaced under a writer (renamed away, a copy put back): the writer refuses', async () => {
    const dir = fresh();
    const a = await Ledger.open({ dir, create: true });
    await a.append({ kind: 'a.write', payload: 0 });
    const p = path.join(dir, 'events.jsonl');
    fs.copyFileSync(p, p + '.copy');
    fs.renameSync(p + '.copy', p);
    await expect(a.append({ kind: 'a.write', payload: 1 })).rejects.toMatchObject({ code: 'IO_ERROR', details: { path: p } });
    await a.close();
    expect(jsonlLines(dir)).toHaveLength(1);
  });
});
