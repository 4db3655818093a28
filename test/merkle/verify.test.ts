import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { leafHash } from '../../src/crypto/domain.js';
import { isSealedLedgerError, ProofError } from '../../src/errors.js';
import { rootFromInclusionProof, verifyConsistency, verifyInclusion } from '../../src/merkle/verify.js';
import { isValidConsistency, isValidInclusion, succeeds } from './proof-predicates.js';
import { mth, path, proof as naiveProof, sampleLeaves, sha256 } from './naive-rfc6962.js';
import { hex, rfc6962 } from './vectors.js';

const EMPTY = sha256();
const SOME_HASH = hex('abacaba000000000000000000000000000000000000000000060061e00123456');

function flipBit(proof: readonly Buffer[], element: number, bit: number): Buffer[] {
  return proof.map((h, i) => {
    if (i !== element) return h;
    const copy = Buffer.from(h);
    copy[bit >> 3]! ^= 1 << (bit & 7);
    return copy;
  });
}

/** Sides of the siblings on PATH(m, D[n]), bottom-up, from the RFC's recursion. */
function pathSides(m: number, n: number): string {
  if (n === 1) return '';
  let k = 1;
  while (k * 2 < n) k *= 2;
  return m < k ? `${pathSides(m, k)}R` : `${pathSides(m - k, n - k)}L`;
}

/** Shape of SUBPROOF(m, D[n], b), bottom-up: S = seed subtree, R/L = sibling side. */
function subproofShape(m: number, n: number, b = true): string {
  if (m === n) return b ? '' : 'S';
  let k = 1;
  while (k * 2 < n) k *= 2;
  return m <= k ? `${subproofShape(m, k, b)}R` : `${subproofShape(m - k, n - k, false)}L`;
}

describe('published vectors (transparency-dev/merkle proof/verify_test.go)', () => {
  const leaves = rfc6962.leafInputsHex.map((h) => leafHash(hex(h)));
  const roots = rfc6962.rootsBySize.map(hex);

  it('accepts the published inclusion proofs and rejects the corrupted variants', () => {
    for (const v of rfc6962.inclusionProofs) {
      const p = v.proof.map(hex);
      const leaf = leaves[v.index]!;
      const root = roots[v.treeSize]!;
      expect(rootFromInclusionProof(leaf, v.index, v.treeSize, p).equals(root)).toBe(true);
      verifyInclusion(leaf, v.index, v.treeSize, p, root);
      // corruptInclusionProof() of the Go test.
      const probes: [number, number, Uint8Array, Uint8Array, Uint8Array[]][] = [
        [v.index - 1, v.treeSize, root, leaf, p],
        [v.index + 1, v.treeSize, root, leaf, p],
        [v.index ^ 2, v.treeSize, root, leaf, p],
        [v.index, v.treeSize * 2, root, leaf, p],
        [v.index, Math.floor(v.treeSize / 2), root, leaf, p],
        [v.index, v.treeSize, root, Buffer.from('WrongLeaf'), p],
        [v.index, v.treeSize, EMPTY, leaf, p],
        [v.index, v.treeSize, SOME_HASH, leaf, p],
        [v.index, v.treeSize, root, leaf, [...p, Buffer.alloc(0)]],
        [v.index, v.treeSize, root, leaf, [...p, root]],
        [v.index, v.treeSize, root, leaf, [Buffer.alloc(0), ...p]],
        [v.index, v.treeSize, root, leaf, [root, ...p]],
        [v.index, v.treeSize, root, leaf, p.slice(0, -1)],
        [v.index, v.treeSize, root, leaf, [p[0]!, SOME_HASH, ...p.slice(1)]],
        ...p.map((_, i): [number, number, Uint8Array, Uint8Array, Uint8Array[]] => [
          v.index, v.treeSize, root, leaf, flipBit(p, i, 3),
        ]),
      ];
      for (const [index, size, r, l, pr] of probes) expect(isValidInclusion(l, index, size, pr, r)).toBe(false);
    }
  });

  it('accepts the published consistency proofs and rejects the corrupted variants', () => {
    for (const v of rfc6962.consistencyProofs) {
      const p = v.proof.map(hex);
      const r1 = roots[v.size1]!;
      const r2 = roots[v.size2]!;
      verifyConsistency(v.size1, v.size2, p, r1, r2);
      if (p.length === 0) continue;
      // corruptConsistencyProof() of the Go test.
      const probes: [number, number, Uint8Array, Uint8Array, Uint8Array[]][] = [
        [v.size1 - 1, v.size2, r1, r2, p],
        [v.size1 + 1, v.size2, r1, r2, p],
        [v.size1 ^ 2, v.size2, r1, r2, p],
        [v.size1, v.size2 * 2, r1, r2, p],
        [v.size1, Math.floor(v.size2 / 2), r1, r2, p],
        [v.size1, v.size2, Buffer.from('WrongRoot'), r2, p],
        [v.size1, v.size2, r1, Buffer.from('WrongRoot'), p],
        [v.size1, v.size2, r2, r1, p],
        [v.size1, v.size2, r1, r2, []],
        [v.size1, v.size2, r1, r2, [...p, Buffer.alloc(0)]],
        [v.size1, v.size2, r1, r2, [...p, r1]],
        [v.size1, v.size2, r1, r2, [...p, r2]],
        [v.size1, v.size2, r1, r2, [Buffer.alloc(0), ...p]],
        [v.size1, v.size2, r1, r2, [r1, ...p]],
        [v.size1, v.size2, r1, r2, [r2, ...p]],
        [v.size1, v.size2, r1, r2, [p[0]!, ...p]],
        [v.size1, v.size2, r1, r2, p.slice(0, -1)],
        ...p.map((_, i): [number, number, Uint8Array, Uint8Array, Uint8Array[]] => [
          v.size1, v.size2, r1, r2, flipBit(p, i, 4),
        ]),
      ];
      for (const [s1, s2, a, b, pr] of probes) expect(isValidConsistency(s1, s2, pr, a, b)).toBe(false);
    }
  });
});

