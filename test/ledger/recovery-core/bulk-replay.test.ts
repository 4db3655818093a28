// spec §14.3: a replay into an empty ledger.db is a bulk load (secondary indexes dropped, rows
// inserted, indexes created again from their own text, one transaction). It must leave exactly
// what the chunked replay with the indexes in place leaves, report the same, and on any error
// leave the empty, indexed projection. With its line checks on worker threads (ADR 0036 step 2)
// it must give the same again, for 0 (inline), 1 and 2 threads. The workers run from
// dist/ledger/replay-worker.js: after editing src, run `npm run build`.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { Ledger } from '../../../src/ledger/ledger.js';
import { replayJsonlIntoSqlite, type ReplayOptions, type ReplayReport } from '../../../src/ledger/replay.js';
import { rebuildProjection } from '../../../src/ledger/rebuild.js';
import { tempDir } from '../../helpers.js';
import { dumpLedgerDb as dump } from '../ledger-helpers.js';
import { AT, dropProjection, events, eventAfter, KEY_A, keyringOf, lineOf, lines, rejection, removeFolders, type Folder } from './folder.js';

afterEach(removeFolders);

const workerUrl = new URL('../../../dist/ledger/replay-worker.js', import.meta.url);

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function indexNames(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' ORDER BY name").all().map((r) => r.name);
  } finally {
    db.close();
  }
}

/** ledger.db's rows and schema, or 'missing': an error in a replay into a missing ledger.db publishes nothing. */
function dumpOrMissing(file: string) {
  return fs.existsSync(file) ? dump(file) : 'missing';
}

/** Side files a replay left beside ledger.db (spec §14.3.1: none, whatever the outcome). */
function sideFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => /^ledger\.db\.(replay|rebuild)-/.test(n));
}

/** The state a replay into an empty projection starts from: no ledger.db, or an empty file. */
type Start = 'missing' | 'empty';

function prepare(dir: string, start: Start): void {
  if (start === 'empty') fs.writeFileSync(path.join(dir, 'ledger.db'), '');
}

function sameReport(r: ReplayReport) {
  const { durationMs, ...rest } = r;
  expect(durationMs).toBeGreaterThanOrEqual(0);
  return rest;
}

interface Spec {
  n: number;
  batchBytes?: number;
  signed: boolean;
  actors: (string | undefined)[];
  checkpointsAt: number[];
  damage: { kind: 'none' } | { kind: 'torn'; bytes: number } | { kind: 'corrupt'; line: number; byte: number };
}

async function build(spec: Spec): Promise<Folder> {
  const t = tempDir('sl-bulk-');
  cleanups.push(t.cleanup);
  const dir = path.join(t.dir, 'ledger');
  const keyring = keyringOf(KEY_A);
  const ledger = await Ledger.open({ dir, create: true, keyring, ...(spec.signed ? { signer: KEY_A } : {}), now: () => new Date(AT), projectionLagMs: 0 });
  try {
    let done = 0;
    const appendTo = async (cut: number) => {
      if (cut <= done) return;
      await ledger.appendBatch(Array.from({ length: cut - done }, (_, k) => {
        const i = done + k;
        const actor = spec.actors[i % spec.actors.length];
        return { kind: `k${i % 3}`, id: `ev-${i}`, payload: { i }, ...(actor ? { actor } : {}) };
      }));
      done = cut;
    };
    for (const cut of [...new Set(spec.checkpointsAt.filter((c) => c <= spec.n))].sort((a, b) => a - b)) {
      await appendTo(cut);
      await ledger.checkpoint(KEY_A);
    }
    await appendTo(spec.n);
  } finally {
    await ledger.close();
  }
  const f = { dir, jsonl: path.join(dir, 'events.jsonl'), sqlite: path.join(dir, 'ledger.db'), torn: path.join(dir, 'torn'), keyring };
  const d = spec.damage;
  if (d.kind === 'torn') fs.appendFileSync(f.jsonl, lineOf(eventAfter(events(f).at(-1))).slice(0, d.bytes));
  if (d.kind === 'corrupt' && spec.n > 0) {
    const buf = fs.readFileSync(f.jsonl);
    const ls = lines(f);
    const line = d.line % ls.length;
    const start = ls.slice(0, line).reduce((s, l) => s + Buffer.byteLength(l) + 1, 0);
    const at = start + (d.byte % Buffer.byteLength(ls[line]!));
    buf[at] = buf[at] === 0x41 ? 0x42 : 0x41;
    fs.writeFileSync(f.jsonl, buf);
  }
  dropProjection(f);
  return f;
}

