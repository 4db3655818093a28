/**
 * The Merkle tree as part of the projection (spec §11.2): every completed perfect-subtree node of
 * level >= 1 is a row of merkle_nodes, written in the same transaction as the events that
 * complete it; level 0 is events.hash. Proofs and the frontier need O(log n) node reads.
 */
import type Database from 'better-sqlite3';
import { LedgerStateError } from '../errors.js';
import { CompactRange, compactRangeIds } from '../merkle/compact-range.js';
import { GroupedInsert } from './grouped-insert.js';
import type { NodeId, TreeNode } from '../merkle/node-id.js';
import type { NodeReader } from '../merkle/proofs.js';

export class TreeStore {
  private readonly insertNode;
  readonly #insertNodes: GroupedInsert;
  private readonly getNode;
  private readonly getLeaf;

  constructor(private readonly db: Database.Database) {
    this.insertNode = db.prepare('INSERT OR REPLACE INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)');
    this.#insertNodes = new GroupedInsert(db, 'INSERT OR REPLACE INTO merkle_nodes (level, idx, hash) VALUES ', 3);
    this.getNode = db.prepare<[number, number], { hash: Buffer }>('SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?');
    this.getLeaf = db.prepare<[number], { hash: string }>('SELECT hash FROM events WHERE seq = ?');
  }

  /** Persist interior nodes completed by an append. */
  put(nodes: readonly TreeNode[]): void {
    for (const n of nodes) this.insertNode.run(n.level, n.index, n.hash);
  }

  /** put() for the nodes of many appends, many per statement (ADR 0044). */
  putAll(nodes: readonly TreeNode[]): void {
    const args: unknown[] = [];
    for (const n of nodes) args.push(n.level, n.index, n.hash);
    this.#insertNodes.run(args);
  }

  /** Node hash at (level, index); throws LEDGER_CORRUPT when the projection lacks it. */
  node(level: number, index: number): Buffer {
    if (level === 0) {
      const row = this.getLeaf.get(index);
      if (row) return Buffer.from(row.hash, 'hex');
    } else {
      const row = this.getNode.get(level, index);
      if (row) return row.hash;
    }
    throw new LedgerStateError('LEDGER_CORRUPT', `Merkle node (${level}, ${index}) is missing from ledger.db; run replay --rebuild`, {
      details: { level, index },
    });
  }

  reader(): NodeReader {
    return { node: (level, index) => this.node(level, index) };
  }

  /** The frontier of a tree of `size` leaves, read from the store (popcount(size) reads). */
  frontier(size: number): CompactRange {
    return CompactRange.fromHashes(
      size,
      compactRangeIds(size).map((id: NodeId) => this.node(id.level, id.index)),
    );
  }
}
