import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { leafHash } from '../../src/crypto/domain.js';
import { nodeLeafRange, type NodeId } from '../../src/merkle/node-id.js';
import {
  consistencyProofNodeIds,
  consistencyProofPlan,
  inclusionProofNodeIds,
  inclusionProofPlan,
  type ProofPlan,
} from '../../src/merkle/proof-plan.js';
import { consistencyProof, inclusionProof, nodeReaderFromList, type NodeReader } from '../../src/merkle/proofs.js';
import { consistencyProofLength, inclusionProofLength } from '../../src/merkle/tree-math.js';
import { verifyConsistency, verifyInclusion } from '../../src/merkle/verify.js';
import { mth, naiveNodeReader, path, proof as naiveProof, sampleLeaves } from './naive-rfc6962.js';
import { storedNodes } from './stored-nodes.js';
import { hex, nodeIdEntries, rfc6962 } from './vectors.js';

/** Every node a storage layer would hold after appending `leaves`: the leaves plus completed nodes. */
const hexes = (hs: readonly Buffer[]): string[] => hs.map((h) => h.toString('hex'));

describe('proofs for every tree of 1..64 leaves against the naive RFC 6962 definitions', () => {
  const leaves = sampleLeaves(64);
  const reader = nodeReaderFromList(storedNodes(leaves));

  it('inclusion: PATH(m, D[n]) for every leaf, and it verifies', () => {
    for (let n = 1; n <= 64; n++) {
      const d = leaves.slice(0, n);
      const root = mth(d);
      for (let m = 0; m < n; m++) {
        const got = inclusionProof(reader, m, n);
        expect(hexes(got)).toEqual(hexes(path(m, d)));
        expect(got).toHaveLength(inclusionProofLength(m, n));
        verifyInclusion(leaves[m]!, m, n, got, root);
      }
    }
  });

  it('consistency: PROOF(m, D[n]) for every 1 <= m <= n, and it verifies', () => {
    const roots = Array.from({ length: 65 }, (_, n) => mth(leaves.slice(0, n)));
    for (let n = 1; n <= 64; n++) {
      for (let m = 1; m <= n; m++) {
        const got = consistencyProof(reader, m, n);
        expect(hexes(got)).toEqual(hexes(naiveProof(m, leaves.slice(0, n))));
        if (m < n) expect(got).toHaveLength(consistencyProofLength(m, n));
        verifyConsistency(m, n, got, roots[m]!, roots[n]!);
      }
    }
  });

  it('gives empty consistency proofs from size 0 and between equal sizes', () => {
    expect(consistencyProof(reader, 0, 10)).toEqual([]);
    expect(consistencyProof(reader, 0, 0)).toEqual([]);
    expect(consistencyProof(reader, 9, 9)).toEqual([]);
  });
});

describe('published vectors (transparency-dev/merkle)', () => {
  const leaves = rfc6962.leafInputsHex.map((h) => leafHash(hex(h)));
  const reader = nodeReaderFromList(storedNodes(leaves));

  it('reproduces the published inclusion proofs', () => {
    for (const v of rfc6962.inclusionProofs) {
      expect(hexes(inclusionProof(reader, v.index, v.treeSize))).toEqual(v.proof);
    }
  });

  it('reproduces the published consistency proofs', () => {
    for (const v of rfc6962.consistencyProofs) {
      expect(hexes(consistencyProof(reader, v.size1, v.size2))).toEqual(v.proof);
    }
  });

  it('reads exactly the published node ids for inclusion proofs', () => {
    for (const c of rfc6962.inclusionNodeIds.cases) {
      expect(inclusionProofPlan(c.index!, c.size!)).toEqual(nodeIdEntries(c));
    }
  });

  it('reads exactly the published node ids for consistency proofs', () => {
    for (const c of rfc6962.consistencyNodeIds.cases) {
      expect(consistencyProofPlan(c.size1!, c.size2!)).toEqual(nodeIdEntries(c));
    }
  });
});

/** Leaf ranges of a plan's entries, checking each entry is contiguous. */
function entryRanges(plan: ProofPlan): { begin: number; end: number }[] {
  return plan.map((entry) => {
    const ranges = entry.map(nodeLeafRange);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]!.begin).toBe(ranges[i - 1]!.end);
    return { begin: ranges[0]!.begin, end: ranges[ranges.length - 1]!.end };
  });
}

function expectPartition(ranges: { begin: number; end: number }[], size: number): void {
  const sorted = [...ranges].sort((a, b) => a.begin - b.begin);
  let pos = 0;
  for (const r of sorted) {
    expect(r.begin).toBe(pos);
    pos = r.end;
  }
  expect(pos).toBe(size);
}

