import { describe, expect, it } from 'vitest';
import { leafHash } from '../../src/crypto/domain.js';
import { CompactRange, compactRangeIds } from '../../src/merkle/compact-range.js';
import { nodeKey } from '../../src/merkle/node-id.js';
import { mth, sampleLeaves } from './naive-rfc6962.js';
import { hex, rfc6962 } from './vectors.js';

describe('CompactRange', () => {
  it('reproduces the published roots and node hashes while appending', () => {
    const range = CompactRange.empty();
    expect(range.root().toString('hex')).toBe(rfc6962.rootsBySize[0]);
    const interior = new Map<string, string>();
    rfc6962.leafInputsHex.forEach((input, i) => {
      for (const n of range.append(leafHash(hex(input)))) interior.set(nodeKey(n), n.hash.toString('hex'));
      expect(range.size).toBe(i + 1);
      expect(range.root().toString('hex')).toBe(rfc6962.rootsBySize[i + 1]);
    });
    // Every published interior node (levels 1..3) was reported exactly when completed.
    const published = new Map<string, string>();
    rfc6962.nodeHashes.forEach((row, level) => {
      if (level > 0) row.forEach((h, index) => published.set(`${level}/${index}`, h));
    });
    expect(interior).toEqual(published);
  });

  it('reports each perfect subtree once, bottom-up, with the right hash (sizes up to 300)', () => {
    const leaves = sampleLeaves(300);
    const range = CompactRange.empty();
    const seen = new Set<string>();
    leaves.forEach((leaf, i) => {
      const completed = range.append(leaf);
      // Appending leaf i completes one node per trailing one bit of i.
      let expectedCount = 0;
      for (let x = i; x % 2 === 1; x = (x - 1) / 2) expectedCount++;
      expect(completed).toHaveLength(expectedCount);
      completed.forEach((n, j) => {
        expect(n.level).toBe(j + 1);
        const width = 2 ** n.level;
        expect((n.index + 1) * width).toBe(i + 1);
        expect(n.hash.equals(mth(leaves.slice(n.index * width, (n.index + 1) * width)))).toBe(true);
        expect(seen.has(nodeKey(n))).toBe(false);
        seen.add(nodeKey(n));
      });
      expect(range.root().equals(mth(leaves.slice(0, i + 1)))).toBe(true);
    });
    // The complete interior nodes of n leaves: n minus one per compact-range root.
    expect(seen.size).toBe(300 - [...(300).toString(2)].filter((c) => c === '1').length);
  });

  it('restores from its stored compact range and continues identically', () => {
    const leaves = sampleLeaves(100);
    for (const size of [0, 1, 2, 3, 7, 8, 63, 64, 65]) {
      const original = CompactRange.fromLeaves(leaves.slice(0, size));
      const stored = original.nodes();
      expect(stored.map(({ level, index }) => ({ level, index }))).toEqual(compactRangeIds(size));
      const restored = CompactRange.fromHashes(size, stored.map((n) => n.hash));
      expect(restored.root().equals(original.root())).toBe(true);
      for (const leaf of leaves.slice(size)) expect(restored.append(leaf)).toEqual(original.append(leaf));
      expect(restored.root().equals(mth(leaves))).toBe(true);
    }
  });

  it('rejects malformed input', () => {
    expect(() => CompactRange.fromHashes(3, [Buffer.alloc(32)])).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => CompactRange.empty().append(Buffer.alloc(33))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => compactRangeIds(-1)).toThrow(expect.objectContaining({ code: 'INVALID_TREE_SIZE' }));
  });

  it('clones independently', () => {
    const [a, b] = sampleLeaves(2);
    const one = CompactRange.fromLeaves([a!]);
    const copy = one.clone();
    one.append(b!);
    expect(copy.size).toBe(1);
    expect(copy.root().equals(a!)).toBe(true);
  });
});
