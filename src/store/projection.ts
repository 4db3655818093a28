/**
 * ledger.db: the SQLite projection of events.jsonl (spec §8). The append and replay hot paths use
 * prepared better-sqlite3 statements (ADR 0005); readers get a typed Kysely over the same
 * connection.
 */
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { ConflictError, LedgerStateError } from '../errors.js';
import { migrateToLatest } from './migrations.js';
import { asIoError } from './os-error.js';
import { tryBeginImmediate } from './begin-immediate.js';
import { openReadOnlyDatabase } from './readonly-db.js';
import type { EventsTable, LedgerSchema } from './schema.js';
import { TreeStore } from './tree-store.js';
import { RowBatch } from './row-batch.js';
import { GroupedInsert } from './grouped-insert.js';
import type { CompactRange } from '../merkle/compact-range.js';
import type { TreeNode } from '../merkle/node-id.js';
import type { SealedRecord } from '../format/seal.js';

import type { StoredCheckpoint } from './stored-checkpoint.js';
import type { Watermark } from './watermark.js';

export type { Watermark };

/** A full events row (spec §8.1). */
export type ProjectionRow = EventsTable;

/** One events row as the hot path inserts it (spec §8.1). */
export type InsertRow = EventsTable;

/** A sealed line as the projection needs it: the event and its canonical line. */
export type MirroredRecord = Pick<SealedRecord, 'event' | 'line' | 'hash'>;


/** An index of the events table as sqlite_master holds it: the text that creates it again. */
export interface IndexDefinition {
  name: string;
  sql: string;
}

/** Filters of Ledger.events() (spec §8): each one narrows, all are optional. */
export interface EventLineFilter {
  fromSeq?: number | undefined;
  toSeq?: number | undefined;
  kind?: string | undefined;
  actor?: string | undefined;
  fromAt?: string | undefined;
  toAt?: string | undefined;
  limit?: number | undefined;
}

const ROW_COLUMNS = 'seq, id, at, kind, actor, hash, kid, line, offset';

/** The one mapping of a sealed line at `offset` to its events row (spec §8.1). */
export function eventRow(rec: Pick<SealedRecord, 'event' | 'line'>, offset: number): InsertRow {
  const ev = rec.event;
  return {
    seq: ev.seq, id: ev.id, at: ev.at, kind: ev.kind, actor: ev.actor ?? null, hash: ev.hash,
    kid: ev.sig?.kid ?? null, line: rec.line, offset,
  };
}

export interface ProjectionOptions {
  readOnly?: boolean;
  /** Create ledger.db if missing (init, replay --rebuild). */
  create?: boolean;
  /** How long to wait for another writer that holds ledger.db's lock while creating it. */
  lockTimeoutMs?: number;
  /**
   * A new side file only this connection opens, for a bulk load (spec §14.3.1): rollback journal
   * (a fresh file's new pages are written once, not to the WAL and again at the checkpoint) and
   * synchronous = FULL (its COMMIT is the one fsync); switchToWal() before it is published.
   */
  bulkFile?: boolean;
}

export class Projection {
  readonly kysely: Kysely<LedgerSchema>;
  /** The Merkle nodes of this ledger.db (spec §11.2). */
  readonly tree: TreeStore;
  private readonly stmts;
  readonly #rows: GroupedInsert;

