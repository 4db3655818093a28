// ADR 0044: the append path's rows and Merkle nodes, many per statement. mirrorAll must leave
// ledger.db exactly as mirror() one record at a time does (spec §13.1 step 6), whatever the split.
import path from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { GENESIS_PREV } from '../../src/format/event.js';
import { type SealedRecord, sealRecord, withSignature } from '../../src/format/seal.js';
import { signatureFor } from '../../src/format/signature.js';
import { signingKeyFromSeed } from '../../src/crypto/signing-key.js';
import { CompactRange } from '../../src/merkle/compact-range.js';
import { GroupedInsert, MAX_GROUP } from '../../src/store/grouped-insert.js';
import { eventRow, type InsertRow, Projection, type Watermark } from '../../src/store/projection.js';
import { tempDir } from '../helpers.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function freshProjection(): Promise<{ projection: Projection; db: Database.Database }> {
  const t = tempDir('sl-grouped-');
  cleanups.push(t.cleanup);
  const file = path.join(t.dir, 'ledger.db');
  const projection = await Projection.open(file, { create: true });
  cleanups.push(() => projection.close());
  const db = new Database(file, { readonly: true });
  cleanups.push(() => void db.close());
  return { projection, db };
}

const key = signingKeyFromSeed(Buffer.alloc(32, 5), 'grouped');

/** A chain of `n` sealed records, every third one signed, some with an actor and non-ASCII text. */
function chain(n: number): SealedRecord[] {
  const out: SealedRecord[] = [];
  let prev = GENESIS_PREV;
  for (let seq = 0; seq < n; seq++) {
    let rec = sealRecord(
      { kind: `k.${seq % 3}`, ...(seq % 2 ? { actor: `user:${seq}` } : {}), payload: { seq, text: 'é€'.repeat(seq % 4) } },
      { seq, prev },
    );
    if (seq % 3 === 0) rec = withSignature(rec, signatureFor(rec.hash, key));
    out.push(rec);
    prev = rec.event.hash;
  }
  return out;
}

const dump = (db: Database.Database) => ({
  events: db.prepare('SELECT seq, id, at, kind, actor, hash, kid, line, offset FROM events ORDER BY seq').all(),
  nodes: db.prepare('SELECT level, idx, hex(hash) AS hash FROM merkle_nodes ORDER BY level, idx').all(),
});

describe('GroupedInsert', () => {
  it('inserts more rows than one statement holds, in order, every column as given', async () => {
    const { projection, db } = await freshProjection();
    const recs = chain(MAX_GROUP * 2 + 22);
    const frontier = CompactRange.empty();
    projection.beginImmediate();
    const wm = projection.mirrorAll(recs, 0, frontier);
    projection.commit();
    expect(wm.seq).toBe(recs.length - 1);
    const rows = dump(db).events as { seq: number; line: string; offset: number }[];
    expect(rows.map((r) => r.seq)).toEqual(recs.map((r) => r.event.seq));
    expect(rows.map((r) => r.line)).toEqual(recs.map((r) => r.line));
    expect(wm.offset).toBe(rows.at(-1)!.offset + Buffer.byteLength(rows.at(-1)!.line) + 1);
  });

  it('a refused row fails its whole statement: no row of its group is in, the groups before it are', async () => {
    const t = tempDir('sl-grouped-raw-');
    cleanups.push(t.cleanup);
    const db = new Database(path.join(t.dir, 'x.db'));
    cleanups.push(() => void db.close());
    db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    const insert = new GroupedInsert(db, 'INSERT INTO t (k, v) VALUES ', 2);
    const args: unknown[] = [];
    for (let k = 0; k < MAX_GROUP + 10; k++) args.push(k === MAX_GROUP + 5 ? 3 : k, `v${k}`);
    db.exec('BEGIN');
    let thrown: unknown;
    try {
      insert.run(args);
    } catch (e) {
      thrown = e;
    }
    db.exec('COMMIT');
    expect((thrown as { code?: string }).code).toBe('SQLITE_CONSTRAINT_PRIMARYKEY');
    expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: MAX_GROUP });
  });
});

type Mirror = (p: Projection, frontier: CompactRange, i: number) => Watermark;
type MirrorGroup = (p: Projection, frontier: CompactRange, at: number, n: number, prev: Watermark | undefined) => Watermark;

/**
 * Property: `count` records mirrored one at a time by `one`, and in groups of any sizes by
 * `grouped`, leave the same rows, node rows, watermark and frontier.
 */
async function sameAsOneByOne(count: number, one: Mirror, grouped: MirrorGroup): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 80 }), { minLength: 1, maxLength: 12 }), async (sizes) => {
      const a = await freshProjection();
      const b = await freshProjection();
      const fa = CompactRange.empty();
      const fb = CompactRange.empty();
      a.projection.beginImmediate();
      b.projection.beginImmediate();
      let wa: Watermark | undefined;
      for (let i = 0; i < count; i++) wa = one(a.projection, fa, i);
      let wb: Watermark | undefined;
      for (let at = 0, i = 0; at < count; i++) {
        const n = Math.min(sizes[i % sizes.length]!, count - at);
        wb = grouped(b.projection, fb, at, n, wb);
        at += n;
      }
      a.projection.commit();
      b.projection.commit();
      expect(wb).toEqual(wa);
      expect(fb.root().equals(fa.root())).toBe(true);
      expect(dump(b.db)).toEqual(dump(a.db));
      for (const c of cleanups.splice(0).reverse()) await c();
    }),
    { numRuns: 15 },
  );
}

describe('mirrorAll and mirrorRows leave ledger.db as mirror() and mirrorRow() do (spec §13.1 step 6)', () => {
  const recs = chain(150);
  const rows: InsertRow[] = [];
  const ends: number[] = [];
  for (let i = 0, offset = 0; i < recs.length; i++) {
    rows.push(eventRow(recs[i]!, offset));
    offset += Buffer.byteLength(recs[i]!.line) + 1;
    ends.push(offset);
  }

  it('mirrorAll (the inline flush), for any split of a chain into groups', () =>
    sameAsOneByOne(
      recs.length,
      (p, f, i) => p.mirror(recs[i]!, rows[i]!.offset, f),
      (p, f, at, n, prev) => p.mirrorAll(recs.slice(at, at + n), prev?.offset ?? 0, f),
    ));

  it('mirrorRows (a projection worker batch), for any split', () =>
    sameAsOneByOne(
      rows.length,
      (p, f, i) => p.mirrorRow(rows[i]!, recs[i]!.hash, ends[i]!, f),
      (p, f, at, n) => p.mirrorRows(rows.slice(at, at + n), ends[at + n - 1]!, f),
    ));
});
