/**
 * Tamper and mutation probes (fuzz/lib/tamper.mjs) on a valid signed ledger: every byte of three
 * lines flipped (two masks each), random flips anywhere, truncations, reordered / duplicated /
 * deleted lines, a hand-edited ledger.db, swapped signatures, foreign, misnamed and retired keys,
 * re-sealed forgeries. Each must be reported by verifyLedger and/or verifyEventSetParity with the
 * right code at the right seq or line.
 */
import fs from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildPristine, checkpointTableProbes, signatureStripProbes, symlinkProbes, EVENT_COLUMNS, exhaustiveFlips, keyringSwapProbes, merkleNodeProbes, watermarkProbes, flipArb, lineProbes, probeByteFlip, probeTruncation, signatureProbes, sqliteProbes, tamperRoot,
  type Pristine,
} from '../../fuzz/lib/tamper.mjs';
import { TAIL_EXAMPLES, tailProbeProperty } from '../../fuzz/lib/tail-tamper.mjs';
import { propertySeed } from '../witness/seed.js';
import { srcLibrary } from '../crash/src-library.js';

describe('tamper probes', () => {
  const seed = propertySeed('fuzz/tamper');
  const root = tamperRoot();
  let p: Pristine;
  beforeAll(async () => {
    p = await buildPristine(srcLibrary, root, 6);
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('the untampered ledger verifies (so no probe passes by default)', async () => {
    const v = await srcLibrary.verifyLedger({ dir: p.dir }, { keyring: p.keyring, requireSignatures: true });
    expect(v.ok, JSON.stringify(v.problems)).toBe(true);
    expect(v.events).toBe(6);
  });

  it('every single-byte flip of the first, a middle and the last line (2 masks)', async () => {
    const counts = await exhaustiveFlips(srcLibrary, p, [0, 3, p.n - 1]);
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    console.log(`byte flips: ${total} probes, expected codes ${JSON.stringify(counts)}`);
    expect(total).toBeGreaterThan(2000);
    for (const code of ['MALFORMED_LINE', 'SEAL_MISMATCH', 'INVALID_SIGNATURE', 'UNKNOWN_KEY']) expect(counts[code]).toBeGreaterThan(0);
  }, 120_000);

  it('random byte flips anywhere, any value', async () => {
    await fc.assert(fc.asyncProperty(flipArb(p), ([line, pos, value]) => probeByteFlip(srcLibrary, p, line, pos, value).then(() => undefined)), { numRuns: 300, seed });
  }, 60_000);

  it('truncations at and around every line boundary, and at random points', async () => {
    const cuts = new Set<number>([0, p.bytes.length - 1]);
    for (const l of p.lines) for (const d of [-2, -1, 0, 1, 2]) cuts.add(Math.min(p.bytes.length - 1, Math.max(0, l.end + d)));
    for (const t of cuts) await probeTruncation(srcLibrary, p, t);
    await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: p.bytes.length - 1 }), (t) => probeTruncation(srcLibrary, p, t)), { numRuns: 60, seed });
    console.log(`truncations: ${cuts.size} boundary cuts + 60 random`);
  }, 60_000);

  it('reordered, duplicated and deleted lines', async () => {
    expect(await lineProbes(srcLibrary, p)).toBe(27);
  });

  it('swapped signatures, foreign / misnamed / retired keys, re-sealed forgeries', async () => {
    expect(await signatureProbes(srcLibrary, p)).toBeGreaterThanOrEqual(20);
  });

  it('signature strip under a recorded signing policy: every line stripped, and a hand-sealed unsigned event appended', async () => {
    expect(await signatureStripProbes(srcLibrary, p)).toBe(p.n + 1);
  });

  it('every ledger file replaced by a symlink to a victim file, with and without ledger.db', async () => {
    expect(await symlinkProbes(srcLibrary, p)).toBe(13);
  });
  it('tails past the watermark: forged, foreign and misnamed signatures, forks, gaps, broken seals, junk, fragments', async () => {
    const counts: Record<string, number> = {};
    await fc.assert(tailProbeProperty(srcLibrary, p, counts), { numRuns: 150, seed, examples: TAIL_EXAMPLES.map((e) => [e]) });
    console.log(`tail probes: ${JSON.stringify(counts)}`);
    for (const k of ['mirrored', 'INVALID_SIGNATURE', 'UNKNOWN_KEY', 'LEDGER_CORRUPT', 'moved:CHAIN_BROKEN', 'moved:SEQ_GAP', 'moved:SEAL_MISMATCH', 'moved:MALFORMED_LINE', 'moved:TORN_LINE']) {
      expect(counts[k], k).toBeGreaterThan(0);
    }
  }, 120_000);

  it('ledger.db: every column of a row edited, a deleted row, an extra row, an edited watermark, at every seq', async () => {
    let n = 0;
    for (let seq = 0; seq < p.n; seq++) n += await sqliteProbes(srcLibrary, p, seq);
    expect(n).toBe(p.n * (EVENT_COLUMNS.length + 3));
  });

  it('trust model: every merkle_nodes row poisoned, watermark past the end, checkpoints table edited, keyring swapped (spec §12.6, §17)', async () => {
    // 6 leaves: 6 - popcount(6) = 4 interior nodes.
    expect(await merkleNodeProbes(srcLibrary, p)).toBe(4);
    expect(await watermarkProbes(srcLibrary, p)).toBe(p.n - 1);
    expect(await checkpointTableProbes(srcLibrary, p)).toBe(2);
    expect(await keyringSwapProbes(srcLibrary, p)).toBe(2);
  }, 60_000);
});