  private constructor(private readonly db: Database.Database, readonly path: string) {
    this.kysely = new Kysely<LedgerSchema>({ dialect: new SqliteDialect({ database: db }) });
    this.tree = new TreeStore(db);
    this.#rows = new GroupedInsert(db, `INSERT INTO events (${ROW_COLUMNS}) VALUES `, 9);
    this.stmts = {
      watermark: db.prepare<[], { seq: number; hash: string; offset: number; line_start: number }>(
        'SELECT seq, hash, offset, line_start FROM watermark WHERE id = 1',
      ),
      setWatermark: db.prepare('UPDATE watermark SET seq = ?, hash = ?, offset = ?, line_start = ? WHERE id = 1'),
      insert: db.prepare(
        'INSERT INTO events (seq, id, at, kind, actor, hash, kid, line, offset) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      bySeq: db.prepare<[number], ProjectionRow>(`SELECT ${ROW_COLUMNS} FROM events WHERE seq = ?`),
      byId: db.prepare<[string], ProjectionRow>(`SELECT ${ROW_COLUMNS} FROM events WHERE id = ?`),
      maxSeq: db.prepare<[], { m: number | null }>('SELECT max(seq) AS m FROM events'),
      tamper: db.prepare<[], { seq: number; op: 'delete' | 'update' }>(
        'SELECT DISTINCT seq, op FROM projection_tamper ORDER BY seq',
      ),
      tamperCount: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM projection_tamper'),
      clearTamper: db.prepare('DELETE FROM projection_tamper WHERE seq = ?'),
      lineBefore: db.prepare<[number], { offset: number; line: string }>(
        `SELECT offset, line FROM events WHERE seq < ? AND seq NOT IN (SELECT seq FROM projection_tamper)
       ORDER BY seq DESC LIMIT 1`,
      ),
    };
  }

  /** Wrap a connection to an already-migrated ledger.db (the caller keeps ownership). */
  static attach(db: Database.Database): Projection {
    return new Projection(db, db.name);
  }

  static async open(path: string, options: ProjectionOptions = {}): Promise<Projection> {
    let db: Database.Database;
    try {
      db = options.readOnly ? openReadOnlyDatabase(path) : new Database(path, { fileMustExist: !options.create });
    } catch (e) {
      // A file the OS refuses (EACCES, EROFS) is an I/O error, not a missing ledger.
      const io = fs.existsSync(path) || options.create ? asIoError(e, path) : e;
      if (io !== e) throw io;
      throw new LedgerStateError('LEDGER_NOT_FOUND', `cannot open ${path}: ${(e as Error).message}`, { cause: e });
    }
    try {
      if (!options.readOnly) {
        await untilUnlocked(() => db.pragma(options.bulkFile ? 'journal_mode = DELETE' : 'journal_mode = WAL'), options.lockTimeoutMs ?? 10_000);
        // JSONL is fsynced before every commit and heals the projection on open, so SQLite needs
        // no fsync of its own per commit (ADR 0004, spec §13.3).
        db.pragma(options.bulkFile ? 'synchronous = FULL' : 'synchronous = NORMAL');
      }
      db.pragma('busy_timeout = 5000');
      db.pragma('foreign_keys = ON');
      if (!options.readOnly) await migrateToLatest(new Kysely<unknown>({ dialect: new SqliteDialect({ database: db }) }));
      return new Projection(db, path);
    } catch (e) {
      db.close();
      if (e instanceof LedgerStateError || e instanceof ConflictError) throw e;
      const io = asIoError(e, path);
      if (io !== e) throw io;
      throw new LedgerStateError('LEDGER_CORRUPT', `${path} is not a usable ledger database: ${(e as Error).message}`, { cause: e });
    }
  }

  watermark(): Watermark {
    const r = this.stmts.watermark.get();
    if (!r) throw new LedgerStateError('LEDGER_CORRUPT', `${this.path}: watermark row is missing`);
    return { seq: r.seq, hash: r.hash, offset: r.offset, lineStart: r.line_start };
  }

  setWatermark(w: Watermark): void {
    this.stmts.setWatermark.run(w.seq, w.hash, w.offset, w.lineStart);
  }

  insert(row: InsertRow): void {
    this.stmts.insert.run(row.seq, row.id, row.at, row.kind, row.actor, row.hash, row.kid, row.line, row.offset);
  }

  /**
   * Mirror one sealed line that starts at `offset` (spec §13.1 step 6, §14.1): its row (unless
   * `rowPresent`: an identical row is already there), the Merkle nodes it completes on `frontier`
   * (which it extends), and the watermark just past it, returned for the caller to set once per
   * batch. The one place where an event becomes projection state.
   */
  mirror(rec: MirroredRecord, offset: number, frontier: CompactRange, rowPresent = false): Watermark {
    if (!rowPresent) this.insert(eventRow(rec, offset));
    this.tree.put(frontier.append(rec.hash));
    const end = offset + Buffer.byteLength(rec.line, 'utf8') + 1;
    return { seq: rec.event.seq, hash: rec.event.hash, offset: end, lineStart: offset };
  }

  /**
   * mirror() for `recs` in order, the first starting at `offset`: the same rows and Merkle nodes,
   * inserted many per statement (ADR 0044). Returns the watermark just past the last one.
   */
  mirrorAll(recs: readonly MirroredRecord[], offset: number, frontier: CompactRange): Watermark {
    const rows: InsertRow[] = [];
    let at = offset;
    for (const rec of recs) {
      rows.push(eventRow(rec, at));
      at += Buffer.byteLength(rec.line, 'utf8') + 1;
    }
    return this.#mirrorGroup(rows, (i) => recs[i]!.hash, at, frontier);
  }

  /**
   * mirrorRow() for rows in order (a projection worker's batch): the same rows and Merkle nodes,
   * many per statement (ADR 0044). `end` is the offset after the last row's "\n".
   */
  mirrorRows(rows: readonly InsertRow[], end: number, frontier: CompactRange): Watermark {
    return this.#mirrorGroup(rows, (i) => Buffer.from(rows[i]!.hash, 'hex'), end, frontier);
  }

  #mirrorGroup(rows: readonly InsertRow[], leaf: (i: number) => Uint8Array, end: number, frontier: CompactRange): Watermark {
    const last = rows.at(-1);
    if (last === undefined) throw new RangeError('a group of rows to mirror is never empty');
    const args: unknown[] = [];
    const nodes: TreeNode[] = [];
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      args.push(r.seq, r.id, r.at, r.kind, r.actor, r.hash, r.kid, r.line, r.offset);
      for (const n of frontier.append(leaf(i))) nodes.push(n);
    }
    this.#rows.run(args);
    this.tree.putAll(nodes);
    return { seq: last.seq, hash: last.hash, offset: end, lineStart: last.offset };
  }

  /**
   * mirror() for a row a replay worker already cut out of its line (spec §14.3): the same insert
   * and tree nodes, from the row, its leaf hash and the offset after its "\n". With `rows`, the
   * row is inserted when that batch is flushed (a bulk load's grouped inserts, ADR 0040).
   */
  mirrorRow(row: InsertRow, leaf: Buffer, end: number, frontier: CompactRange, rows?: RowBatch): Watermark {
    if (rows) rows.add(row);
    else this.insert(row);
    this.tree.put(frontier.append(leaf));
    return { seq: row.seq, hash: row.hash, offset: end, lineStart: row.offset };
  }

  /** Grouped inserts of events rows for a bulk load, on this connection (ADR 0040). */
  rowBatch(): RowBatch {
    return new RowBatch(this.db);
  }

  /**
   * Drop the secondary indexes of events inside the open write transaction, for a bulk load
   * (spec §14.3); returns their definitions, read from this database's own sqlite_master so that
   * they are created again exactly as the migrations made them. The UNIQUE on id has no SQL text
   * (it is part of the table) and stays: the inserts still refuse a repeated id.
   */
  dropSecondaryIndexes(): IndexDefinition[] {
    if (!this.db.inTransaction) throw new LedgerStateError('LEDGER_CORRUPT', `${this.path}: indexes may only be dropped inside a transaction`);
    const defs = this.db
      .prepare<[], IndexDefinition>("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL ORDER BY name")
      .all();
    for (const d of defs) this.db.exec(`DROP INDEX "${d.name.replace(/"/g, '""')}"`);
    return defs;
  }

  /** Create again the indexes dropSecondaryIndexes returned, in the same transaction. */
  createIndexes(defs: readonly IndexDefinition[]): void {
    for (const d of defs) this.db.exec(d.sql);
  }

  bySeq(seq: number): ProjectionRow | undefined {
    return this.stmts.bySeq.get(seq);
  }

  byId(id: string): ProjectionRow | undefined {
    return this.stmts.byId.get(id);
  }

  maxSeq(): number {
    return this.stmts.maxSeq.get()?.m ?? -1;
  }

  tamperCount(): number {
    return this.stmts.tamperCount.get()?.n ?? 0;
  }

  tampered(): { seq: number; op: 'delete' | 'update' }[] {
    return this.stmts.tamper.all();
  }

  clearTamper(seq: number): void {
    this.stmts.clearTamper.run(seq);
  }

  /** The nearest row below `seq` that no tamper record names: where a scan for `seq` may start. */
  lineBefore(seq: number): { offset: number; line: string } | undefined {
    return this.stmts.lineBefore.get(seq);
  }

  /** Canonical lines of the rows matching `q`, in seq order, streamed. */
  *eventLines(q: EventLineFilter = {}): Generator<string> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    const add = (cond: string, v: string | number | undefined) => {
      if (v !== undefined) {
        where.push(cond);
        args.push(v);
      }
    };
    add('seq >= ?', q.fromSeq);
    add('seq <= ?', q.toSeq);
    add('kind = ?', q.kind);
    add('actor = ?', q.actor);
    add('at >= ?', q.fromAt);
    add('at < ?', q.toAt);
    const sql = `SELECT line FROM events ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY seq` +
      (q.limit !== undefined ? ` LIMIT ${Math.max(0, Math.floor(q.limit))}` : '');
    for (const row of this.db.prepare<(string | number)[], { line: string }>(sql).iterate(...args)) yield row.line;
  }

  /** Checkpoints issued so far, oldest first (spec §12.5). */
  checkpoints(): StoredCheckpoint[] {
    return this.db
      .prepare<[], StoredCheckpoint>('SELECT size, root, note, created_at AS createdAt FROM checkpoints ORDER BY size')
      .all();
  }

  /** Checkpoint rows of `size` or larger. */
  checkpointsFrom(size: number): { size: number; root: string; note: string }[] {
    return this.db.prepare<[number], { size: number; root: string; note: string }>('SELECT size, root, note FROM checkpoints WHERE size >= ?').all(size);
  }

  /** The largest tree size a checkpoints row records, 0 when none. */
  maxCheckpointSize(): number {
    return this.db.prepare<[], { m: number | null }>('SELECT max(size) AS m FROM checkpoints').get()?.m ?? 0;
  }

  /** Store a checkpoint issued now; requires the write transaction. */
  putCheckpoint(c: StoredCheckpoint): void {
    this.db.prepare('INSERT OR REPLACE INTO checkpoints (size, root, note, created_at) VALUES (?, ?, ?, ?)').run(c.size, c.root, c.note, c.createdAt);
  }

  /** Add the checkpoints this table lacks (after a rebuild); returns how many were added. */
  importCheckpoints(records: Iterable<StoredCheckpoint>, treeSize: number): number {
    const insert = this.db.prepare('INSERT OR IGNORE INTO checkpoints (size, root, note, created_at) VALUES (?, ?, ?, ?)');
    let n = 0;
    for (const r of records) if (r.size <= treeSize) n += insert.run(r.size, r.root, r.note, r.createdAt).changes;
    return n;
  }

  /** Rows in seq order from `fromSeq`, streamed (bounded memory). */
  *rows(fromSeq = 0): Generator<ProjectionRow> {
    const it = this.db
      .prepare<[number], ProjectionRow>(`SELECT ${ROW_COLUMNS} FROM events WHERE seq >= ? ORDER BY seq`)
      .iterate(fromSeq);
    yield* it;
  }

  /**
   * Try to take SQLite's write lock without blocking the event loop; false when another writer
   * holds it (spec §13.2).
   */
  tryBeginImmediate(): boolean {
    this.db.pragma('busy_timeout = 0');
    try {
      return tryBeginImmediate(this.db);
    } finally {
      this.db.pragma('busy_timeout = 5000');
    }
  }

  /** Re-take the write lock at once after a commit (a chunk boundary of a long replay). */
  beginImmediate(): void {
    this.db.exec('BEGIN IMMEDIATE');
  }

  /** A read transaction: one snapshot for an inspection that writes nothing. */
  beginRead(): void {
    this.db.exec('BEGIN');
  }

  commit(): void {
    this.db.exec('COMMIT');
  }

  rollback(): void {
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
  }

  /** A savepoint inside the open write transaction: rows that may still be taken out (spec §13.8). */
  savepoint(name: string): void {
    if (!this.db.inTransaction) throw new LedgerStateError('LEDGER_CORRUPT', `${this.path}: a savepoint outside a transaction`);
    this.db.exec(`SAVEPOINT ${name}`);
  }

  /** Keep what was written since savepoint `name`, in the enclosing transaction. */
  releaseSavepoint(name: string): void {
    this.db.exec(`RELEASE ${name}`);
  }

  /** Take out everything written since savepoint `name`, and end it. */
  rollbackToSavepoint(name: string): void {
    this.db.exec(`ROLLBACK TO ${name}`);
    this.db.exec(`RELEASE ${name}`);
  }

  /** A bulkFile after its load: the WAL mode and settings every ledger.db has (spec §8.1). */
  switchToWal(): void {
    const mode = this.db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new LedgerStateError('LEDGER_CORRUPT', `${this.path}: could not switch to WAL (journal mode ${String(mode)})`);
    this.db.pragma('synchronous = NORMAL');
  }

  /** As on process death: an open transaction is rolled back, nothing else is done. */
  closeNow(): void {
    this.db.close();
  }

  async close(): Promise<void> {
    // Kysely closes the database only if it ever ran a query; the hot path never does.
    await this.kysely.destroy();
    if (this.db.open) this.db.close();
  }
}

/**
 * Switching a new ledger.db to WAL needs the write lock, and SQLite answers SQLITE_BUSY at once
 * (no busy handler: it holds a read lock) while another writer is creating the same file. That is
 * contention, not corruption: retry until the lock comes, then LOCK_TIMEOUT.
 */
async function untilUnlocked(step: () => unknown, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      step();
      return;
    } catch (e) {
      if ((e as { code?: string }).code !== 'SQLITE_BUSY') throw e;
      if (Date.now() >= deadline) {
        throw new ConflictError('LOCK_TIMEOUT', `another writer held ledger.db's lock for more than ${timeoutMs} ms`, { cause: e });
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
