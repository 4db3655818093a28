/**
 * Proof generation from stored perfect-subtree nodes (spec §11.3). Output is byte-for-byte the
 * RFC 6962 §2.1.1 PATH and §2.1.2 PROOF, so RFC 9162 / transparency-dev verifiers accept it.
 */
import { InvalidInputError } from '../errors.js';
import { nodeKey, type NodeId, type TreeNode } from './node-id.js';
import { consistencyProofPlan, inclusionProofPlan, type ProofPlan } from './proof-plan.js';
import { HASH_SIZE, foldSubtreeRoots } from './root.js';

/**
 * Source of perfect-subtree hashes. `node(level, index)` returns the hash of the complete subtree
 * over leaves [index·2^level, (index+1)·2^level); level 0 is the leaf hash. Proof functions only
 * ask for nodes that are complete within the requested tree size. A reader throws if it lacks one.
 */
export interface NodeReader {
  node(level: number, index: number): Uint8Array;
}

/** A NodeReader over nodes fetched in advance (e.g. one query for `inclusionProofNodeIds`). */
export function nodeReaderFromList(nodes: Iterable<TreeNode>): NodeReader {
  const byKey = new Map<string, Buffer>();
  for (const n of nodes) byKey.set(nodeKey(n), n.hash);
  return {
    node(level: number, index: number): Uint8Array {
      const hash = byKey.get(nodeKey({ level, index }));
      if (hash === undefined) {
        throw new InvalidInputError('INVALID_ARGUMENT', `node (${level}, ${index}) was not supplied`, {
          details: { level, index },
        });
      }
      return hash;
    },
  };
}

function readNode(reader: NodeReader, id: NodeId): Uint8Array {
  const hash = reader.node(id.level, id.index);
  if (!(hash instanceof Uint8Array) || hash.length !== HASH_SIZE) {
    throw new InvalidInputError('INVALID_ARGUMENT', `node source returned a malformed hash for (${id.level}, ${id.index})`, {
      details: { level: id.level, index: id.index },
    });
  }
  return hash;
}

/** Turns a plan into proof hashes, hashing the (at most one) multi-node entry on the way. */
export function proofFromPlan(reader: NodeReader, plan: ProofPlan): Buffer[] {
  return plan.map((entry) => foldSubtreeRoots(entry.map((id) => readNode(reader, id))));
}

/** Audit path for leaf `index` in the tree of `treeSize` leaves; requires index < treeSize. */
export function inclusionProof(reader: NodeReader, index: number, treeSize: number): Buffer[] {
  return proofFromPlan(reader, inclusionProofPlan(index, treeSize));
}

/** Consistency proof from size1 to size2; empty when size1 is 0 or equals size2. */
export function consistencyProof(reader: NodeReader, size1: number, size2: number): Buffer[] {
  return proofFromPlan(reader, consistencyProofPlan(size1, size2));
}
