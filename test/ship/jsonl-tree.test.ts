// spec §20.10: the shipper's tree of events.jsonl. Its roots are those of the leaves re-hashed
// from the lines, its consistency proofs (compact range at the witnessed size + the lines since)
// equal the RFC 6962 proofs served from a full node store, in any slicing; a line that is not
// the next sealed, chained event stops it (nothing is signed over it).
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { consistencyProof, nodeReaderFromList } from '../../src/merkle/proofs.js';
import { rootFromLeaves } from '../../src/merkle/root.js';
import { verifyConsistency } from '../../src/merkle/verify.js';
import { JsonlTree } from '../../src/ship/jsonl-tree.js';
import { HostChain } from '../collector/support.js';
import { storedNodes } from '../merkle/stored-nodes.js';
import { tempDir } from '../helpers.js';

const dirs: { cleanup(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.cleanup()));

function fileOf(lines: string[]): string {
  const t = tempDir('sealed-ledger-jsonl-tree-');
  dirs.push(t);
  const file = path.join(t.dir, 'events.jsonl');
  fs.writeFileSync(file, lines.map((l) => l + '\n').join(''));
  return file;
}

describe('JsonlTree', () => {
  const chain = new HostChain();
  chain.append(70);
  const leaves = chain.hashes.map((h) => Buffer.from(h, 'hex'));
  const file = () => fileOf(chain.lines);

  it('consistency proofs from the kept size equal those of a full node store, in any slicing', () => {
    const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
    console.log(`jsonl-tree property seed ${seed}`);
    const f = file();
    const all = storedNodes(leaves);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 70 }), fc.integer({ min: 0, max: 70 }), fc.integer({ min: 1, max: 9 }), (a, b, slice) => {
        const [m, n] = a <= b ? [a, b] : [b, a];
        const tree = new JsonlTree(f);
        try {
          tree.restart(m);
          while (tree.extend(n, Infinity, slice) === slice && tree.size < n);
          expect(tree.size).toBe(n);
          expect(tree.keptState?.range.size).toBe(m);
          expect(tree.root().equals(rootFromLeaves(leaves.slice(0, n)))).toBe(true);
          const proof = tree.consistencyProof();
          expect(proof.map((h) => h.toString('hex'))).toEqual(consistencyProof(nodeReaderFromList(all), m, n).map((h) => h.toString('hex')));
          if (m > 0) verifyConsistency(m, n, proof, rootFromLeaves(leaves.slice(0, m)), tree.root());
          // After keepCurrent, a proof from here to a later size holds too.
          tree.keepCurrent();
          tree.extend(70, Infinity, 100);
          const later = tree.consistencyProof();
          if (n > 0) verifyConsistency(n, 70, later, rootFromLeaves(leaves.slice(0, n)), rootFromLeaves(leaves));
        } finally {
          tree.close();
        }
      }),
      { seed, numRuns: 150 },
    );
  });

  it('stops at the durable end byte and never reads past it', () => {
    const f = file();
    const tree = new JsonlTree(f);
    const end = chain.lines.slice(0, 10).reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
    expect(tree.extend(70, end, 100)).toBe(10);
    expect(tree.extend(70, end, 100)).toBe(0);
    expect(tree.offset).toBe(end);
    tree.close();
  });

  it('refuses an edited line, a line out of sequence and a broken chain (LEDGER_CORRUPT)', () => {
    const edited = [...chain.lines];
    edited[5] = edited[5]!.replace('"n":5', '"n":6');
    const other = new HostChain(chain.key);
    other.append(10);
    const resealed = [...chain.lines.slice(0, 5), other.lines[5]!, ...chain.lines.slice(6, 10)];
    const skipped = [...chain.lines.slice(0, 5), ...chain.lines.slice(6, 10)];
    for (const [what, lines] of [['edited', edited], ['re-sealed (chain broken)', resealed], ['skipped seq', skipped]] as const) {
      const tree = new JsonlTree(fileOf(lines));
      expect(() => tree.extend(10, Infinity, 100), what).toThrow(expect.objectContaining({ code: 'LEDGER_CORRUPT' }));
      // Stopped before the bad line, and stays there.
      expect(tree.size, what).toBe(5);
      expect(() => tree.extend(10, Infinity, 100), what).toThrow(expect.objectContaining({ code: 'LEDGER_CORRUPT' }));
      expect(tree.root().equals(rootFromLeaves(leaves.slice(0, 5))), what).toBe(true);
      tree.close();
    }
  });
});
