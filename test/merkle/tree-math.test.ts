import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assertTreeSize,
  bitLength,
  isPowerOfTwo,
  largestPowerOfTwoBelow,
  popCount,
  trailingZeros,
  xor,
} from '../../src/merkle/tree-math.js';
import { nodeLeafRange, rangeNodes } from '../../src/merkle/node-id.js';

const safe = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });

describe('tree math on 53-bit integers', () => {
  it('agrees with BigInt bit operations', () => {
    fc.assert(
      fc.property(safe, safe, (a, b) => {
        const A = BigInt(a);
        const B = BigInt(b);
        expect(xor(a, b)).toBe(Number(A ^ B));
        expect(bitLength(a)).toBe(a === 0 ? 0 : A.toString(2).length);
        expect(popCount(a)).toBe([...A.toString(2)].filter((c) => c === '1').length);
        if (a > 0) expect(trailingZeros(a)).toBe(A.toString(2).length - 1 - A.toString(2).lastIndexOf('1'));
        expect(isPowerOfTwo(a)).toBe(a > 0 && (A & (A - 1n)) === 0n);
      }),
      { numRuns: 2000 },
    );
  });

  it('handles the extremes', () => {
    const max = Number.MAX_SAFE_INTEGER; // 2^53 - 1
    expect(bitLength(max)).toBe(53);
    expect(popCount(max)).toBe(53);
    expect(bitLength(2 ** 52)).toBe(53);
    expect(xor(max, 0)).toBe(max);
    expect(xor(max, max)).toBe(0);
    expect(largestPowerOfTwoBelow(max)).toBe(2 ** 52);
    expect(largestPowerOfTwoBelow(2 ** 52 + 1)).toBe(2 ** 52);
    expect(largestPowerOfTwoBelow(2 ** 52)).toBe(2 ** 51);
  });

  it('gives the RFC 6962 split point k with k < n <= 2k', () => {
    for (let n = 2; n <= 1030; n++) {
      const k = largestPowerOfTwoBelow(n);
      expect(isPowerOfTwo(k)).toBe(true);
      expect(k < n && n <= 2 * k).toBe(true);
    }
    expect(() => largestPowerOfTwoBelow(1)).toThrow(RangeError);
  });

  it('rejects sizes that are not safe non-negative integers', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => assertTreeSize(bad)).toThrow(expect.objectContaining({ code: 'INVALID_TREE_SIZE' }));
    }
    expect(() => assertTreeSize(0)).not.toThrow();
    expect(() => assertTreeSize(Number.MAX_SAFE_INTEGER)).not.toThrow();
  });
});

describe('rangeNodes', () => {
  it('covers [begin, end) exactly with aligned perfect subtrees', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 5000 }), (a, b) => {
        const [begin, end] = a <= b ? [a, b] : [b, a];
        let pos = begin;
        for (const id of rangeNodes(begin, end)) {
          expect(Number.isInteger(id.index) && id.index >= 0).toBe(true);
          const r = nodeLeafRange(id);
          expect(r.begin).toBe(pos);
          expect(r.end).toBeLessThanOrEqual(end);
          pos = r.end;
        }
        expect(pos).toBe(end);
      }),
      { numRuns: 1000 },
    );
  });

  it('lists the set bits of n, highest first, for [0, n)', () => {
    expect(rangeNodes(0, 0)).toEqual([]);
    expect(rangeNodes(0, 7)).toEqual([
      { level: 2, index: 0 },
      { level: 1, index: 2 },
      { level: 0, index: 6 },
    ]);
    expect(rangeNodes(0, 2 ** 53 - 1).map((n) => n.level)).toEqual(Array.from({ length: 53 }, (_, i) => 52 - i));
  });
});
