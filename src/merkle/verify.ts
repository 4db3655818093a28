/**
 * Proof verification, following RFC 9162 §2.1.3.2 and §2.1.4.2 step by step (spec §11.3).
 * The sizes = 0 and size1 = size2 cases follow transparency-dev/merkle's proof.VerifyConsistency.
 *
 * Error codes: INVALID_TREE_SIZE for sizes and indices out of range (the same code as proof-plan.ts
 * gives for the same condition), INVALID_PROOF for a proof of the
 * wrong shape, ROOT_MISMATCH (with expected and actual hex roots) when the hashes do not add up.
 */
import { nodeHash } from '../crypto/domain.js';
import { ProofError } from '../errors.js';
import { HASH_SIZE } from './root.js';
import {
  assertTreeSize,
  consistencyProofLength,
  inclusionProofLength,
  isPowerOfTwo,
  lsb,
  shiftRight,
} from './tree-math.js';

function invalidProof(message: string, details: Record<string, unknown> = {}): ProofError {
  return new ProofError('INVALID_PROOF', message, { details });
}

function checkHash(hash: Uint8Array, field: string): void {
  if (!(hash instanceof Uint8Array) || hash.length !== HASH_SIZE) {
    throw invalidProof(`${field} must be ${HASH_SIZE} bytes`, { field });
  }
}

function checkProofHashes(proof: readonly Uint8Array[]): void {
  if (!Array.isArray(proof)) throw invalidProof('proof must be an array of hashes');
  proof.forEach((h, i) => checkHash(h, `proof[${i}]`));
}

function assertRootsEqual(computed: Uint8Array, trusted: Uint8Array, field: string): void {
  if (!Buffer.from(computed).equals(trusted)) {
    throw new ProofError('ROOT_MISMATCH', `${field} does not match the proof`, {
      expected: Buffer.from(trusted).toString('hex'),
      actual: Buffer.from(computed).toString('hex'),
      details: { field },
    });
  }
}

/**
 * The root implied by an inclusion proof (RFC 9162 §2.1.3.2 steps 1-5, without the final
 * comparison). Requires 0 <= index < treeSize and exactly the RFC 6962 PATH length.
 */
export function rootFromInclusionProof(
  leafHash: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
): Buffer {
  assertTreeSize(treeSize);
  assertTreeSize(index, 'leaf index');
  checkHash(leafHash, 'leafHash');
  checkProofHashes(proof);
  if (index >= treeSize) {
    throw new ProofError('INVALID_TREE_SIZE', `leaf index ${index} is not below tree size ${treeSize}`, { details: { index, treeSize } });
  }
  const expected = inclusionProofLength(index, treeSize);
  if (proof.length !== expected) {
    throw invalidProof(`inclusion proof has ${proof.length} hashes, expected ${expected}`, {
      index,
      treeSize,
      expectedLength: expected,
      actualLength: proof.length,
    });
  }
  let fn = index;
  let sn = treeSize - 1;
  let r: Buffer = Buffer.from(leafHash);
  for (const p of proof) {
    if (sn === 0) throw invalidProof('inclusion proof is longer than the path');
    if (lsb(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!lsb(fn)) {
        while (!lsb(fn) && fn !== 0) {
          fn = shiftRight(fn);
          sn = shiftRight(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = shiftRight(fn);
    sn = shiftRight(sn);
  }
  if (sn !== 0) throw invalidProof('inclusion proof is shorter than the path');
  return r;
}

/** Throws unless `proof` shows leaf `leafHash` at `index` in the tree of `treeSize` with `rootHash`. */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  rootHash: Uint8Array,
): void {
  checkHash(rootHash, 'rootHash');
  assertRootsEqual(rootFromInclusionProof(leafHash, index, treeSize, proof), rootHash, 'rootHash');
}

/** Runs RFC 9162 §2.1.4.2 for 0 < size1 < size2; returns the two computed roots. */
function chainConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
): { first: Buffer; second: Buffer } {
  if (proof.length === 0) throw invalidProof('consistency proof is empty', { fromSize: size1, toSize: size2 });
  const expected = consistencyProofLength(size1, size2);
  if (proof.length !== expected) {
    throw invalidProof(`consistency proof has ${proof.length} hashes, expected ${expected}`, {
      fromSize: size1,
      toSize: size2,
      expectedLength: expected,
      actualLength: proof.length,
    });
  }
  // Step 2: a power-of-two first tree is itself a node of the second; its root is implied.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : [...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (lsb(fn)) {
    fn = shiftRight(fn);
    sn = shiftRight(sn);
  }
  let fr: Buffer = Buffer.from(path[0]!);
  let sr: Buffer = Buffer.from(path[0]!);
  for (const c of path.slice(1)) {
    if (sn === 0) throw invalidProof('consistency proof is longer than the path');
    if (lsb(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!lsb(fn)) {
        while (!lsb(fn) && fn !== 0) {
          fn = shiftRight(fn);
          sn = shiftRight(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = shiftRight(fn);
    sn = shiftRight(sn);
  }
  if (sn !== 0) throw invalidProof('consistency proof is shorter than the path');
  return { first: fr, second: sr };
}

function checkConsistencyInputs(size1: number, size2: number, proof: readonly Uint8Array[], root1: Uint8Array): void {
  assertTreeSize(size1, 'first tree size');
  assertTreeSize(size2, 'second tree size');
  checkHash(root1, 'fromRoot');
  checkProofHashes(proof);
  if (size1 > size2) {
    throw new ProofError('INVALID_TREE_SIZE', `first tree size ${size1} exceeds second tree size ${size2}`, {
      details: { fromSize: size1, toSize: size2 },
    });
  }
}

/**
 * Throws unless `proof` shows that the tree of size1 with root1 is a prefix of the tree of size2
 * with root2. size1 == size2 needs an empty proof and equal roots; size1 == 0 needs an empty proof
 * (every tree extends the empty tree).
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): void {
  checkConsistencyInputs(size1, size2, proof, root1);
  checkHash(root2, 'toRoot');
  if (size1 === size2) {
    if (proof.length !== 0) throw invalidProof('equal tree sizes need an empty proof', { fromSize: size1, toSize: size2 });
    assertRootsEqual(root1, root2, 'toRoot');
    return;
  }
  if (size1 === 0) {
    if (proof.length !== 0) throw invalidProof('a proof from the empty tree must be empty', { toSize: size2 });
    return;
  }
  const { first, second } = chainConsistency(size1, size2, proof, root1);
  assertRootsEqual(first, root1, 'fromRoot');
  assertRootsEqual(second, root2, 'toRoot');
}
