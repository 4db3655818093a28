/**
 * The collector's tables as kysely sees them (spec §18.6). One shape for PostgreSQL and SQLite:
 * integers are JavaScript numbers on both (the pg pool parses int8), booleans are 0/1, times are
 * RFC 3339 UTC text, and an event line is stored as the exact bytes the host wrote.
 */
import type { Generated } from 'kysely';

export interface SourcesTable {
  name: string;
  /** SHA-256 (hex) of the bearer token; the token itself is printed once and never stored. */
  token_hash: string;
  /** SHA-256 (hex) of the source's read token (reads and streams only), if one was issued. */
  read_token_hash: string | null;
  require_signatures: number;
  /** The origin line of the source's checkpoints, which is how the witness finds the log. */
  checkpoint_origin: string | null;
  created_at: string;
}

/** One row per source: its chain head. The row every ingest locks (spec §18.3). */
export interface HeadsTable {
  source: string;
  /** -1 for an empty chain. */
  seq: number;
  hash: string;
  at: string | null;
  updated_at: string;
  /** Bumped by every change of the source's token or keys (spec §18.3.7). */
  credentials_version: Generated<number>;
}

export interface SourceKeysTable {
  source: string;
  kid: string;
  name: string;
  /** base64 of the 32-byte Ed25519 public key. */
  public_key: string;
  valid_from: string | null;
  valid_until: string | null;
  valid_from_seq: number | null;
  retired_at_seq: number | null;
  added_at: string;
}

export interface EventsTable {
  /** The ingest sequence: a fleet-wide order of arrival for a later feed. */
  ingest: Generated<number>;
  source: string;
  seq: number;
  id: string;
  hash: string;
  at: string;
  line: Buffer;
  received_at: string;
}

/** Evidence of a fork: both lines (or both checkpoint notes). Rows are only ever inserted. */
export interface ForksTable {
  id: Generated<number>;
  source: string;
  /** 'event': two lines at one seq; 'checkpoint': two checkpoints the witness cannot both cosign. */
  kind: string;
  /** The seq (event) or tree size (checkpoint) at which the two disagree. */
  seq: number;
  stored: Buffer;
  offered: Buffer;
  reason: string;
  detected_at: string;
}

/** C2SP verifier keys trusted for a source's checkpoints; retiring keeps the row. */
export interface CheckpointKeysTable {
  source: string;
  verifier_key: string;
  added_at: string;
  retired_at: string | null;
}

/** The latest checkpoint the witness cosigned per source (src/witness/state.ts). */
export interface WitnessStateTable {
  source: string;
  size: number;
  /** hex of the 32-byte root hash. */
  root: string;
  /** The cosigned note: checkpoint, log signatures, witness cosignatures. */
  note: string;
  /** POSIX seconds of the cosignature. */
  cosigned_at: number;
  updated_at: string;
}

/**
 * Every checkpoint the witness cosigned, per source, in order (spec §18.9.1): append-only (rows
 * are never changed or deleted, triggers refuse it) and hash-chained; the state row must equal
 * the last record.
 */
export interface WitnessLogTable {
  id: Generated<number>;
  source: string;
  size: number;
  /** hex of the 32-byte root hash. */
  root: string;
  note: string;
  cosigned_at: number;
  /** hex SHA-256 of the previous record of this source (64 zeros for the first). */
  prev: string;
  /** hex SHA-256 of this record (src/collector/witness-log.ts). */
  hash: string;
  recorded_at: string;
}

export interface CollectorSchema {
  sources: SourcesTable;
  heads: HeadsTable;
  source_keys: SourceKeysTable;
  events: EventsTable;
  forks: ForksTable;
  checkpoint_keys: CheckpointKeysTable;
  witness_state: WitnessStateTable;
  witness_log: WitnessLogTable;
}
