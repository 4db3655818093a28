/**
 * A bulk load's events rows, inserted 64 per statement (spec §14.3.1, ADR 0040). A bulk replay's
 * writing thread is its bound, and a one-row INSERT pays, per row, better-sqlite3's call into
 * SQLite, its statement reset and a result object: one 64-row statement saves about 1 µs of CPU
 * per row at 1M rows (the row INSERT is most of that thread's work).
 *
 * A statement is atomic: when a row of a group is refused (its seq or id is already there), no
 * row of the group was inserted. The group then goes again one row at a time, so that every row
 * before the refused one is inserted and the refusal names its row, as one-row inserts would.
 */
import type Database from 'better-sqlite3';
import type { EventsTable } from './schema.js';
import { isKeyConflict } from './key-conflict.js';

export const ROWS_PER_STATEMENT = 64;
const COLUMNS = 9;
const INSERT = 'INSERT INTO events (seq, id, at, kind, actor, hash, kid, line, offset) VALUES ';

/** A row refused for a key the table already holds (`cause`, SQLite's error), after the rows before it. */
export class RowRefusedError extends Error {
  constructor(readonly row: EventsTable, override readonly cause: unknown) {
    super(`events row seq ${row.seq} refused: ${(cause as Error).message}`);
    this.name = 'RowRefusedError';
  }
}

export class RowBatch {
  readonly #rows: EventsTable[] = [];
  readonly #args: unknown[] = new Array<unknown>(ROWS_PER_STATEMENT * COLUMNS);
  readonly #many: Database.Statement;
  readonly #one: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.#many = db.prepare(INSERT + Array<string>(ROWS_PER_STATEMENT).fill('(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', '));
    this.#one = db.prepare(`${INSERT}(?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  }

  /** Rows added and not yet inserted (at most ROWS_PER_STATEMENT - 1 after add returns). */
  get pending(): number {
    return this.#rows.length;
  }

  add(row: EventsTable): void {
    this.#rows.push(row);
    if (this.#rows.length === ROWS_PER_STATEMENT) this.flush();
  }

  /**
   * Inserts every pending row, in order. Throws RowRefusedError for the first row the table
   * refuses for a key it holds, every row before it inserted and none after it (they are
   * dropped); any other error as SQLite threw it. Either way nothing stays pending.
   */
  flush(): void {
    const rows = this.#rows;
    if (rows.length === 0) return;
    try {
      if (!this.db.inTransaction) throw new Error('RowBatch: rows are inserted inside a transaction only');
      if (rows.length === ROWS_PER_STATEMENT) {
        const a = this.#args;
        for (let i = 0, o = 0; i < rows.length; i++) {
          const r = rows[i]!;
          a[o++] = r.seq; a[o++] = r.id; a[o++] = r.at; a[o++] = r.kind; a[o++] = r.actor;
          a[o++] = r.hash; a[o++] = r.kid; a[o++] = r.line; a[o++] = r.offset;
        }
        try {
          this.#many.run(a);
          return;
        } catch (e) {
          // Anything but a refused row may have ended the transaction: never retried outside it.
          if (!isKeyConflict(e) || !this.db.inTransaction) throw e;
        }
      }
      for (const r of rows) {
        try {
          this.#one.run(r.seq, r.id, r.at, r.kind, r.actor, r.hash, r.kid, r.line, r.offset);
        } catch (e) {
          if (isKeyConflict(e)) throw new RowRefusedError(r, e);
          throw e;
        }
      }
    } finally {
      rows.length = 0;
    }
  }
}
