import { describe, expect, it } from 'vitest';
import { leafHash, nodeHash } from '../../src/crypto/domain.js';
import { emptyTreeRoot, foldSubtreeRoots, rootFromLeaves } from '../../src/merkle/root.js';
import { mth, sampleLeaves } from './naive-rfc6962.js';
import { hex, rfc6962 } from './vectors.js';

const leaves = rfc6962.leafInputsHex.map((h) => leafHash(hex(h)));

describe('RFC 6962 hashing (transparency-dev/merkle vectors)', () => {
  it('hashes the empty tree, leaves and nodes as published', () => {
    expect(emptyTreeRoot().toString('hex')).toBe(rfc6962.hasher.emptyRoot);
    for (const v of rfc6962.hasher.leaves) expect(leafHash(Buffer.from(v.inputAscii)).toString('hex')).toBe(v.hash);
    for (const v of rfc6962.hasher.nodes) {
      expect(nodeHash(Buffer.from(v.leftAscii), Buffer.from(v.rightAscii)).toString('hex')).toBe(v.hash);
    }
  });

  it('gives the published leaf hashes (level 0 of NodeHashes)', () => {
    expect(leaves.map((l) => l.toString('hex'))).toEqual(rfc6962.nodeHashes[0]);
  });

  it('gives the published root for every size 0..8', () => {
    for (let size = 0; size <= 8; size++) {
      expect(rootFromLeaves(leaves.slice(0, size)).toString('hex')).toBe(rfc6962.rootsBySize[size]);
    }
    expect(rootFromLeaves(leaves).toString('hex')).toBe('5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328');
  });
});

describe('rootFromLeaves', () => {
  it('equals the naive recursive MTH for sizes 0..300', () => {
    const all = sampleLeaves(300);
    for (let n = 0; n <= 300; n++) expect(rootFromLeaves(all.slice(0, n)).equals(mth(all.slice(0, n)))).toBe(true);
  });

  it('rejects leaf hashes that are not 32 bytes', () => {
    expect(() => rootFromLeaves([Buffer.alloc(31)])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('folds a compact range from the right', () => {
    const [a, b, c] = sampleLeaves(3);
    expect(foldSubtreeRoots([a!, b!, c!]).equals(nodeHash(a!, nodeHash(b!, c!)))).toBe(true);
    expect(foldSubtreeRoots([]).equals(emptyTreeRoot())).toBe(true);
  });
});