describe('edge cases (transparency-dev TestVerifyInclusion*, TestVerifyConsistency)', () => {
  it('single-entry trees: the leaf is the root, the proof is empty', () => {
    const h = leafHash(Buffer.from('data'));
    verifyInclusion(h, 0, 1, [], h);
    expect(isValidInclusion(h, 0, 1, [], Buffer.alloc(0))).toBe(false);
    expect(isValidInclusion(Buffer.alloc(0), 0, 1, [], h)).toBe(false);
    expect(isValidInclusion(Buffer.alloc(0), 0, 1, [], Buffer.alloc(0))).toBe(false);
  });

  it('rejects impossible index/size pairs', () => {
    for (const [index, size] of [[0, 0], [1, 0], [2, 1]] as const) {
      expect(isValidInclusion(SOME_HASH, index, size, [], EMPTY)).toBe(false);
      expect(() => verifyInclusion(SOME_HASH, index, size, [], EMPTY)).toThrow(
        expect.objectContaining({ code: 'INVALID_TREE_SIZE' }),
      );
    }
  });

  it('follows the size1 = 0 and size1 = size2 rules', () => {
    const root1 = sha256(Buffer.from("don't care 1"));
    const root2 = sha256(Buffer.from("don't care 2"));
    const cases: [number, number, Buffer, Buffer, Buffer[], boolean][] = [
      [0, 0, root1, root2, [], false],
      [1, 1, root1, root2, [], false],
      [0, 0, root1, root1, [], true],
      [0, 1, root1, root2, [], true],
      [1, 1, root2, root2, [], true],
      [1, 0, root1, root2, [], false],
      [2, 1, root1, root2, [], false],
      [1, 2, root1, root2, [], false],
      [0, 0, EMPTY, root2, [], false],
      [1, 1, EMPTY, root2, [], false],
      [0, 0, EMPTY, EMPTY, [EMPTY], false],
      [0, 1, EMPTY, EMPTY, [EMPTY], false],
      [1, 1, EMPTY, EMPTY, [EMPTY], false],
    ];
    for (const [s1, s2, r1, r2, p, ok] of cases) expect(isValidConsistency(s1, s2, p, r1, r2)).toBe(ok);
    expect(() => verifyConsistency(2, 1, [], root1, root2)).toThrow(expect.objectContaining({ code: 'INVALID_TREE_SIZE' }));
  });
});

