/**
 * Which stored nodes each proof hash is made of (spec §11.3), computed from sizes alone.
 *
 * A proof is a list of subtree hashes MTH(D[a:b]) in RFC 6962 §2.1.1/§2.1.2 order. Each entry of
 * a plan lists the perfect subtrees covering [a, b), left to right: one node when the subtree is
 * perfect, several when it is the not-yet-perfect right edge of the tree. At most one entry per
 * proof is of the second kind, so a proof needs at most about 2·log2(n) node reads.
 */
import { ProofError } from '../errors.js';
import { rangeNodes, nodeKey, type NodeId } from './node-id.js';
import { assertTreeSize, largestPowerOfTwoBelow } from './tree-math.js';

/** One proof hash: MTH of the leaves covered by these nodes (left to right). */
export type ProofPlanEntry = readonly NodeId[];
export type ProofPlan = readonly ProofPlanEntry[];

/**
 * RFC 6962 §2.1.1 PATH(m, D[n]), iteratively: siblings are found top-down and emitted bottom-up.
 * Requires 0 <= index < size.
 */
export function inclusionProofPlan(index: number, size: number): ProofPlan {
  assertTreeSize(size);
  assertTreeSize(index, 'leaf index');
  if (index >= size) {
    throw new ProofError('INVALID_TREE_SIZE', `leaf index ${index} is not below tree size ${size}`, {
      details: { index, treeSize: size },
    });
  }
  const topDown: NodeId[][] = [];
  let start = 0;
  let n = size;
  let m = index;
  while (n > 1) {
    const k = largestPowerOfTwoBelow(n);
    if (m < k) {
      topDown.push(rangeNodes(start + k, start + n));
      n = k;
    } else {
      topDown.push(rangeNodes(start, start + k));
      m -= k;
      start += k;
      n -= k;
    }
  }
  return topDown.reverse();
}

/**
 * RFC 6962 §2.1.2 PROOF(m, D[n]) = SUBPROOF(m, D[n], true), iteratively. Empty when
 * size1 == size2 or size1 == 0 (nothing to prove). Requires 0 <= size1 <= size2.
 */
export function consistencyProofPlan(size1: number, size2: number): ProofPlan {
  assertTreeSize(size1, 'first tree size');
  assertTreeSize(size2, 'second tree size');
  if (size1 > size2) {
    throw new ProofError('INVALID_TREE_SIZE', `first tree size ${size1} exceeds second tree size ${size2}`, {
      details: { fromSize: size1, toSize: size2 },
    });
  }
  if (size1 === 0 || size1 === size2) return [];
  const topDown: NodeId[][] = [];
  let start = 0;
  let n = size2;
  let m = size1;
  // `b` of SUBPROOF: true while the walk has only gone left, i.e. the node reached when m == n
  // is the whole first tree, whose root the verifier already has.
  let wholeFirstTree = true;
  while (m !== n) {
    const k = largestPowerOfTwoBelow(n);
    if (m <= k) {
      topDown.push(rangeNodes(start + k, start + n));
      n = k;
    } else {
      topDown.push(rangeNodes(start, start + k));
      m -= k;
      start += k;
      n -= k;
      wholeFirstTree = false;
    }
  }
  const plan: NodeId[][] = wholeFirstTree ? [] : [rangeNodes(start, start + n)];
  return plan.concat(topDown.reverse());
}

/** Every distinct node a plan reads, in first-use order: fetch these in one query. */
export function planNodeIds(plan: ProofPlan): NodeId[] {
  const seen = new Set<string>();
  const out: NodeId[] = [];
  for (const entry of plan) {
    for (const id of entry) {
      const key = nodeKey(id);
      if (!seen.has(key)) {
        seen.add(key);
        out.push(id);
      }
    }
  }
  return out;
}

/** The nodes an inclusion proof needs (spec §11.2). */
export function inclusionProofNodeIds(index: number, size: number): NodeId[] {
  return planNodeIds(inclusionProofPlan(index, size));
}

/** The nodes a consistency proof needs (spec §11.2). */
export function consistencyProofNodeIds(size1: number, size2: number): NodeId[] {
  return planNodeIds(consistencyProofPlan(size1, size2));
}
