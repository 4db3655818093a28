/**
 * The ledger as a transparency log (spec §11, §12): tree roots at any past size, inclusion and
 * consistency proofs from O(log n) stored nodes, and signed checkpoints that are checked against
 * the last one issued before they are signed.
 */
import { InvalidInputError, LedgerStateError, ProofError, SealedLedgerError } from '../errors.js';
import { parseCheckpoint } from '../merkle/checkpoint.js';
import { parseNote } from '../merkle/signed-note.js';
import { verifierKeyString } from '../merkle/verifier-key.js';
import type { JsonlFile } from '../store/jsonl-file.js';
import { deriveTreeFromJsonl, type IssuedCheckpoint } from './signed-root.js';
import { CompactRange, compactRangeIds } from '../merkle/compact-range.js';
import { consistencyProof, inclusionProof } from '../merkle/proofs.js';
import { signCheckpoint } from '../merkle/signed-checkpoint.js';
import type { NoteSigner } from '../merkle/signed-note.js';
import type { Projection } from '../store/projection.js';
import type { TreeStore } from '../store/tree-store.js';
import type { CheckpointRecord } from './checkpoint-log.js';

export interface InclusionProofJson {
  index: number;
  treeSize: number;
  leafHash: string;
  rootHash: string;
  proof: string[];
}

export interface ConsistencyProofJson {
  fromSize: number;
  toSize: number;
  fromRoot: string;
  toRoot: string;
  proof: string[];
}

export type { StoredCheckpoint } from '../store/stored-checkpoint.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function checkSize(size: number, current: number, what: string): void {
  if (!Number.isSafeInteger(size) || size < 0 || size > current) {
    throw new InvalidInputError('INVALID_ARGUMENT', `${what} must be an integer in 0..${current} (the current tree size)`, {
      details: { [what]: size, treeSize: current },
    });
  }
}

/** MTH of the first `size` leaves, from popcount(size) stored nodes. Requires size <= tree size. */
/** @internal: names a SQLite type; not part of the published declarations. */
export function rootAt(tree: TreeStore, size: number): Buffer {
  return CompactRange.fromHashes(size, compactRangeIds(size).map((id) => tree.node(id.level, id.index))).root();
}

/** @internal: names a SQLite type; not part of the published declarations. */
export function proveInclusion(tree: TreeStore, current: number, seq: number, treeSize = current): InclusionProofJson {
  checkSize(treeSize, current, 'treeSize');
  if (!Number.isSafeInteger(seq) || seq < 0 || seq >= treeSize) {
    throw new InvalidInputError('INVALID_ARGUMENT', `seq must be in 0..${treeSize - 1} for a tree of size ${treeSize}`, {
      details: { seq, treeSize },
    });
  }
  const reader = tree.reader();
  return {
    index: seq,
    treeSize,
    leafHash: hex(reader.node(0, seq)),
    rootHash: hex(rootAt(tree, treeSize)),
    proof: inclusionProof(reader, seq, treeSize).map(hex),
  };
}

/** @internal: names a SQLite type; not part of the published declarations. */
export function proveConsistency(tree: TreeStore, current: number, fromSize: number, toSize = current): ConsistencyProofJson {
  checkSize(toSize, current, 'toSize');
  checkSize(fromSize, toSize, 'fromSize');
  return {
    fromSize,
    toSize,
    fromRoot: hex(rootAt(tree, fromSize)),
    toRoot: hex(rootAt(tree, toSize)),
    proof: consistencyProof(tree.reader(), fromSize, toSize).map(hex),
  };
}

/** @internal: names a SQLite type; not part of the published declarations. */
export interface IssueInput {
  projection: Projection;
  jsonl: JsonlFile;
  /** The in-memory tree state, restored from merkle_nodes at open and extended by appends. */
  frontier: CompactRange;
  /** End of the head's line in events.jsonl. */
  end: number;
  origin: string;
  signer: NoteSigner;
  /** Records of checkpoints.jsonl, newest first. */
  recordsNewestFirst: Iterable<CheckpointRecord>;
  persist: (record: CheckpointRecord) => void;
}

/**
 * Sign a checkpoint of the current tree and store it (spec §12.4, §12.6). Requires the writer
 * lock. The signed root is derived from events.jsonl's bytes (signed-root.ts), never from
 * ledger.db; when ledger.db's tree disagrees with it, nothing is signed (LEDGER_CORRUPT), and
 * nothing is signed that does not extend every checkpoint issued before (CHECKPOINT_INCONSISTENT).
 */
/** @internal: names a SQLite type; not part of the published declarations. */
export function issueCheckpoint(t: IssueInput): string {
  const size = t.frontier.size;
  const derived = deriveTreeFromJsonl({
    jsonl: t.jsonl,
    size,
    end: t.end,
    origin: t.origin,
    anchorKeys: [verifierKeyString(t.signer.name, t.signer.publicKey)],
    recordsNewestFirst: t.recordsNewestFirst,
    issuedAbove: (above) => issuedAbove(t.projection, above),
  });
  const root = derived.range.root();
  const projected = t.frontier.root();
  if (!root.equals(projected)) {
    throw new LedgerStateError(
      'LEDGER_CORRUPT',
      `ledger.db's Merkle tree (merkle_nodes) disagrees with events.jsonl at size ${size}; nothing signed. ` +
        'Run sealed-ledger verify to locate the node, then sealed-ledger replay --rebuild',
      { details: { treeSize: size, expected: hex(root), actual: hex(projected) } },
    );
  }
  const note = signCheckpoint({ origin: t.origin, size, rootHash: root }, [t.signer]);
  const record: CheckpointRecord = {
    size,
    root: hex(root),
    note,
    createdAt: new Date().toISOString(),
    range: derived.range.nodes().map((n) => hex(n.hash)),
    offset: derived.offset,
  };
  t.persist(record);
  t.projection.putCheckpoint(record);
  return note;
}

/** The checkpoints table's rows of `size` or larger, by the root column and by the note's own root. */
function issuedAbove(projection: Projection, size: number): IssuedCheckpoint[] {
  const out: IssuedCheckpoint[] = [];
  const rows = projection.checkpointsFrom(size);
  for (const r of rows) {
    out.push({ size: r.size, root: r.root, source: 'the checkpoints table of ledger.db' });
    try {
      const body = parseCheckpoint(parseNote(r.note).text);
      out.push({ size: body.size, root: hex(body.rootHash), source: 'the checkpoints table of ledger.db, its note' });
    } catch (e) {
      if (!(e instanceof SealedLedgerError)) throw e;
    }
  }
  return out;
}