describe('mutation probes on every proof of trees up to 64 leaves', () => {
  const leaves = sampleLeaves(66);
  const roots = Array.from({ length: 67 }, (_, n) => mth(leaves.slice(0, n)));

  it('inclusion: any flipped bit, wrong index, extra or missing hash, other root fails', () => {
    for (let n = 1; n <= 64; n++) {
      for (let m = 0; m < n; m++) {
        const p = path(m, leaves.slice(0, n));
        const root = roots[n]!;
        const leaf = leaves[m]!;
        expect(isValidInclusion(leaf, m, n, p, root)).toBe(true);
        // Every bit of every element for small trees; one rotating bit per element beyond.
        for (let i = 0; i < p.length; i++) {
          const bits = n <= 12 ? Array.from({ length: 256 }, (_, b) => b) : [(m * 31 + i * 7) % 256];
          for (const b of bits) expect(isValidInclusion(leaf, m, n, flipBit(p, i, b), root)).toBe(false);
        }
        for (let b = 0; b < 256; b += 37) {
          const badLeaf = flipBit([leaf], 0, b)[0]!;
          expect(isValidInclusion(badLeaf, m, n, p, root)).toBe(false);
        }
        if (m > 0) expect(isValidInclusion(leaf, m - 1, n, p, root)).toBe(false);
        if (m + 1 < n) expect(isValidInclusion(leaf, m + 1, n, p, root)).toBe(false);
        expect(isValidInclusion(leaf, m, n, [...p, SOME_HASH], root)).toBe(false);
        expect(isValidInclusion(leaf, m, n, [SOME_HASH, ...p], root)).toBe(false);
        if (p.length > 0) {
          expect(isValidInclusion(leaf, m, n, p.slice(1), root)).toBe(false);
          expect(isValidInclusion(leaf, m, n, p.slice(0, -1), root)).toBe(false);
          expect(isValidInclusion(leaf, m, n, [...p].reverse(), root)).toBe(p.length === 1);
        }
        expect(isValidInclusion(leaf, m, n, p, roots[n + 1]!)).toBe(false);
      }
    }
  });

  it('inclusion with tree size ±1 fails exactly when the path shape changes', () => {
    // The hash chain depends on the size only through the shape of the path, so an RFC 6962
    // proof cannot bind the size by itself: the signed checkpoint binds size and root together.
    let rejected = 0;
    for (let n = 1; n <= 64; n++) {
      for (let m = 0; m < n; m++) {
        const p = path(m, leaves.slice(0, n));
        for (const other of [n - 1, n + 1]) {
          const sameShape = m < other && pathSides(m, other) === pathSides(m, n);
          expect(isValidInclusion(leaves[m]!, m, other, p, roots[n]!)).toBe(sameShape);
          if (!sameShape) rejected++;
        }
      }
    }
    // Most ±1 sizes keep the shape (measured: 512 of 4160 probes change it).
    expect(rejected).toBe(512);
  });

  it('consistency: flipped bits, extra or missing hashes, swapped or wrong roots, wrong size1 fail', () => {
    for (let n = 2; n <= 64; n++) {
      for (let m = 1; m < n; m++) {
        const p = naiveProof(m, leaves.slice(0, n));
        const r1 = roots[m]!;
        const r2 = roots[n]!;
        expect(isValidConsistency(m, n, p, r1, r2)).toBe(true);
        for (let i = 0; i < p.length; i++) {
          const bits = n <= 12 ? Array.from({ length: 256 }, (_, b) => b) : [(m * 13 + n * 3 + i * 7) % 256];
          for (const b of bits) expect(isValidConsistency(m, n, flipBit(p, i, b), r1, r2)).toBe(false);
        }
        expect(isValidConsistency(m, n, p, r2, r1)).toBe(false);
        expect(isValidConsistency(m, n, p, roots[m - 1]!, r2)).toBe(false);
        expect(isValidConsistency(m, n, p, r1, roots[n + 1]!)).toBe(false);
        expect(isValidConsistency(m, n, [...p, SOME_HASH], r1, r2)).toBe(false);
        expect(isValidConsistency(m, n, [SOME_HASH, ...p], r1, r2)).toBe(false);
        expect(isValidConsistency(m, n, [r1, ...p], r1, r2)).toBe(false);
        expect(isValidConsistency(m, n, p.slice(1), r1, r2)).toBe(false);
        expect(isValidConsistency(m, n, p.slice(0, -1), r1, r2)).toBe(false);
        expect(isValidConsistency(m - 1, n, p, r1, r2)).toBe(false);
        expect(isValidConsistency(m + 1, n, p, r1, r2)).toBe(false);
      }
    }
  });

  it('consistency with size2 ±1 fails exactly when the proof shape changes', () => {
    let rejected = 0;
    for (let n = 2; n <= 64; n++) {
      for (let m = 1; m < n; m++) {
        const p = naiveProof(m, leaves.slice(0, n));
        for (const other of [n - 1, n + 1]) {
          const sameShape = m < other && subproofShape(m, other) === subproofShape(m, n);
          expect(isValidConsistency(m, other, p, roots[m]!, roots[n]!)).toBe(sameShape);
          if (!sameShape) rejected++;
        }
      }
    }
    expect(rejected).toBe(384);
  });
});

