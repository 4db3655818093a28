/**
 * I7 in verifyLedger (spec §10, §14.6): every merkle_nodes row must be the node the tree of
 * events.jsonl's leaves gives. verify recomputes that tree anyway; as each append completes
 * interior nodes, they are compared with the stored rows of the same (level, idx), and the rows
 * are counted, so a poisoned, missing or extra node is reported. Proofs are served from these
 * rows (spec §11.3); a poisoned one makes a proof fail at the client, and this is where the
 * operator learns which node it was. Reads one snapshot of ledger.db through its own connection.
 */
import fs from 'node:fs';
import { ProjectionReader, type StoredTreeReads } from '../store/projection-reader.js';
import type { TreeNode } from '../merkle/node-id.js';
import type { VerifyProblem } from './verify-line.js';

const CODE = 'MERKLE_NODE_MISMATCH';

/** Rows read per statement: one statement per window instead of one per leaf and per node. */
const WINDOW = 1024;

/** A window of stored values at consecutive indexes, read ahead as the walk reaches it. */
interface Window<T> {
  from: number;
  values: (T | undefined)[];
}

export class StoredTreeCheck {
  #stopped = false;
  #checked = 0;
  #leaves: Window<string> = { from: 0, values: [] };
  /** By level: the walk asks for each level's nodes in increasing idx. */
  #nodes: Window<Buffer>[] = [];

  private constructor(
    private readonly db: ProjectionReader,
    private readonly tree: StoredTreeReads,
    /** Leaves the projection mirrors in this snapshot: nodes over later leaves are not stored yet. */
    readonly size: number,
    private readonly report: (p: VerifyProblem) => void,
  ) {}

  /** undefined when there is no readable projection (parity reports that). */
  static open(sqlitePath: string, report: (p: VerifyProblem) => void): StoredTreeCheck | undefined {
    if (!fs.existsSync(sqlitePath)) return undefined;
    let db: ProjectionReader | undefined;
    try {
      db = ProjectionReader.open(sqlitePath);
      db.beginSnapshot();
      const wm = db.watermark();
      return new StoredTreeCheck(db, db.treeReads(), (wm?.seq ?? -1) + 1, report);
    } catch {
      db?.close();
      return undefined; // not a ledger.db this version reads: parity reports it
    }
  }

  /** The recomputed tree no longer follows the file's leaves (a line was dropped or out of order). */
  stop(): void {
    this.#stopped = true;
  }

  /**
   * Nodes completed by appending leaf `leaf` (0-based, hash `leafHash` hex) to the recomputed
   * tree. Where ledger.db's row for the leaf is missing or differs, parity reports it and every
   * node above it differs as a consequence: the node check ends there, so one edited line is one
   * finding, not one per tree level.
   */
  completed(leaf: number, leafHash: string, nodes: readonly TreeNode[]): void {
    if (this.#stopped) return;
    if (leaf >= this.size || this.#leafHash(leaf) !== leafHash) {
      this.#stopped = true;
      return;
    }
    for (const n of nodes) {
      const row = this.#node(n.level, n.index);
      this.#checked++;
      if (!row) {
        this.report({ code: CODE, message: `ledger.db lacks Merkle node (${n.level}, ${n.index}) over seq ${leaf + 1 - 2 ** n.level}..${leaf}` });
      } else if (!Buffer.from(row).equals(n.hash)) {
        this.report({
          code: CODE,
          message: `Merkle node (${n.level}, ${n.index}) over seq ${leaf + 1 - 2 ** n.level}..${leaf} in ledger.db is not the hash of events.jsonl's leaves; proofs through it fail`,
        });
      }
    }
  }

  #leafHash(seq: number): string | undefined {
    const w = this.#leaves;
    if (seq < w.from || seq >= w.from + w.values.length) {
      // Never past the snapshot's leaves: callers stop at this.size.
      const to = Math.min(seq + WINDOW, this.size);
      this.#leaves = { from: seq, values: this.tree.leafHashes(seq, to) };
    }
    return this.#leaves.values[seq - this.#leaves.from];
  }

  #node(level: number, index: number): Buffer | undefined {
    let w = this.#nodes[level];
    if (w === undefined || index < w.from || index >= w.from + w.values.length) {
      // Nodes of this level over the snapshot's leaves; later ones cannot be complete yet.
      const to = Math.max(index + 1, Math.min(index + WINDOW, Math.floor(this.size / 2 ** level)));
      w = this.#nodes[level] = { from: index, values: this.tree.nodes(level, index, to) };
    }
    return w.values[index - w.from];
  }

  /** With both stores' leaves equal, rows beyond the nodes of their tree are extra. */
  finish(treeSize: number): void {
    try {
      if (this.#stopped || treeSize !== this.size) return;
      const w = this.size;
      const n = this.tree.nodeCount();
      const expected = w - popcount(w);
      if (n > expected) {
        this.report({ code: CODE, message: `ledger.db holds ${n} Merkle nodes, the tree of its ${w} events has ${expected}: ${n - expected} rows are not nodes of this tree` });
      }
    } finally {
      this.close();
    }
  }

  close(): void {
    this.db.close();
  }

  get checked(): number {
    return this.#checked;
  }
}

function popcount(n: number): number {
  let c = 0;
  for (let x = n; x > 0; x = Math.floor(x / 2)) c += x % 2;
  return c;
}
