/**
 * ledger.db read through a connection of its own, never the writer's (spec §8, §14.4, §14.6):
 * the offline auditor, rebuild, export and the shipper's sidecar read the projection as an
 * untrusted file and each decides what an unreadable one means. Every query they make is named
 * here, so this folder stays the only code that speaks SQL to ledger.db.
 */
import Database from 'better-sqlite3';
import type { NodeReader } from '../merkle/proofs.js';
import { openReadOnlyDatabase } from './readonly-db.js';
import type { EventsTable } from './schema.js';
import { TreeStore } from './tree-store.js';

export interface ReaderOptions {
  /**
   * Read a WAL database even in a folder this process may not write (a read-only mount, a copy
   * kept as evidence) by reading a private copy; without it such a folder fails to open.
   */
  copyIfFolderReadOnly?: boolean;
}

/** A checkpoints row as ledger.db stores it (spec §12.5). */
export interface CheckpointRow {
  size: number;
  root: string;
  note: string;
  created_at: string;
}

/**
 * The stored tree of one snapshot: leaves from events.hash, nodes from merkle_nodes (spec §11.2).
 * Reads come by ranges: a walk over every leaf pays one statement per range, not one per row.
 */
export interface StoredTreeReads {
  /** Hashes of merkle_nodes rows at `level` with idx in [from, to), by idx - from; a hole where a row is missing. */
  nodes(level: number, from: number, to: number): (Buffer | undefined)[];
  /** events.hash (hex) of seqs [from, to), by seq - from; a hole where a row is missing. */
  leafHashes(from: number, to: number): (string | undefined)[];
  /** Rows of merkle_nodes. */
  nodeCount(): number;
}

export class ProjectionReader {
  private constructor(private readonly db: Database.Database) {}

  /** Throws what SQLite throws: each caller maps an unreadable ledger.db to its own finding. */
  static open(file: string, options: ReaderOptions = {}): ProjectionReader {
    return new ProjectionReader(options.copyIfFolderReadOnly ? openReadOnlyDatabase(file) : new Database(file, { readonly: true, fileMustExist: true }));
  }

  /** How long a read waits for a writer's checkpoint of the WAL. */
  busyTimeout(ms: number): void {
    this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(ms))}`);
  }

  /** Start one read transaction: every read until endSnapshot() sees the same state. */
  beginSnapshot(): void {
    this.db.exec('BEGIN');
  }

  endSnapshot(): void {
    if (this.db.open && this.db.inTransaction) this.db.exec('COMMIT');
  }

  /** Fails when the watermark or events table is gone: such a file is no ledger.db. */
  assertLedgerTables(): void {
    this.db.prepare('SELECT seq FROM watermark WHERE id = 1').get();
    this.db.prepare('SELECT seq FROM events LIMIT 0').all();
  }

  /** The watermark's seq and offset (spec §8.2); undefined when the row is missing. */
  watermark(): { seq: number; offset: number } | undefined {
    return this.db.prepare<[], { seq: number; offset: number }>('SELECT seq, offset FROM watermark WHERE id = 1').get();
  }

  /** max(seq) of the events table, -1 when empty. */
  maxSeq(): number {
    return this.db.prepare<[], { m: number | null }>('SELECT max(seq) AS m FROM events').get()?.m ?? -1;
  }

  /** The offset column of `seq`'s row: a hint only, since ledger.db is not trusted. */
  offsetOf(seq: number): number | undefined {
    return this.db.prepare<[number], { offset: number }>('SELECT offset FROM events WHERE seq = ?').get(seq)?.offset;
  }

  /** Every events row in seq order, streamed (bounded memory). */
  rows(): IterableIterator<EventsTable> {
    return this.db.prepare<[], EventsTable>('SELECT seq, id, at, kind, actor, hash, kid, line, offset FROM events ORDER BY seq').iterate();
  }

  /** Distinct projection_tamper records (spec §8.3), the first `limit` by seq. */
  tamperRecords(limit: number): { seq: number; op: string }[] {
    return this.db.prepare<[number], { seq: number; op: string }>('SELECT DISTINCT seq, op FROM projection_tamper ORDER BY seq, op LIMIT ?').all(limit);
  }

  tamperRecordCount(): number {
    return this.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM (SELECT DISTINCT seq, op FROM projection_tamper)').get()!.n;
  }

  /** Counts the seqs in from..to whose deletion a tamper trigger recorded. */
  deletesRecorded(): (from: number, to: number) => number {
    const stmt = this.db.prepare<[number, number], { n: number }>("SELECT count(DISTINCT seq) AS n FROM projection_tamper WHERE op = 'delete' AND seq BETWEEN ? AND ?");
    return (from, to) => stmt.get(from, to)!.n;
  }

  triggerNames(): Set<string> {
    return new Set(this.db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'trigger'").all().map((r) => r.name));
  }

  /** Prepared at once, so that a missing table fails here rather than mid-walk. */
  treeReads(): StoredTreeReads {
    const nodes = this.db.prepare<[number, number, number], [number, Buffer]>('SELECT idx, hash FROM merkle_nodes WHERE level = ? AND idx >= ? AND idx < ?').raw();
    const leaves = this.db.prepare<[number, number], [number, string]>('SELECT seq, hash FROM events WHERE seq >= ? AND seq < ?').raw();
    const byKey = <T>(rows: [number, T][], from: number, to: number): (T | undefined)[] => {
      const out = new Array<T | undefined>(to - from);
      for (const [k, v] of rows) out[k - from] = v;
      return out;
    };
    return {
      nodes: (level, from, to) => byKey(nodes.all(level, from, to), from, to),
      leafHashes: (from, to) => byKey(leaves.all(from, to), from, to),
      nodeCount: () => this.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM merkle_nodes').get()!.n,
    };
  }

  /** Proof reads as a client would be served them (spec §11.3); LEDGER_CORRUPT for a missing node. */
  nodeReader(): NodeReader {
    return new TreeStore(this.db).reader();
  }

  /** The checkpoints table, by size. */
  checkpoints(): CheckpointRow[] {
    return this.db.prepare<[], CheckpointRow>('SELECT size, root, note, created_at FROM checkpoints ORDER BY size').all();
  }

  close(): void {
    if (!this.db.open) return;
    this.endSnapshot();
    this.db.close();
  }
}