describe('error reporting', () => {
  const leaves = sampleLeaves(10);
  const root = mth(leaves);
  const p = path(3, leaves);

  it('ROOT_MISMATCH carries the expected and the computed root', () => {
    const wrong = mth(leaves.slice(0, 9));
    try {
      verifyInclusion(leaves[3]!, 3, 10, p, wrong);
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({
        name: 'ProofError',
        code: 'ROOT_MISMATCH',
        details: { expected: wrong.toString('hex'), actual: root.toString('hex') },
      });
    }
    const c = naiveProof(4, leaves);
    expect(() => verifyConsistency(4, 10, c, mth(leaves.slice(0, 4)), wrong)).toThrow(
      expect.objectContaining({ code: 'ROOT_MISMATCH', details: expect.objectContaining({ field: 'toRoot' }) }),
    );
    expect(() => verifyConsistency(4, 10, c, mth(leaves.slice(0, 5)), root)).toThrow(
      expect.objectContaining({ code: 'ROOT_MISMATCH' }),
    );
  });

  it('INVALID_PROOF for the wrong number or size of hashes, INVALID_TREE_SIZE for non-sizes', () => {
    expect(() => verifyInclusion(leaves[3]!, 3, 10, p.slice(1), root)).toThrow(
      expect.objectContaining({ code: 'INVALID_PROOF', details: expect.objectContaining({ expectedLength: 4, actualLength: 3 }) }),
    );
    expect(() => verifyInclusion(leaves[3]!, 3, 10, [...p.slice(1), Buffer.alloc(31)], root)).toThrow(
      expect.objectContaining({ code: 'INVALID_PROOF' }),
    );
    expect(() => verifyInclusion(leaves[3]!, 3, 10.5, p, root)).toThrow(expect.objectContaining({ code: 'INVALID_TREE_SIZE' }));
    expect(() => verifyInclusion(leaves[3]!, -3, 10, p, root)).toThrow(expect.objectContaining({ code: 'INVALID_TREE_SIZE' }));
    expect(() => verifyConsistency(3, 2 ** 53, [], root, root)).toThrow(expect.objectContaining({ code: 'INVALID_TREE_SIZE' }));
  });
});

