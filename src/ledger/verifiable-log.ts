/**
 * The ledger as a transparency log (spec §11, §12): tree roots at any past size, inclusion and
 * consistency proofs from O(log n) stored nodes, and signed checkpoints that are checked against
 * the last one issued before they are signed.
 */
import { InvalidInputError, ProofError } from '../errors.js';
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

export interface StoredCheckpoint {
  size: number;
  root: string;
  note: string;
  createdAt: string;
}

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
export function storedCheckpoints(projection: Projection): StoredCheckpoint[] {
  return projection.db
    .prepare<[], StoredCheckpoint>('SELECT size, root, note, created_at AS createdAt FROM checkpoints ORDER BY size')
    .all();
}

/**
 * Sign a checkpoint of the current tree and store it (spec §12.4). Requires the writer lock.
 * Refuses (CHECKPOINT_INCONSISTENT) when the tree no longer extends the last checkpoint issued.
 */
/** @internal: names a SQLite type; not part of the published declarations. */
export function issueCheckpoint(
  projection: Projection,
  tree: TreeStore,
  frontier: CompactRange,
  origin: string,
  signer: NoteSigner,
  persist: (record: CheckpointRecord) => void,
): string {
  const size = frontier.size;
  const root = frontier.root();
  const last = projection.db
    .prepare<[], { size: number; root: string }>('SELECT size, root FROM checkpoints ORDER BY size DESC LIMIT 1')
    .get();
  if (last) {
    if (last.size > size) {
      throw new ProofError('CHECKPOINT_INCONSISTENT', `a checkpoint of size ${last.size} was issued, but the tree has only ${size} leaves`, {
        details: { issuedSize: last.size, treeSize: size },
      });
    }
    const then = hex(rootAt(tree, last.size));
    if (then !== last.root) {
      throw new ProofError('CHECKPOINT_INCONSISTENT', `the tree no longer extends the checkpoint issued at size ${last.size}`, {
        expected: last.root,
        actual: then,
        details: { size: last.size },
      });
    }
  }
  const note = signCheckpoint({ origin, size, rootHash: root }, [signer]);
  const record: CheckpointRecord = { size, root: hex(root), note, createdAt: new Date().toISOString() };
  persist(record);
  projection.db
    .prepare('INSERT OR REPLACE INTO checkpoints (size, root, note, created_at) VALUES (?, ?, ?, ?)')
    .run(record.size, record.root, record.note, record.createdAt);
  return note;
}
