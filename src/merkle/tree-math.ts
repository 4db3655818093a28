/**
 * Integer arithmetic on tree sizes and leaf indices (spec §11).
 *
 * Sizes and indices are JavaScript numbers limited to safe integers (< 2^53). JavaScript's bitwise
 * operators truncate to 32 bits, so everything here uses division and remainder instead; every
 * loop runs at most 53 times.
 */
import { ProofError } from '../errors.js';

/** Largest tree size this implementation represents exactly. */
export const MAX_TREE_SIZE = Number.MAX_SAFE_INTEGER;

const TWO_POW_32 = 2 ** 32;

/** Throws INVALID_TREE_SIZE unless `n` is an integer in [0, 2^53). */
export function assertTreeSize(n: number, what = 'tree size'): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new ProofError('INVALID_TREE_SIZE', `${what} must be a non-negative safe integer, got ${String(n)}`, {
      details: { field: what, value: String(n) },
    });
  }
}

export function isPowerOfTwo(n: number): boolean {
  if (n < 1) return false;
  while (n % 2 === 0) n /= 2;
  return n === 1;
}

/** 2^level as an exact number (level <= 53). */
export function pow2(level: number): number {
  return 2 ** level;
}

/** Number of bits needed to write `n` (0 for 0), like Go's bits.Len64. */
export function bitLength(n: number): number {
  let len = 0;
  while (n >= 1) {
    n = Math.floor(n / 2);
    len++;
  }
  return len;
}

/** Number of trailing zero bits of `n` >= 1. */
export function trailingZeros(n: number): number {
  let count = 0;
  while (n % 2 === 0 && n > 0) {
    n /= 2;
    count++;
  }
  return count;
}

/** Number of one bits of `n`. */
export function popCount(n: number): number {
  let count = 0;
  while (n >= 1) {
    count += n % 2;
    n = Math.floor(n / 2);
  }
  return count;
}

/** Bitwise XOR of two safe non-negative integers, computed on 32-bit halves. */
export function xor(a: number, b: number): number {
  const hi = (Math.floor(a / TWO_POW_32) ^ Math.floor(b / TWO_POW_32)) >>> 0;
  const lo = ((a % TWO_POW_32) ^ (b % TWO_POW_32)) >>> 0;
  return hi * TWO_POW_32 + lo;
}

/** RFC 6962 §2.1 `k`: the largest power of two strictly smaller than `n` (requires n >= 2). */
export function largestPowerOfTwoBelow(n: number): number {
  if (!(n >= 2)) throw new RangeError(`largestPowerOfTwoBelow needs n >= 2, got ${n}`);
  return pow2(bitLength(n - 1) - 1);
}

/** RFC 6962 LSB(x): whether the least significant bit is set. */
export function lsb(n: number): boolean {
  return n % 2 === 1;
}

/** x >> 1 for safe integers. */
export function shiftRight(n: number): number {
  return Math.floor(n / 2);
}

/**
 * Length of the inclusion proof for leaf `index` in a tree of `size` leaves (0 <= index < size):
 * the proof splits where the paths to `index` and `size - 1` diverge, "inner" hashes below that
 * point and one "border" hash per set bit above it (the decomposition used by transparency-dev).
 */
export function inclusionProofLength(index: number, size: number): number {
  const inner = bitLength(xor(index, size - 1));
  const border = popCount(Math.floor(index / pow2(inner)));
  return inner + border;
}

/**
 * Length of the consistency proof between sizes 0 < size1 < size2: the inclusion proof of leaf
 * size1 - 1 minus the levels below the largest perfect subtree ending at size1, plus that
 * subtree's root unless it is the whole first tree (RFC 9162 §2.1.4.2 step 2).
 */
export function consistencyProofLength(size1: number, size2: number): number {
  const innerFull = bitLength(xor(size1 - 1, size2 - 1));
  const border = popCount(Math.floor((size1 - 1) / pow2(innerFull)));
  const inner = innerFull - trailingZeros(size1);
  return (isPowerOfTwo(size1) ? 0 : 1) + inner + border;
}
