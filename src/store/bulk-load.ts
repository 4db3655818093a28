/**
 * Bulk load of an empty ledger.db (replay from scratch, spec §14.3): the standard order for
 * filling a table in one transaction is to drop its secondary indexes, insert, and build them
 * again once, sorted, instead of updating each B-tree at a random page per row (ADR 0009).
 */
import type Database from 'better-sqlite3';
import type { TreeNode } from '../merkle/node-id.js';

/**
 * Drops every index of `events` that SQLite lets one drop (the UNIQUE autoindex on id stays: it
 * is a constraint) and returns their CREATE statements, read from the schema itself, so the
 * indexes that come back are exactly the ones the migrations made. Call inside the transaction
 * that also runs `recreate`: a crash in between rolls the drop back with the rows.
 */
export function dropSecondaryIndexes(db: Database.Database): string[] {
  const rows = db
    .prepare<[], { name: string; sql: string }>("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL")
    .all();
  for (const r of rows) db.exec(`DROP INDEX "${r.name.replaceAll('"', '""')}"`);
  return rows.map((r) => r.sql);
}

export function recreateIndexes(db: Database.Database, statements: readonly string[]): void {
  for (const s of statements) db.exec(s);
}

/**
 * Interior Merkle nodes of a bulk load, written in (level, idx) order in chunks instead of one
 * INSERT OR REPLACE per node as the tree completes them: each level's rows then go to the end of
 * that level's key range, one page after another. Memory is bounded by `chunk` nodes.
 */
export class BulkTreeWriter {
  private pending: TreeNode[] = [];
  private readonly insert;

  constructor(db: Database.Database, private readonly chunk = 65_536) {
    this.insert = db.prepare('INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)');
  }

  put(nodes: readonly TreeNode[]): void {
    for (const n of nodes) this.pending.push(n);
    if (this.pending.length >= this.chunk) this.flush();
  }

  flush(): void {
    this.pending.sort((a, b) => a.level - b.level || a.index - b.index);
    for (const n of this.pending) this.insert.run(n.level, n.index, n.hash);
    this.pending = [];
  }
}
