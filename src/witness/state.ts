/**
 * What the witness needs from a store (spec §19.4). The decision logic (add-checkpoint.ts) is
 * written against this interface only, so it runs the same over PostgreSQL, SQLite or memory;
 * the collector's kysely implementation lives in src/collector/witness-store.ts.
 */

/** A log the witness knows: a collector source and the keys its checkpoints are signed with. */
export interface WitnessLog {
  /** The collector source name. */
  readonly source: string;
  /** The checkpoint origin line; the log is identified by it (C2SP tlog-witness). */
  readonly origin: string;
  /**
   * C2SP signed-note verifier keys (`<name>+<hex id>+<base64(0x01 || key)>`) trusted for this
   * log's checkpoints. Retired keys are left out by the store.
   */
  readonly verifierKeys: readonly string[];
}

/** The latest checkpoint the witness cosigned for one log. */
export interface CosignedCheckpoint {
  readonly size: number;
  /** 32-byte RFC 6962 root. */
  readonly rootHash: Buffer;
  /**
   * The cosigned checkpoint as a signed note: the checkpoint text, a blank line, the log's
   * signature lines that verified, then the witness's cosignature lines.
   */
  readonly note: string;
  /** POSIX seconds of the cosignature (the tlog-cosignature timestamp). */
  readonly cosignedAt: number;
}

/**
 * Why a checkpoint is evidence of a fork:
 * - `root-conflict`: the log signed a checkpoint with a root other than the one cosigned at
 *   the same size;
 * - `events-mismatch`: the log signed a root that differs from the root of the events it
 *   shipped to the collector up to that size.
 */
export type WitnessForkKind = 'root-conflict' | 'events-mismatch';

export interface WitnessForkEvidence {
  readonly kind: WitnessForkKind;
  readonly size: number;
  /** The root the witness holds for `size` (cosigned, or recomputed from stored events). */
  readonly expectedRoot: Buffer;
  /** The root in the submitted, validly signed checkpoint. */
  readonly actualRoot: Buffer;
  /** The submitted checkpoint note, exactly as received (log signatures included). */
  readonly submittedNote: string;
  /** The cosigned checkpoint held when the evidence was found, if any. */
  readonly cosignedNote: string | undefined;
}

export type RecordCosignedResult =
  | { readonly ok: true }
  /** Another request changed the state first; `current` is what is stored now. */
  | { readonly ok: false; readonly current: CosignedCheckpoint | undefined };

export interface WitnessStateStore {
  /** The log whose origin line is `origin`, or undefined (answered with 404). */
  logByOrigin(origin: string): Promise<WitnessLog | undefined>;

  /** The latest cosigned checkpoint of a source, or undefined when none was cosigned. */
  latestCosigned(source: string): Promise<CosignedCheckpoint | undefined>;

  /**
   * Compare-and-swap, atomically (one transaction, the source row locked): when the stored
   * latest cosigned checkpoint has exactly `expected.size` and `expected.rootHash` (or nothing
   * is stored and `expected` is undefined), store `next` and return ok; otherwise store nothing
   * and return what is stored. The caller has already checked that `next` extends `expected`.
   */
  recordCosigned(
    source: string,
    expected: { readonly size: number; readonly rootHash: Buffer } | undefined,
    next: CosignedCheckpoint,
  ): Promise<RecordCosignedResult>;

  /** Keeps fork evidence; never overwrites earlier evidence. May store identical evidence once. */
  recordFork(source: string, evidence: WitnessForkEvidence): Promise<void>;

  /**
   * The stored event lines of a source with seq in [from, to), in seq order, each exactly as
   * stored (without "\n"); fewer when fewer are stored. Optional, and preferred over
   * rootFromEvents: the witness re-hashes only the lines after the last cosigned size
   * (src/witness/events-root.ts) instead of every line on every request.
   */
  eventLines?(source: string, from: number, to: number): AsyncIterable<{ readonly seq: number; readonly line: Uint8Array | string }>;

  /**
   * The RFC 6962 root of the source's first `size` stored events, from leaf hashes recomputed
   * from the stored line bytes, or undefined when fewer than `size` events are stored. Used
   * only when eventLines is absent; O(size) per call. A store with neither method makes the
   * witness skip the events check (spec §19.3 rule 10).
   */
  rootFromEvents?(source: string, size: number): Promise<Buffer | undefined>;
}
