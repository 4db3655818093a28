/**
 * The SQLite projection's tables as Kysely types (spec §8). Read them through `ledger.query`;
 * only the ledger writes them.
 */
import type { Generated } from 'kysely';

export interface EventsTable {
  seq: number;
  id: string;
  at: string;
  kind: string;
  actor: string | null;
  /** Lowercase hex of the event hash (= RFC 6962 leaf hash). */
  hash: string;
  /** Key id of the signature, null when unsigned. */
  kid: string | null;
  /** The canonical JSONL line without its newline, byte for byte. */
  line: string;
  /** Byte offset of the line in events.jsonl. */
  offset: number;
}

/** One row (id = 1): how far the projection mirrors events.jsonl (spec §8.2). */
export interface WatermarkTable {
  id: number;
  /** seq of the last mirrored event; -1 when empty. */
  seq: number;
  hash: string;
  /** Byte offset just past the last mirrored line. */
  offset: number;
  /** Byte offset where the last mirrored line starts. */
  line_start: number;
}

/** Written by triggers when a row of `events` is deleted or updated outside the ledger (spec §8.3). */
export interface ProjectionTamperTable {
  rowid: Generated<number>;
  seq: number;
  op: 'delete' | 'update';
  observed_at: Generated<string>;
}

/** Complete perfect-subtree hashes above the leaves, level >= 1 (spec §11.2). */
export interface MerkleNodesTable {
  level: number;
  idx: number;
  hash: Uint8Array;
}

export interface CheckpointsTable {
  size: number;
  root: string;
  note: string;
  created_at: string;
}

export interface LedgerSchema {
  events: EventsTable;
  watermark: WatermarkTable;
  projection_tamper: ProjectionTamperTable;
  merkle_nodes: MerkleNodesTable;
  checkpoints: CheckpointsTable;
}