function copyOf(f: Folder, suffix: string): string {
  const other = `${f.dir}-${suffix}`;
  fs.cpSync(f.dir, other, { recursive: true });
  cleanups.push(() => fs.rmSync(other, { recursive: true, force: true }));
  return other;
}

/** The same folder twice: replayed into an empty ledger.db by the bulk load and by the chunked path. */
async function both(f: Folder, bulkOptions: Partial<ReplayOptions> = {}, start: Start = 'missing') {
  const other = copyOf(f, 'chunked');
  const chunked = await outcome(replayJsonlIntoSqlite({ dir: other }, { keyring: f.keyring, bulkLoad: false, commitEvery: 7 }));
  prepare(f.dir, start);
  const bulk = await outcome(replayJsonlIntoSqlite({ dir: f.dir }, { keyring: f.keyring, ...bulkOptions }));
  expect(sideFiles(f.dir)).toEqual([]);
  return { bulk, chunked, bulkDb: dumpOrMissing(f.sqlite), chunkedDb: dump(path.join(other, 'ledger.db')) };
}

/** The bulk load of copies of `f` with its line checks on 1 and 2 worker threads. */
async function onWorkers(f: Folder, batchBytes = 1024, extra: Partial<ReplayOptions> = {}, start: Start = 'missing') {
  const out = [];
  for (const threads of [1, 2]) {
    const dir = copyOf(f, `t${threads}`);
    prepare(dir, start);
    const report = await outcome(replayJsonlIntoSqlite({ dir }, { keyring: f.keyring, workers: threads, workerUrl, batchBytes, ...extra }));
    expect(sideFiles(dir)).toEqual([]);
    out.push({ threads, report, db: dumpOrMissing(path.join(dir, 'ledger.db')) });
  }
  return out;
}

/** The report without its duration, or the error a replay threw (a damaged signature throws). */
async function outcome(p: Promise<ReplayReport>) {
  try {
    return sameReport(await p);
  } catch (e) {
    const err = e as Error & { code?: string; details?: unknown };
    return { thrown: { code: err.code, message: err.message, details: err.details } };
  }
}

