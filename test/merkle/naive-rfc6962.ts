/**
 * A deliberately naive RFC 6962 §2.1 implementation used as the test oracle: MTH, PATH and
 * PROOF/SUBPROOF transcribed from the RFC's recursive definitions over arrays of leaf hashes.
 * It shares no code with src/merkle (its own SHA-256 calls, its own split point).
 */
import { createHash } from 'node:crypto';

export function sha256(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** SHA-256(0x00 || entry). */
export function naiveLeafHash(entry: Uint8Array): Buffer {
  return sha256(Uint8Array.of(0), entry);
}

/** SHA-256(0x01 || left || right). */
export function naiveNodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return sha256(Uint8Array.of(1), left, right);
}

/** The largest power of two smaller than n (n > 1). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]) where D is given as leaf hashes (so MTH({d}) is d's leaf hash). */
export function mth(d: readonly Buffer[]): Buffer {
  const n = d.length;
  if (n === 0) return sha256();
  if (n === 1) return d[0]!;
  const k = splitPoint(n);
  return naiveNodeHash(mth(d.slice(0, k)), mth(d.slice(k)));
}

/** PATH(m, D[n]) (RFC 6962 §2.1.1). */
export function path(m: number, d: readonly Buffer[]): Buffer[] {
  const n = d.length;
  if (n === 1) return [];
  const k = splitPoint(n);
  if (m < k) return [...path(m, d.slice(0, k)), mth(d.slice(k))];
  return [...path(m - k, d.slice(k)), mth(d.slice(0, k))];
}

/** SUBPROOF(m, D[n], b) (RFC 6962 §2.1.2). */
function subproof(m: number, d: readonly Buffer[], b: boolean): Buffer[] {
  const n = d.length;
  if (m === n) return b ? [] : [mth(d)];
  const k = splitPoint(n);
  if (m <= k) return [...subproof(m, d.slice(0, k), b), mth(d.slice(k))];
  return [...subproof(m - k, d.slice(k), false), mth(d.slice(0, k))];
}

/** PROOF(m, D[n]) for 0 < m <= n. */
export function proof(m: number, d: readonly Buffer[]): Buffer[] {
  return subproof(m, d, true);
}

/** Leaf hashes of the entries "entry 0", "entry 1", ... */
export function sampleLeaves(n: number, tag = 'entry'): Buffer[] {
  return Array.from({ length: n }, (_, i) => naiveLeafHash(Buffer.from(`${tag} ${i}`)));
}

/** A node source computing every perfect subtree hash from scratch. */
export function naiveNodeReader(leaves: readonly Buffer[]): { node(level: number, index: number): Buffer; reads: number } {
  const reader = {
    reads: 0,
    node(level: number, index: number): Buffer {
      reader.reads++;
      const width = 2 ** level;
      const begin = index * width;
      if (!Number.isInteger(begin) || begin + width > leaves.length) {
        throw new Error(`node (${level}, ${index}) is not complete in a tree of ${leaves.length}`);
      }
      return mth(leaves.slice(begin, begin + width));
    },
  };
  return reader;
}
