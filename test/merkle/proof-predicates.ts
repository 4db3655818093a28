/**
 * Boolean forms of the proof verifiers for the probe tests: false for a ProofError, and every
 * other error propagates. That distinction carries the probes' meaning: a verifier that crashed
 * with a TypeError on a corrupted proof must fail a test, not count as "rejected".
 */
import { ProofError } from '../../src/errors.js';
import { verifyConsistency, verifyInclusion } from '../../src/merkle/verify.js';

export function succeeds(check: () => void): boolean {
  try {
    check();
    return true;
  } catch (e) {
    if (e instanceof ProofError) return false;
    throw e;
  }
}

export function isValidInclusion(leafHash: Uint8Array, index: number, treeSize: number, proof: readonly Uint8Array[], rootHash: Uint8Array): boolean {
  return succeeds(() => verifyInclusion(leafHash, index, treeSize, proof, rootHash));
}

export function isValidConsistency(size1: number, size2: number, proof: readonly Uint8Array[], root1: Uint8Array, root2: Uint8Array): boolean {
  return succeeds(() => verifyConsistency(size1, size2, proof, root1, root2));
}
