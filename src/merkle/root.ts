/**
 * RFC 6962 §2.1 Merkle Tree Hash (spec §11.1). Inputs are leaf hashes, SHA-256(0x00 || entry):
 * the ledger's event hashes are exactly those, so entries are never re-hashed here.
 */
import { sha256 } from '../crypto/hash.js';
import { nodeHash } from '../crypto/domain.js';
import { InvalidInputError } from '../errors.js';

export const HASH_SIZE = 32;

/** MTH({}) = SHA-256 of the empty string (RFC 6962 §2.1). */
export function emptyTreeRoot(): Buffer {
  return sha256();
}

/** Throws INVALID_ARGUMENT unless `hash` is 32 bytes. */
export function assertHash(hash: Uint8Array, what: string): void {
  if (!(hash instanceof Uint8Array) || hash.length !== HASH_SIZE) {
    throw new InvalidInputError('INVALID_ARGUMENT', `${what} must be ${HASH_SIZE} bytes`, {
      details: { field: what, length: hash instanceof Uint8Array ? hash.length : null },
    });
  }
}

/**
 * MTH of the subtree covered by perfect subtree roots given left to right (a compact range):
 * the RFC 6962 split point is always the end of the first, largest subtree, so the hash folds
 * from the right.
 */
export function foldSubtreeRoots(roots: readonly Uint8Array[]): Buffer {
  const last = roots[roots.length - 1];
  if (last === undefined) return emptyTreeRoot();
  let acc: Buffer = Buffer.from(last);
  for (let i = roots.length - 2; i >= 0; i--) acc = nodeHash(roots[i]!, acc);
  return acc;
}

/**
 * MTH(D[n]) from the n leaf hashes. Hashes level by level, carrying an unpaired last node up
 * unchanged, which yields the same left-balanced tree as the RFC's recursive split.
 */
export function rootFromLeaves(leafHashes: readonly Uint8Array[]): Buffer {
  if (leafHashes.length === 0) return emptyTreeRoot();
  let level: Uint8Array[] = leafHashes.map((h, i) => {
    assertHash(h, `leaf hash ${i}`);
    return h;
  });
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const right = level[i + 1];
      next.push(right === undefined ? level[i]! : nodeHash(level[i]!, right));
    }
    level = next;
  }
  return Buffer.from(level[0]!);
}
