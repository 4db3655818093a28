/**
 * An INSERT of many rows per statement on the append path (ADR 0044): a flush's rows and a staged
 * chunk's rows go in as one statement of up to MAX_GROUP rows instead of one per row, which saves
 * better-sqlite3's call into SQLite, its statement reset and a result object per row (as ADR
 * 0040 found for the bulk load). Statements are prepared per row count on first use.
 *
 * A statement is atomic: when SQLite refuses a row, no row of its group is in. The append path
 * then fails the whole flush anyway (its transaction is rolled back), so the refusal needs no
 * row-by-row retry here, unlike RowBatch's.
 */
import type Database from 'better-sqlite3';

export const MAX_GROUP = 64;

export class GroupedInsert {
  readonly #stmts = new Map<number, Database.Statement>();

  /** `head` is the statement up to VALUES ("INSERT INTO t (a, b) VALUES "), `columns` its column count. */
  constructor(
    private readonly db: Database.Database,
    private readonly head: string,
    private readonly columns: number,
  ) {}

  /** Insert the rows whose values `args` holds, `columns` per row, in order. */
  run(args: readonly unknown[]): void {
    const rows = args.length / this.columns;
    for (let at = 0; at < rows; at += MAX_GROUP) {
      const n = Math.min(MAX_GROUP, rows - at);
      const part = at === 0 && n === rows ? args : args.slice(at * this.columns, (at + n) * this.columns);
      this.#statement(n).run(part);
    }
  }

  #statement(rows: number): Database.Statement {
    let s = this.#stmts.get(rows);
    if (s === undefined) {
      const one = `(${Array<string>(this.columns).fill('?').join(', ')})`;
      s = this.db.prepare(this.head + Array<string>(rows).fill(one).join(', '));
      this.#stmts.set(rows, s);
    }
    return s;
  }
}