const bigSize = fc.oneof(
  fc.integer({ min: 1, max: 5000 }),
  fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  fc.integer({ min: 1, max: 52 }).map((k) => 2 ** k),
  fc.integer({ min: 1, max: 53 }).map((k) => 2 ** k - 1),
);

describe('proof plans for trees up to 2^53 - 1 leaves', () => {
  it('inclusion: the leaf plus the entries partition [0, size); at most one entry is multi-node', () => {
    fc.assert(
      fc.property(bigSize, fc.double({ min: 0, max: 1, noNaN: true }), (size, f) => {
        const index = Math.min(size - 1, Math.floor(f * size));
        const plan = inclusionProofPlan(index, size);
        expect(plan).toHaveLength(inclusionProofLength(index, size));
        expectPartition([...entryRanges(plan), { begin: index, end: index + 1 }], size);
        expect(plan.filter((e) => e.length > 1).length).toBeLessThanOrEqual(1);
        expect(inclusionProofNodeIds(index, size).length).toBeLessThanOrEqual(2 * 53);
      }),
      { numRuns: 500 },
    );
  });

  it('consistency: the entries (plus the first tree when it is perfect) partition [0, size2)', () => {
    fc.assert(
      fc.property(bigSize, bigSize, (a, b) => {
        const [size1, size2] = a <= b ? [a, b] : [b, a];
        const plan = consistencyProofPlan(size1, size2);
        if (size1 === size2) {
          expect(plan).toEqual([]);
          return;
        }
        expect(plan).toHaveLength(consistencyProofLength(size1, size2));
        const ranges = entryRanges(plan);
        const perfect = (BigInt(size1) & (BigInt(size1) - 1n)) === 0n;
        expectPartition(perfect ? [...ranges, { begin: 0, end: size1 }] : ranges, size2);
        expect(plan.filter((e) => e.length > 1).length).toBeLessThanOrEqual(1);
        expect(consistencyProofNodeIds(size1, size2).length).toBeLessThanOrEqual(2 * 53);
      }),
      { numRuns: 500 },
    );
  });
});

describe('node reads', () => {
  it('stay within O(log n): at most 2 * bitLength(n) per proof', () => {
    const leaves = sampleLeaves(300);
    for (const n of [1, 2, 3, 5, 64, 100, 255, 256, 257, 299, 300]) {
      const bound = 2 * Math.max(1, Math.ceil(Math.log2(n + 1)));
      for (let m = 0; m < n; m += 7) {
        const reader = naiveNodeReader(leaves.slice(0, n));
        inclusionProof(reader, m, n);
        expect(reader.reads).toBeLessThanOrEqual(bound);
      }
      for (let m = 1; m <= n; m += 5) {
        const reader = naiveNodeReader(leaves.slice(0, n));
        consistencyProof(reader, m, n);
        expect(reader.reads).toBeLessThanOrEqual(bound);
      }
    }
  });

  it('only touches the nodes listed by the *NodeIds helpers (one query suffices)', () => {
    const leaves = sampleLeaves(100);
    const all = naiveNodeReader(leaves);
    const only = (ids: NodeId[]): NodeReader =>
      nodeReaderFromList(ids.map((id) => ({ ...id, hash: all.node(id.level, id.index) })));
    for (let n = 1; n <= 100; n += 3) {
      for (let m = 0; m < n; m += 2) {
        expect(inclusionProof(only(inclusionProofNodeIds(m, n)), m, n)).toEqual(inclusionProof(all, m, n));
        expect(consistencyProof(only(consistencyProofNodeIds(m, n)), m, n)).toEqual(consistencyProof(all, m, n));
      }
    }
  });
});

describe('generation errors', () => {
  const reader = nodeReaderFromList([]);
  it('rejects bad arguments before reading anything', () => {
    expect(() => inclusionProof(reader, 5, 5)).toThrow(expect.objectContaining({ code: 'INVALID_TREE_SIZE' }));
    expect(() => inclusionProof(reader, 0, 0)).toThrow(expect.objectContaining({ code: 'INVALID_TREE_SIZE' }));
    expect(() => inclusionProof(reader, -1, 5)).toThrow(expect.objectContaining({ code: 'INVALID_TREE_SIZE' }));
    expect(() => consistencyProof(reader, 6, 5)).toThrow(expect.objectContaining({ code: 'INVALID_TREE_SIZE' }));
    expect(() => consistencyProof(reader, 1.5, 5)).toThrow(expect.objectContaining({ code: 'INVALID_TREE_SIZE' }));
  });

  it('reports a node the source does not have, and a malformed node hash', () => {
    expect(() => inclusionProof(reader, 0, 2)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const bad: NodeReader = { node: () => new Uint8Array(31) };
    expect(() => inclusionProof(bad, 0, 2)).toThrow(/malformed hash/);
  });
});