describe('replay into an empty ledger.db: the bulk load (spec §14.3)', () => {
  it('leaves the same ledger.db and the same report as the chunked replay, for random ledgers (property)', async () => {
    const seed = Date.now();
    // BULK_SEED replays a printed seed.
    console.log(`bulk-replay equivalence property seed ${seed}`);
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          n: fc.integer({ min: 0, max: 120 }),
          signed: fc.boolean(),
          // Escaped and non-ASCII actors: the worker wire sends such a value as text, not as a
          // position in the line (replay-wire.ts); "k" occurs earlier in every line.
          actors: fc.array(fc.option(fc.constantFrom('alice', 'bob', 'say "hi"', 'back\\slash', 'ünï 🔑 cødé', 'k'), { nil: undefined }), { minLength: 1, maxLength: 3 }),
          checkpointsAt: fc.array(fc.integer({ min: 1, max: 120 }), { maxLength: 3 }),
          damage: fc.oneof(
            fc.constant({ kind: 'none' as const }),
            fc.record({ kind: fc.constant('torn' as const), bytes: fc.integer({ min: 1, max: 60 }) }),
            fc.record({ kind: fc.constant('corrupt' as const), line: fc.nat(), byte: fc.nat() }),
          ),
          // Small batches put batch boundaries (and the defect) anywhere in the file.
          batchBytes: fc.integer({ min: 64, max: 8192 }),
          // A missing ledger.db is built in a side file and published; an empty one in place.
          start: fc.constantFrom<Start>('missing', 'empty'),
        }),
        async (spec) => {
          const f = await build(spec);
          const workers = await onWorkers(f, spec.batchBytes, {}, spec.start);
          const r = await both(f, { workers: 0, workerUrl }, spec.start);
          expect(r.bulk).toEqual(r.chunked);
          for (const w of workers) {
            expect(w.report, `${w.threads} threads`).toEqual(r.bulk);
            expect(w.db, `${w.threads} threads`).toEqual(r.bulkDb);
          }
          if ('thrown' in r.bulk && spec.start === 'missing') {
            // Nothing is published: ledger.db is still missing, as before the replay.
            expect(r.bulkDb).toBe('missing');
          } else if ('thrown' in r.bulk) {
            // The chunked path keeps the chunks it committed before a forgery; the bulk load
            // commits nothing: its one transaction is rolled back.
            expect(r.bulkDb).toMatchObject({ events: [], nodes: [], checkpoints: [], watermark: [{ seq: -1 }], schema: r.chunkedDb.schema });
          } else {
            expect(r.bulkDb).toEqual(r.chunkedDb);
          }
        },
      ),
      { numRuns: 25, seed: Number(process.env.BULK_SEED ?? seed) },
    );
  }, 120_000);

  it('a corrupted line mid-file stops the load there, commits the prefix with its indexes, and reports it as before', async () => {
    const f = await build({ n: 40, signed: true, actors: ['a'], checkpointsAt: [10], damage: { kind: 'corrupt', line: 20, byte: 100 } });
    const { bulk, chunked, bulkDb, chunkedDb } = await both(f);
    expect(bulk).toMatchObject({ inserted: 20, toSeq: 19, tornTail: { code: 'MALFORMED_LINE' } });
    expect((bulk as ReplayReport).errors.map((e) => e.code)).toEqual(['MALFORMED_LINE', 'LEDGER_CORRUPT']);
    expect(bulk).toEqual(chunked);
    expect(bulkDb).toEqual(chunkedDb);
    expect(indexNames(f.sqlite)).toEqual(['events_actor_seq', 'events_at', 'events_kind_seq', 'sqlite_autoindex_events_1']);
  });

  it('a torn last line: the valid prefix is committed with its indexes', async () => {
    const f = await build({ n: 30, signed: false, actors: [undefined], checkpointsAt: [], damage: { kind: 'torn', bytes: 25 } });
    const { bulk, bulkDb, chunkedDb } = await both(f);
    expect(bulk).toMatchObject({ inserted: 30, toSeq: 29, tornTail: { code: 'TORN_LINE' } });
    expect(bulkDb).toEqual(chunkedDb);
    expect(indexNames(f.sqlite)).toHaveLength(4);
  });

  describe.each<Start>(['missing', 'empty'])('an error mid-load leaves ledger.db as it was (%s)', (start) => {
    /** A missing ledger.db stays missing (nothing published, no side file); an empty one stays empty with its indexes. */
    const expectUnchanged = (f: Folder) => {
      expect(sideFiles(f.dir)).toEqual([]);
      if (start === 'missing') {
        expect(fs.existsSync(f.sqlite)).toBe(false);
        return;
      }
      const db = dump(f.sqlite);
      expect(db.events).toEqual([]);
      expect(db.nodes).toEqual([]);
      expect(db.checkpoints).toEqual([]);
      expect(db.watermark).toMatchObject([{ seq: -1, offset: 0 }]);
      expect(indexNames(f.sqlite)).toEqual(['events_actor_seq', 'events_at', 'events_kind_seq', 'sqlite_autoindex_events_1']);
    };

    it('a forged signature: the same error as the chunked path, nothing committed', async () => {
      const f = await build({ n: 30, signed: true, actors: ['a'], checkpointsAt: [], damage: { kind: 'none' } });
      const ls = lines(f);
      const evs = events(f);
      ls[17] = lineOf({ ...evs[17]!, sig: evs[16]!.sig! });
      fs.writeFileSync(f.jsonl, ls.join('\n') + '\n');
      const other = `${f.dir}-chunked`;
      fs.cpSync(f.dir, other, { recursive: true });
      cleanups.push(() => fs.rmSync(other, { recursive: true, force: true }));
      prepare(f.dir, start);
      const e = await rejection(replayJsonlIntoSqlite({ dir: f.dir }, { keyring: f.keyring }));
      const old = await rejection(replayJsonlIntoSqlite({ dir: other }, { keyring: f.keyring, bulkLoad: false, commitEvery: 1000 }));
      expect(e).toMatchObject({ code: 'INVALID_SIGNATURE', details: { seq: 17, offset: ls.slice(0, 17).reduce((s, l) => s + Buffer.byteLength(l) + 1, 0) } });
      expect({ code: e.code, message: e.message, details: e.details }).toEqual({ code: old.code, message: old.message, details: old.details });
      expectUnchanged(f);
    });

    it('a repeated id refused by the UNIQUE that stays during the load: MIRROR_CONFLICT, nothing committed', async () => {
      const f = await build({ n: 12, signed: false, actors: ['a'], checkpointsAt: [], damage: { kind: 'none' } });
      const evs = events(f);
      fs.appendFileSync(f.jsonl, lineOf(eventAfter(evs.at(-1), { id: 'ev-3', signer: null })) + '\n');
      prepare(f.dir, start);
      const e = await rejection(replayJsonlIntoSqlite({ dir: f.dir }));
      expect(e).toMatchObject({ code: 'MIRROR_CONFLICT', details: { seq: 12, id: 'ev-3', otherSeq: 3 } });
      expectUnchanged(f);
    });

    it('an error after the indexes were built (a damaged checkpoints.jsonl), and rebuildProjection keeps the old file', async () => {
      const f = await build({ n: 25, signed: true, actors: ['a', 'b'], checkpointsAt: [5], damage: { kind: 'none' } });
      fs.appendFileSync(path.join(f.dir, 'checkpoints.jsonl'), 'not a record\n');
      prepare(f.dir, start);
      const e = await rejection(replayJsonlIntoSqlite({ dir: f.dir }, { keyring: f.keyring }));
      expect(e).toMatchObject({ code: 'LEDGER_CORRUPT' });
      expectUnchanged(f);
      if (start === 'missing') return;
      const before = fs.readFileSync(f.sqlite);
      await expect(rebuildProjection(f.dir, { keyring: f.keyring })).rejects.toMatchObject({ code: 'LEDGER_CORRUPT' });
      expect(fs.readFileSync(f.sqlite).equals(before)).toBe(true);
      expect(sideFiles(f.dir)).toEqual([]);
    });
  });

  it('reports progress while loading, and a replay from a non-empty watermark still commits in chunks', async () => {
    const f = await build({ n: 300, signed: false, actors: ['a'], checkpointsAt: [], damage: { kind: 'none' } });
    const seen: number[] = [];
    const r = await replayJsonlIntoSqlite({ dir: f.dir }, { onProgress: (b) => seen.push(b) });
    expect(r).toMatchObject({ inserted: 300, fromSeq: -1 });
    expect(seen.at(-1)).toBe(fs.statSync(f.jsonl).size);
    const evs = events(f);
    fs.appendFileSync(f.jsonl, [lineOf(eventAfter(evs.at(-1), { signer: null }))].join('\n') + '\n');
    expect(await replayJsonlIntoSqlite({ dir: f.dir })).toMatchObject({ fromSeq: 299, inserted: 1, toSeq: 300 });
    expect(indexNames(f.sqlite)).toHaveLength(4);
  });
});