describe('properties (random trees up to 2000 leaves)', () => {
  const leaves = sampleLeaves(2000, 'prop');
  const rootCache = new Map<number, Buffer>();
  const rootOf = (n: number): Buffer => {
    let r = rootCache.get(n);
    if (r === undefined) {
      r = mth(leaves.slice(0, n));
      rootCache.set(n, r);
    }
    return r;
  };

  it('an inclusion proof verifies; flipping any bit of it or of the leaf breaks it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2000 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 }))),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        ([n, m], which, bit) => {
          const p = path(m, leaves.slice(0, n));
          verifyInclusion(leaves[m]!, m, n, p, rootOf(n));
          if (p.length > 0) {
            expect(isValidInclusion(leaves[m]!, m, n, flipBit(p, which % p.length, bit), rootOf(n))).toBe(false);
          }
          expect(isValidInclusion(flipBit([leaves[m]!], 0, bit)[0]!, m, n, p, rootOf(n))).toBe(false);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a consistency proof verifies; flipping any bit of it breaks it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 2000 }).chain((n) => fc.tuple(fc.integer({ min: 1, max: n - 1 }), fc.constant(n))),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        ([m, n], which, bit) => {
          const p = naiveProof(m, leaves.slice(0, n));
          verifyConsistency(m, n, p, rootOf(m), rootOf(n));
          expect(isValidConsistency(m, n, flipBit(p, which % p.length, bit), rootOf(m), rootOf(n))).toBe(false);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('never throws anything but ProofError on arbitrary inputs', () => {
    const hash = fc.uint8Array({ minLength: 0, maxLength: 40 }).map((a) => Buffer.from(a));
    const size = fc.oneof(fc.integer({ min: -2, max: 70 }), fc.double(), fc.constant(2 ** 53));
    fc.assert(
      fc.property(hash, size, size, fc.array(hash, { maxLength: 10 }), hash, (h, a, b, p, r) => {
        for (const run of [
          () => verifyInclusion(h, a, b, p, r),
          () => verifyConsistency(a, b, p, h, r),
        ]) {
          try {
            run();
          } catch (e) {
            expect(isSealedLedgerError(e) && e.name === 'ProofError').toBe(true);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('what a mutation run showed untested (spec §11.3)', () => {
  const leaves = sampleLeaves(8);
  const root = (n: number) => mth(leaves.slice(0, n));

  it('a consistency error blames the root that does not add up: fromRoot or toRoot', () => {
    const p = naiveProof(3, leaves.slice(0, 8));
    const blame = (r1: Uint8Array, r2: Uint8Array) => {
      try {
        verifyConsistency(3, 8, p, r1, r2);
      } catch (e) {
        return isSealedLedgerError(e) ? { code: e.code, details: e.details } : e;
      }
      return 'accepted';
    };
    expect(blame(root(3), root(8))).toBe('accepted');
    expect(blame(SOME_HASH, root(8))).toMatchObject({
      code: 'ROOT_MISMATCH', details: { field: 'fromRoot', expected: SOME_HASH.toString('hex'), actual: root(3).toString('hex') },
    });
    expect(blame(root(3), SOME_HASH)).toMatchObject({
      code: 'ROOT_MISMATCH', details: { field: 'toRoot', expected: SOME_HASH.toString('hex'), actual: root(8).toString('hex') },
    });
    // size1 == size2: the roots are compared directly, and the second one is blamed.
    expect(() => verifyConsistency(8, 8, [], root(8), SOME_HASH)).toThrow(
      expect.objectContaining({ code: 'ROOT_MISMATCH', details: expect.objectContaining({ field: 'toRoot' }) }),
    );
  });

  it('a proof that is not an array is a ProofError, not a TypeError', () => {
    for (const bad of [undefined, null, 'ab', 42, { length: 0 }, new Uint8Array(32)]) {
      expect(() => verifyInclusion(leaves[0]!, 0, 8, bad as never, root(8))).toThrow(expect.objectContaining({ name: 'ProofError', code: 'INVALID_PROOF' }));
      expect(() => verifyConsistency(3, 8, bad as never, root(3), root(8))).toThrow(expect.objectContaining({ name: 'ProofError', code: 'INVALID_PROOF' }));
    }
  });

  it('the boolean helpers turn only ProofError into false; other errors propagate', () => {
    expect(succeeds(() => undefined)).toBe(true);
    expect(succeeds(() => verifyInclusion(leaves[0]!, 0, 8, [], root(8)))).toBe(false);
    const boom = new TypeError('not a proof error');
    expect(() => succeeds(() => {
      throw boom;
    })).toThrow(boom);
  });
});

describe('error contract: code, message and details of every rejection (spec §11.3)', () => {
  const leaves = sampleLeaves(8);
  const root = (n: number) => mth(leaves.slice(0, n));
  const p3 = path(3, leaves); // inclusion of leaf 3 in the tree of 8: 3 hashes
  const c38 = naiveProof(3, leaves); // consistency 3 -> 8: 4 hashes
  const thrown = (f: () => void): unknown => {
    try {
      f();
    } catch (e) {
      return e;
    }
    return 'accepted';
  };
  const expectProofError = (f: () => void, code: string, message: string, details: Record<string, unknown>): void => {
    const e = thrown(f);
    expect(e).toBeInstanceOf(ProofError);
    const { name, code: c, message: m, details: d } = e as ProofError;
    expect({ name, code: c, message: m, details: d }).toEqual({ name: 'ProofError', code, message, details });
  };
  // 32 "elements" that are not bytes: a length check alone would let them through.
  const notBytes = ['x'.repeat(32), Array.from({ length: 32 }, () => 0)] as unknown as Uint8Array[];

  it('the valid inputs these cases start from are accepted', () => {
    expect(p3).toHaveLength(3);
    expect(c38).toHaveLength(4);
    expect(thrown(() => verifyInclusion(leaves[3]!, 3, 8, p3, root(8)))).toBe('accepted');
    expect(thrown(() => verifyConsistency(3, 8, c38, root(3), root(8)))).toBe('accepted');
  });

  it('a hash that is not 32 bytes, or not bytes at all, is INVALID_PROOF naming the field', () => {
    for (const bad of [Buffer.alloc(31), Buffer.alloc(33), ...notBytes]) {
      expectProofError(() => verifyInclusion(bad, 3, 8, p3, root(8)), 'INVALID_PROOF', 'leafHash must be 32 bytes', { field: 'leafHash' });
      expectProofError(() => verifyInclusion(leaves[3]!, 3, 8, p3, bad), 'INVALID_PROOF', 'rootHash must be 32 bytes', { field: 'rootHash' });
      expectProofError(() => verifyInclusion(leaves[3]!, 3, 8, [p3[0]!, bad, p3[2]!], root(8)), 'INVALID_PROOF', 'proof[1] must be 32 bytes', { field: 'proof[1]' });
      expectProofError(() => verifyConsistency(3, 8, c38, bad, root(8)), 'INVALID_PROOF', 'fromRoot must be 32 bytes', { field: 'fromRoot' });
      expectProofError(() => verifyConsistency(3, 8, c38, root(3), bad), 'INVALID_PROOF', 'toRoot must be 32 bytes', { field: 'toRoot' });
      expectProofError(() => verifyConsistency(3, 8, [...c38.slice(0, 3), bad], root(3), root(8)), 'INVALID_PROOF', 'proof[3] must be 32 bytes', { field: 'proof[3]' });
      // rootFromInclusionProof checks the same inputs as verifyInclusion does.
      expectProofError(() => rootFromInclusionProof(bad, 3, 8, p3), 'INVALID_PROOF', 'leafHash must be 32 bytes', { field: 'leafHash' });
    }
  });

  it('a proof that is not an array says so', () => {
    expectProofError(() => verifyInclusion(leaves[3]!, 3, 8, 'proof' as never, root(8)), 'INVALID_PROOF', 'proof must be an array of hashes', {});
    expectProofError(() => verifyConsistency(3, 8, 'proof' as never, root(3), root(8)), 'INVALID_PROOF', 'proof must be an array of hashes', {});
  });

  it('sizes and indices out of range are INVALID_TREE_SIZE naming the field', () => {
    const sizeError = (field: string, value: number) => [
      'INVALID_TREE_SIZE', `${field} must be a non-negative safe integer, got ${value}`, { field, value: String(value) },
    ] as const;
    expectProofError(() => verifyInclusion(leaves[3]!, 3, -1, p3, root(8)), ...sizeError('tree size', -1));
    expectProofError(() => verifyInclusion(leaves[3]!, 1.5, 8, p3, root(8)), ...sizeError('leaf index', 1.5));
    expectProofError(() => verifyConsistency(-1, 8, c38, root(3), root(8)), ...sizeError('first tree size', -1));
    expectProofError(() => verifyConsistency(3, 8.5, c38, root(3), root(8)), ...sizeError('second tree size', 8.5));
  });

  it('a leaf index at or past the tree size is INVALID_TREE_SIZE, whatever the proof', () => {
    for (const [index, size] of [[8, 8], [1, 1], [3, 3], [9, 8]] as const) {
      for (const proof of [[], p3]) {
        expectProofError(() => verifyInclusion(leaves[0]!, index, size, proof, root(8)), 'INVALID_TREE_SIZE', `leaf index ${index} is not below tree size ${size}`, { index, treeSize: size });
      }
    }
  });

  it('an inclusion proof of the wrong length says the expected and the actual length', () => {
    expectProofError(() => verifyInclusion(leaves[3]!, 3, 8, [...p3, p3[0]!], root(8)), 'INVALID_PROOF', 'inclusion proof has 4 hashes, expected 3', {
      index: 3, treeSize: 8, expectedLength: 3, actualLength: 4,
    });
    expectProofError(() => verifyInclusion(leaves[0]!, 0, 1, [p3[0]!], leaves[0]!), 'INVALID_PROOF', 'inclusion proof has 1 hashes, expected 0', {
      index: 0, treeSize: 1, expectedLength: 0, actualLength: 1,
    });
  });

  it('a root that does not add up is ROOT_MISMATCH naming it, with the trusted and the computed root', () => {
    expectProofError(() => verifyInclusion(leaves[3]!, 3, 8, p3, root(7)), 'ROOT_MISMATCH', 'rootHash does not match the proof', {
      field: 'rootHash', expected: root(7).toString('hex'), actual: root(8).toString('hex'),
    });
    expectProofError(() => verifyConsistency(3, 8, c38, root(2), root(8)), 'ROOT_MISMATCH', 'fromRoot does not match the proof', {
      field: 'fromRoot', expected: root(2).toString('hex'), actual: root(3).toString('hex'),
    });
    expectProofError(() => verifyConsistency(3, 8, c38, root(3), root(7)), 'ROOT_MISMATCH', 'toRoot does not match the proof', {
      field: 'toRoot', expected: root(7).toString('hex'), actual: root(8).toString('hex'),
    });
    expectProofError(() => verifyConsistency(5, 5, [], root(5), root(4)), 'ROOT_MISMATCH', 'toRoot does not match the proof', {
      field: 'toRoot', expected: root(4).toString('hex'), actual: root(5).toString('hex'),
    });
  });

  it('consistency proofs of the wrong shape: each rule has its own message and details', () => {
    expectProofError(() => verifyConsistency(3, 8, [], root(3), root(8)), 'INVALID_PROOF', 'consistency proof is empty', { fromSize: 3, toSize: 8 });
    expectProofError(() => verifyConsistency(3, 8, c38.slice(1), root(3), root(8)), 'INVALID_PROOF', 'consistency proof has 3 hashes, expected 4', {
      fromSize: 3, toSize: 8, expectedLength: 4, actualLength: 3,
    });
    expectProofError(() => verifyConsistency(5, 5, [root(5)], root(5), root(5)), 'INVALID_PROOF', 'equal tree sizes need an empty proof', { fromSize: 5, toSize: 5 });
    expectProofError(() => verifyConsistency(0, 5, [root(5)], root(0), root(5)), 'INVALID_PROOF', 'a proof from the empty tree must be empty', { toSize: 5 });
    expectProofError(() => verifyConsistency(8, 3, c38, root(8), root(3)), 'INVALID_TREE_SIZE', 'first tree size 8 exceeds second tree size 3', { fromSize: 8, toSize: 3 });
  });
});
